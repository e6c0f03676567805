import { lazy, Suspense, useEffect, type ReactElement, type ReactNode } from "react";
import { useQuery } from "urql";
import { graphql } from "./gql";
import { errorCode, errorText } from "./client";
import { Link, match, useLocation } from "./router";
import { SessionContext } from "./session";
import { SignIn, SignOutButton } from "./pages/SignIn";
import { Communities } from "./pages/Communities";
import { NewCommunity } from "./pages/NewCommunity";
import { CommunityHome } from "./pages/CommunityHome";
import { ProposalPage } from "./pages/Proposal";
import { Propose } from "./pages/Propose";
import { RolesPage } from "./pages/Roles";
import { DocumentsPage } from "./pages/Documents";
import { LogsPage } from "./pages/Logs";
import { IntegrationsPage } from "./pages/Integrations";
import { Onboarding } from "./pages/Onboarding";

// The audit view and the policy editor are heavy and rarely first: loaded when opened.
const AuditPage = lazy(() => import("./pages/Audit"));
const PolicyPage = lazy(() => import("./pages/PolicyEditor"));

const MeDoc = graphql(`
  query Me {
    me {
      id
      username
      memberships { communityId userId isAdmin permissions }
    }
  }
`);

type Route = [string, (p: Record<string, string>) => ReactElement, string];

const routes: Route[] = [
  ["/", () => <Communities />, "Your communities"],
  ["/new", () => <NewCommunity />, "New community"],
  ["/proposals/:id", (p) => <ProposalPage id={p.id} />, "Proposal"],
  ["/c/:id", (p) => <CommunityHome id={p.id} />, "Community"],
  ["/c/:id/welcome", (p) => <Onboarding id={p.id} />, "Getting started"],
  ["/c/:id/propose", (p) => <Propose communityId={p.id} />, "Propose"],
  ["/c/:id/roles", (p) => <RolesPage communityId={p.id} />, "Roles and members"],
  ["/c/:id/documents", (p) => <DocumentsPage communityId={p.id} />, "Documents"],
  ["/c/:id/logs", (p) => <LogsPage communityId={p.id} />, "Logs"],
  ["/c/:id/audit", (p) => <AuditPage communityId={p.id} />, "Audit"],
  ["/c/:id/integrations", (p) => <IntegrationsPage communityId={p.id} />, "Integrations"],
  ["/c/:id/policies/new", (p) => <PolicyPage communityId={p.id} policyId="" />, "New policy"],
  ["/c/:id/policies/:pid", (p) => <PolicyPage communityId={p.id} policyId={p.pid} />, "Policy"],
];

export function App() {
  const [{ data, error, fetching }] = useQuery({ query: MeDoc });
  const path = useLocation();
  let page: ReactElement = <NotFound />;
  let title = "Not found";
  for (const [pattern, render, t] of routes) {
    const params = match(pattern, path);
    if (params) {
      page = render(params);
      title = t;
      break;
    }
  }
  useEffect(() => {
    document.title = `${title} · PolicyKit`;
  }, [title]);

  if (fetching && !data) return <Shell><p aria-busy="true">Loading…</p></Shell>;
  if (!data) {
    if (error && errorCode(error) !== "FORBIDDEN") return <Shell><p role="alert">{errorText(error)}</p></Shell>;
    return <Shell><SignIn /></Shell>;
  }
  return (
    <SessionContext.Provider value={data.me}>
      <Shell user={data.me.username}>
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>{page}</Suspense>
      </Shell>
    </SessionContext.Provider>
  );
}

function Shell({ user, children }: { user?: string; children: ReactNode }) {
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link to="/" className="brand">PolicyKit</Link>
        {user && (
          <nav aria-label="Account">
            <span className="who" data-testid="signed-in-as">{user}</span>
            <SignOutButton />
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1}>{children}</main>
    </>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>There is no page here. <Link to="/">Your communities</Link></p>
    </section>
  );
}
