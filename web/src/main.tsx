import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";
import { makeClient } from "./client";
import { App } from "./App";
import { HomeDoc } from "./pages/CommunityHome";
import { match } from "./router";
import "./style.css";

const client = makeClient();
// A community's home is the page most often opened first: its query starts now, alongside
// the session's, instead of after it (the page, when it mounts, joins the request in flight
// or reads its result from the cache). Signed out, it fails as the page would.
const home = match("/c/:id", location.pathname);
if (home) void client.query(HomeDoc, { id: home.id }).toPromise();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider value={client}>
      <App />
    </Provider>
  </StrictMode>,
);
