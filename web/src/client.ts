import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";
import { createClient as createWSClient } from "graphql-ws";

// One client for the page: queries and mutations over HTTP with the session cookie, live
// updates over graphql-ws at the same path. The websocket connects lazily, on the first
// subscription, and is authenticated by the cookie of its upgrade request (same origin).
export function makeClient(): Client {
  const wsURL = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`;
  const ws = createWSClient({ url: wsURL, lazy: true, retryAttempts: 5 });
  return new Client({
    url: "/graphql",
    fetchOptions: { credentials: "same-origin" },
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}

// errorCode is the extensions.code of a GraphQL error (FORBIDDEN, NOT_FOUND ...), if any.
export function errorCode(err: { graphQLErrors?: { extensions?: Record<string, unknown> }[] } | undefined): string {
  const code = err?.graphQLErrors?.[0]?.extensions?.code;
  return typeof code === "string" ? code : "";
}

// errorText says what went wrong without urql's "[GraphQL]" prefix.
export function errorText(err: { message: string } | undefined): string {
  return (err?.message ?? "").replace(/^\[(GraphQL|Network)\] /, "");
}
