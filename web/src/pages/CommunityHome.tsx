import { useEffect, useRef } from "react";
import { useQuery, useSubscription } from "urql";
import { graphql } from "../gql";
import { CommunityNav, ErrorLine, Status, when } from "../components";
import { Link } from "../router";
import { errorCode } from "../client";

// The whole home page is this one query (no waterfall); it stays within the API's
// complexity limit (policies 30, the two proposal lists 20 each, members 25).
export const HomeDoc = graphql(`
  query CommunityHome($id: ID!) {
    community(id: $id) {
      id
      name
      platforms { name displayName active connectedAt }
      documents(first: 20) { edges { node { id name text active updatedAt } } }
      policies(first: 30) { edges { node { id kind name description active actionTypes } } pageInfo { hasNextPage } }
      pending: proposals(first: 20, filter: { status: PROPOSED }) {
        edges { node { id status actionType policyName proposalTime tally { yes no total } } }
        pageInfo { hasNextPage }
      }
      recent: proposals(first: 20) {
        edges { node { id status actionType policyName proposalTime decidedAt } }
        pageInfo { hasNextPage }
      }
      members(first: 25) { edges { node { id username readableName platform roles } } pageInfo { hasNextPage } }
    }
  }
`);

const CommunityEventsDoc = graphql(`
  subscription CommunityEvents($id: ID!) {
    communityEvents(communityId: $id) { id position type recordedAt }
  }
`);

const kinds = ["platform", "constitution", "trigger"];

export function CommunityHome({ id }: { id: string }) {
  const [{ data, error }, refetch] = useQuery({ query: HomeDoc, variables: { id } });
  const [events] = useSubscription({ query: CommunityEventsDoc, variables: { id } });
  // Every new event of the community reloads the page's one query; events in a burst
  // (a proposal, its votes, its decision) are gathered into one reload.
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (!events.data) return;
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => refetch({ requestPolicy: "network-only" }), 150);
  }, [events.data, refetch]);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  if (error && !data?.community) {
    const code = errorCode(error);
    return (
      <section>
        <h1>{code === "NOT_FOUND" ? "No such community" : "Community"}</h1>
        <ErrorLine error={error} />
        <Link to="/">Your communities</Link>
      </section>
    );
  }
  const c = data?.community;
  if (!c) return <p aria-busy="true">Loading…</p>;
  const base = `/c/${encodeURIComponent(c.id)}`;
  const policies = c.policies.edges.map((e) => e.node).filter((p) => p.active);
  return (
    <section data-testid="community-home">
      <CommunityNav id={c.id} name={c.name} />
      <h1>{c.name}</h1>
      <div className="grid">
        <article aria-labelledby="pending-h">
          <h2 id="pending-h">Pending proposals</h2>
          {c.pending.edges.length === 0 && <p className="muted">Nothing awaits a decision.</p>}
          <ul className="list" data-testid="pending">
            {c.pending.edges.map(({ node: p }) => (
              <li key={p.id}>
                <Link to={`/proposals/${encodeURIComponent(p.id)}`}>{p.actionType}</Link>{" "}
                <span className="muted">{p.policyName} · yes {p.tally.yes} / no {p.tally.no} · {when(p.proposalTime)}</span>
              </li>
            ))}
          </ul>
          <Link to={`${base}/propose`} className="button">Propose</Link>
        </article>
        <article aria-labelledby="recent-h">
          <h2 id="recent-h">Recent proposals</h2>
          {c.recent.edges.length === 0 && <p className="muted">No proposal yet.</p>}
          <ul className="list" data-testid="recent">
            {c.recent.edges.map(({ node: p }) => (
              <li key={p.id}>
                <Status status={p.status} />{" "}
                <Link to={`/proposals/${encodeURIComponent(p.id)}`}>{p.actionType}</Link>{" "}
                <span className="muted">{when(p.decidedAt ?? p.proposalTime)}</span>
              </li>
            ))}
          </ul>
        </article>
        <article aria-labelledby="docs-h">
          <h2 id="docs-h">Guidelines</h2>
          {c.documents.edges.filter((e) => e.node.active).length === 0 && <p className="muted">No document yet.</p>}
          {c.documents.edges.filter((e) => e.node.active).map(({ node: d }) => (
            <details key={d.id}>
              <summary>{d.name}</summary>
              <p className="doc-text">{d.text}</p>
            </details>
          ))}
          <Link to={`${base}/documents`}>Documents</Link>
        </article>
        <article aria-labelledby="policies-h">
          <h2 id="policies-h">Policies</h2>
          {kinds.map((k) => {
            const ps = policies.filter((p) => p.kind === k);
            return (
              <div key={k}>
                <h3>{k}</h3>
                {ps.length === 0 ? <p className="muted">None.</p> : (
                  <ul className="list">
                    {ps.map((p) => (
                      <li key={p.id}>
                        <Link to={`${base}/policies/${encodeURIComponent(p.id)}`}>{p.name}</Link>{" "}
                        <span className="muted">{p.description || p.actionTypes.join(", ")}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            );
          })}
          <Link to={`${base}/policies/new`}>New policy</Link>
        </article>
        <article aria-labelledby="members-h">
          <h2 id="members-h">Members</h2>
          <ul className="list" data-testid="members">
            {c.members.edges.map(({ node: m }) => (
              <li key={m.id}>{m.readableName || m.username} <span className="muted">{m.platform} · {m.roles.join(", ")}</span></li>
            ))}
          </ul>
          <Link to={`${base}/roles`}>Roles & members</Link>
        </article>
        <article aria-labelledby="platforms-h">
          <h2 id="platforms-h">Connected platforms</h2>
          <ul className="list">
            {c.platforms.filter((p) => p.active).map((p) => (
              <li key={p.name}>{p.displayName || p.name} <span className="muted">{p.name} · since {when(p.connectedAt)}</span></li>
            ))}
          </ul>
          <Link to={`${base}/integrations`}>Integrations</Link>
        </article>
      </div>
    </section>
  );
}
