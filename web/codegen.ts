import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed operations from the server's own schema: an operation that no longer fits the schema
// fails codegen, and a page that uses a changed type fails tsc, so both fail the build.
const config: CodegenConfig = {
  schema: "../graph/schema.graphqls",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        scalars: { Time: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
        documentMode: "documentNode",
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};
export default config;
