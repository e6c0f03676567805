import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The dev server proxies the API, the adapters' sign-in routes and health to a running
// `policykit serve` (POLICYKIT_URL, default http://127.0.0.1:8080), so pages talk to the real
// server from the same origin, as the embedded build does.
const target = process.env.POLICYKIT_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/graphql": { target, ws: true, changeOrigin: false },
      "/auth": { target },
      "/healthz": { target },
    },
  },
});
