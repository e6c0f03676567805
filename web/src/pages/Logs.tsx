import { useEffect, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { graphql } from "../gql";
import type { LogEventFragment } from "../gql/graphql";
import { CommunityNav, ErrorLine, when } from "../components";
import { Link } from "../router";

graphql(`
  fragment LogEvent on Event { id position stream version type recordedAt dataJSON }
`);
const EventsDoc = graphql(`
  query Events($id: ID!, $after: String) {
    community(id: $id) { id name events(first: 100, after: $after) { edges { node { ...LogEvent } } pageInfo { hasNextPage endCursor } } }
  }
`);
const EvalLogsDoc = graphql(`
  query EvaluationLogs($id: ID!, $level: String, $policyId: ID, $proposalId: ID, $after: String) {
    community(id: $id) {
      id
      policies(first: 50) { edges { node { id name } } }
      evaluationLogs(level: $level, policyId: $policyId, proposalId: $proposalId, first: 50, after: $after) {
        edges { node { proposalId policyId block level message evaluatedAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);
const LiveEventsDoc = graphql(`
  subscription LiveEvents($id: ID!) { communityEvents(communityId: $id) { ...LogEvent } }
`);

// The community's event log, page by page from the start, with new events appended live.
export function LogsPage({ communityId }: { communityId: string }) {
  const [after, setAfter] = useState<string | null>(null);
  const [events, setEvents] = useState<LogEventFragment[]>([]);
  const [{ data, error }] = useQuery({ query: EventsDoc, variables: { id: communityId, after } });
  useEffect(() => {
    const page = data?.community?.events.edges.map((e) => e.node) ?? [];
    setEvents((old) => merge(old, page));
  }, [data]);
  const [live] = useSubscription({ query: LiveEventsDoc, variables: { id: communityId } });
  useEffect(() => {
    if (live.data) setEvents((old) => merge(old, [live.data!.communityEvents]));
  }, [live.data]);
  const info = data?.community?.events.pageInfo;
  return (
    <section>
      <CommunityNav id={communityId} name={data?.community?.name} />
      <h1>Logs</h1>
      <EvaluationLogs communityId={communityId} />
      <h2>Event log</h2>
      <ErrorLine error={error} />
      <p className="muted" role="status">{events.length} events{live.data ? ", live" : ""}</p>
      <table data-testid="events">
        <thead><tr><th>Position</th><th>Type</th><th>Stream</th><th>Recorded</th><th>Data</th></tr></thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id}><td><code>{e.position}</code></td><td>{e.type}</td><td>{e.stream}@{e.version}</td><td>{when(e.recordedAt)}</td><td><code className="data">{e.dataJSON}</code></td></tr>
          ))}
        </tbody>
      </table>
      {info?.hasNextPage && <button type="button" onClick={() => setAfter(info.endCursor ?? null)}>More</button>}
    </section>
  );
}

const levels = ["debug", "info", "warning", "error"];

// EvaluationLogs are the lines the community's policy blocks logged, newest first, narrowed
// by level, policy and proposal.
function EvaluationLogs({ communityId }: { communityId: string }) {
  const [level, setLevel] = useState("");
  const [policyId, setPolicyId] = useState("");
  const [proposalId, setProposalId] = useState("");
  const [after, setAfter] = useState<string | null>(null);
  const vars = { id: communityId, level: level || null, policyId: policyId || null, proposalId: proposalId.trim() || null, after };
  const [{ data, error, fetching }] = useQuery({ query: EvalLogsDoc, variables: vars });
  const c = data?.community;
  const names = new Map((c?.policies.edges ?? []).map((e) => [e.node.id, e.node.name]));
  const lines = c?.evaluationLogs.edges.map((e) => e.node) ?? [];
  const narrow = (f: () => void) => { setAfter(null); f(); };
  return (
    <section aria-labelledby="evallogs-h">
      <h2 id="evallogs-h">Policy logs</h2>
      <div className="row" role="search" aria-label="Narrow the policy logs">
        <label>Level
          <select name="level" value={level} onChange={(e) => narrow(() => setLevel(e.target.value))}>
            <option value="">any</option>
            {levels.map((l) => <option key={l} value={l}>{l}</option>)}
          </select>
        </label>
        <label>Policy
          <select name="policy" value={policyId} onChange={(e) => narrow(() => setPolicyId(e.target.value))}>
            <option value="">any</option>
            {[...names].map(([id, n]) => <option key={id} value={id}>{n}</option>)}
          </select>
        </label>
        <label>Proposal <input name="proposal" value={proposalId} placeholder="proposal id" onChange={(e) => narrow(() => setProposalId(e.target.value))} /></label>
      </div>
      <ErrorLine error={error} />
      {!fetching && lines.length === 0 && <p className="muted">No lines.</p>}
      <table data-testid="evaluation-logs">
        <thead><tr><th>When</th><th>Level</th><th>Policy</th><th>Block</th><th>Message</th><th>Proposal</th></tr></thead>
        <tbody>
          {lines.map((l, i) => (
            <tr key={i} className={`level-${l.level}`}>
              <td>{when(l.evaluatedAt)}</td><td>{l.level}</td><td>{names.get(l.policyId) ?? l.policyId}</td><td>{l.block}</td>
              <td><code className="data">{l.message}</code></td>
              <td><Link to={`/proposals/${encodeURIComponent(l.proposalId)}`}>{l.proposalId.slice(0, 8)}</Link></td>
            </tr>
          ))}
        </tbody>
      </table>
      {after && <button type="button" className="secondary" onClick={() => setAfter(null)}>Newest</button>}
      {c?.evaluationLogs.pageInfo.hasNextPage && <button type="button" onClick={() => setAfter(c.evaluationLogs.pageInfo.endCursor ?? null)}>Older</button>}
    </section>
  );
}

function merge(old: LogEventFragment[], add: LogEventFragment[]): LogEventFragment[] {
  const seen = new Set(old.map((e) => e.id));
  return [...old, ...add.filter((e) => !seen.has(e.id))];
}
