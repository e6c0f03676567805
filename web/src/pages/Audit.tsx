import { useEffect, useState } from "react";
import { useClient, useQuery, type OperationResult } from "urql";
import type { ExportEventsQuery, ProposalIdsQuery } from "../gql/graphql";
import { graphql } from "../gql";
import { CommunityNav, ErrorLine, Status, when } from "../components";
import { navigate, searchParam, useLocation } from "../router";

const AsOfDoc = graphql(`
  query AsOf($id: ID!, $asOf: Time, $position: String) {
    community(id: $id, asOf: $asOf, asOfPosition: $position) {
      id name
      platforms { name active }
      roles(first: 50) { edges { node { name permissions } } }
      members(first: 50) { edges { node { id username roles } } }
      documents(first: 20) { edges { node { id name active } } }
      policies(first: 50) { edges { node { id name kind version active } } }
      proposals(first: 20) { edges { node { id actionType status } } }
    }
  }
`);
const TimelineDoc = graphql(`
  query Timeline($id: ID!, $after: String) {
    community(id: $id) { id name createdAt events(first: 100, after: $after) { edges { node { position type recordedAt } } pageInfo { hasNextPage endCursor } } }
  }
`);
const ProposalIdsDoc = graphql(`
  query ProposalIds($id: ID!, $after: String) {
    community(id: $id) { proposals(first: 100, after: $after) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }
  }
`);
const VerifyOneDoc = graphql(`
  query VerifyOne($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }
`);
const ExportDoc = graphql(`
  query ExportEvents($id: ID!, $after: String) {
    community(id: $id) { events(first: 100, after: $after) { edges { node { id position stream version type schemaVersion recordedAt causationId correlationId dataJSON } } pageInfo { hasNextPage endCursor } } }
  }
`);

// The audit view: the community as it stood at a log position or a time (a slider over its
// events), every decision re-run with progress, and the whole log exported as JSON lines.
export default function AuditPage({ communityId }: { communityId: string }) {
  useLocation(); // re-render when the address (asOf, position) changes
  const asOf = searchParam("asOf");
  const position = searchParam("position");
  const [{ data: tl }] = useQuery({ query: TimelineDoc, variables: { id: communityId } });
  const events = tl?.community?.events.edges.map((e) => e.node) ?? [];
  const at = position ? events.findIndex((e) => e.position === position) : -1;
  const set = (params: Record<string, string>) => {
    const q = new URLSearchParams(params).toString();
    navigate(`/c/${encodeURIComponent(communityId)}/audit${q ? `?${q}` : ""}`, true);
  };
  return (
    <section>
      <CommunityNav id={communityId} name={tl?.community?.name} />
      <h1>Audit</h1>
      <article aria-labelledby="asof-h">
        <h2 id="asof-h">The community as it stood</h2>
        {events.length > 0 && (
          <label>
            Log position ({at >= 0 ? at + 1 : events.length} of {events.length}{tl?.community?.events.pageInfo.hasNextPage ? "+" : ""})
            <input type="range" min={0} max={events.length - 1} value={at >= 0 ? at : events.length - 1}
              onChange={(e) => set({ position: events[Number(e.target.value)].position })} aria-valuetext={at >= 0 ? `${events[at].type} at ${events[at].position}` : "now"} />
          </label>
        )}
        {at >= 0 && <p className="muted">After {events[at].type} ({events[at].position}), {when(events[at].recordedAt)}</p>}
        <form className="inline" onSubmit={(e) => { e.preventDefault(); const v = new FormData(e.currentTarget).get("asof") as string; if (v) set({ asOf: new Date(v).toISOString() }); }}>
          <label>Or at a time <input type="datetime-local" step={1} name="asof" /></label>
          <button type="submit">Show</button>
          <button type="button" className="secondary" onClick={() => set({})}>Now</button>
        </form>
        <AsOf communityId={communityId} asOf={asOf} position={position} />
      </article>
      <VerifyAll communityId={communityId} />
      <Export communityId={communityId} />
    </section>
  );
}

function AsOf({ communityId, asOf, position }: { communityId: string; asOf: string; position: string }) {
  const [{ data, error, fetching }] = useQuery({ query: AsOfDoc, variables: { id: communityId, asOf: asOf || null, position: position || null } });
  const c = data?.community;
  return (
    <div data-testid="asof" aria-busy={fetching}>
      <p role="status">{asOf ? `As of ${when(asOf)}` : position ? `As of log position ${position}` : "Now"}</p>
      <ErrorLine error={error} />
      {c && (
        <div className="grid">
          <div><h3>Roles</h3><ul className="list" data-testid="asof-roles">{c.roles.edges.map(({ node: r }) => <li key={r.name}>{r.name} <span className="muted">{r.permissions.join(" ")}</span></li>)}</ul></div>
          <div><h3>Members</h3><ul className="list">{c.members.edges.map(({ node: m }) => <li key={m.id}>{m.username} <span className="muted">{m.roles.join(", ")}</span></li>)}</ul></div>
          <div><h3>Documents</h3><ul className="list">{c.documents.edges.map(({ node: d }) => <li key={d.id}>{d.name}{d.active ? "" : " (deleted)"}</li>)}</ul></div>
          <div><h3>Policies</h3><ul className="list">{c.policies.edges.map(({ node: p }) => <li key={p.id}>{p.name} <span className="muted">{p.kind} v{p.version}{p.active ? "" : " removed"}</span></li>)}</ul></div>
          <div><h3>Proposals</h3><ul className="list">{c.proposals.edges.map(({ node: p }) => <li key={p.id}><Status status={p.status} /> {p.actionType}</li>)}</ul></div>
          <div><h3>Platforms</h3><ul className="list">{c.platforms.map((p) => <li key={p.name}>{p.name}{p.active ? "" : " (disconnected)"}</li>)}</ul></div>
        </div>
      )}
    </div>
  );
}

// VerifyAll re-runs the recorded decisions of every proposal, one proposal at a time (the
// server runs one verification at a time anyway), and shows how far it got.
function VerifyAll({ communityId }: { communityId: string }) {
  const client = useClient();
  const [state, setState] = useState<{ done: number; total: number; bad: string[]; running: boolean; error: string }>({ done: 0, total: 0, bad: [], running: false, error: "" });
  const [stop, setStop] = useState(false);
  useEffect(() => () => setStop(true), []);
  const run = async () => {
    setStop(false);
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const r: OperationResult<ProposalIdsQuery> = await client.query(ProposalIdsDoc, { id: communityId, after }, { requestPolicy: "network-only" }).toPromise();
      if (r.error || !r.data?.community) return setState((s) => ({ ...s, error: r.error?.message ?? "no community" }));
      ids.push(...r.data.community.proposals.edges.map((e) => e.node.id));
      if (!r.data.community.proposals.pageInfo.hasNextPage) break;
      after = r.data.community.proposals.pageInfo.endCursor ?? null;
    }
    const bad: string[] = [];
    setState({ done: 0, total: ids.length, bad, running: true, error: "" });
    for (let i = 0; i < ids.length && !stop; i++) {
      const r = await client.query(VerifyOneDoc, { id: ids[i] }, { requestPolicy: "network-only" }).toPromise();
      const v = r.data?.proposal?.verification;
      if (r.error) bad.push(`${ids[i]}: ${r.error.message}`);
      else if (v && !v.ok) bad.push(`${ids[i]}: ${v.mismatches.join("; ")}`);
      setState({ done: i + 1, total: ids.length, bad: [...bad], running: i + 1 < ids.length, error: "" });
    }
  };
  return (
    <article aria-labelledby="verify-h">
      <h2 id="verify-h">Verify every decision</h2>
      <button type="button" onClick={run} disabled={state.running}>Verify</button>
      {state.total > 0 && (
        <p role="status" data-testid="verify-progress">
          <progress max={state.total} value={state.done} /> {state.done} of {state.total} proposals
          {!state.running && (state.bad.length === 0 ? ": every decision comes out the same." : `: ${state.bad.length} differ.`)}
        </p>
      )}
      {state.error && <p role="alert" className="error">{state.error}</p>}
      <ul className="list">{state.bad.map((b) => <li key={b}><code>{b}</code></li>)}</ul>
    </article>
  );
}

// Export pages through the whole log and saves it as JSON lines, one event a line.
function Export({ communityId }: { communityId: string }) {
  const client = useClient();
  const [count, setCount] = useState(-1);
  const [problem, setProblem] = useState("");
  const [url, setURL] = useState("");
  // The file stays to be saved again from its link until the next export or the page goes.
  useEffect(() => () => { if (url) URL.revokeObjectURL(url); }, [url]);
  const run = async () => {
    setProblem("");
    const lines: string[] = [];
    let after: string | null = null;
    for (;;) {
      const r: OperationResult<ExportEventsQuery> = await client.query(ExportDoc, { id: communityId, after }, { requestPolicy: "network-only" }).toPromise();
      if (r.error || !r.data?.community) return setProblem(r.error?.message ?? "no community");
      for (const { node } of r.data.community.events.edges) {
        let data: unknown = node.dataJSON;
        try { data = JSON.parse(node.dataJSON); } catch { /* kept as text */ }
        const { dataJSON: _omit, ...rest } = node;
        void _omit;
        lines.push(JSON.stringify({ ...rest, data }));
      }
      setCount(lines.length);
      if (!r.data.community.events.pageInfo.hasNextPage) break;
      after = r.data.community.events.pageInfo.endCursor ?? null;
    }
    const made = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "application/x-ndjson" }));
    setURL(made);
    const a = document.createElement("a");
    a.href = made;
    a.download = `${communityId}-events.jsonl`;
    a.click();
  };
  return (
    <article aria-labelledby="export-h">
      <h2 id="export-h">Export the log</h2>
      <button type="button" onClick={run}>Export as JSON lines</button>
      {count >= 0 && <span role="status"> {count} events</span>}
      {url && <> · <a href={url} download={`${communityId}-events.jsonl`} data-testid="export-link">{communityId}-events.jsonl</a></>}
      {problem && <p role="alert" className="error">{problem}</p>}
    </article>
  );
}
