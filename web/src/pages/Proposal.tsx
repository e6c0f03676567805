import { useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { graphql } from "../gql";
import type { ProposalFieldsFragment } from "../gql/graphql";
import { errorText } from "../client";
import { CommunityNav, ErrorLine, Status, when } from "../components";
import { useMembership } from "../session";

graphql(`
  fragment ProposalFields on Proposal {
    id communityId actionId actionType actionKind initiatorId
    policyId policyName policyKind policyVersion
    status reason proposalTime decidedAt voteUrl
    action { id type kind platform status fieldsJSON reason }
    votes { userId username kind boolean choice number castAt }
    tally { yes no total choices { choice count } }
    effects(first: 50) { edges { node { id platform method purpose status argsJSON resultJSON error requestedAt } } }
    evaluationLogs(first: 50) { edges { node { block result error logsJSON evaluatedAt } } }
    trace
    ballots { kind options }
    canVote
  }
`);

const ProposalDoc = graphql(`
  query ProposalPage($id: ID!) { proposal(id: $id) { ...ProposalFields } }
`);
const ProposalLiveDoc = graphql(`
  subscription ProposalLive($id: ID!) { proposalUpdated(id: $id) { ...ProposalFields } }
`);
const VoteDoc = graphql(`
  mutation CastVote($input: CastVoteInput!) { castVote(input: $input) { proposal { id status tally { yes no total } } } }
`);
const VerifyDoc = graphql(`
  query VerifyProposal($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }
`);

export function ProposalPage({ id }: { id: string }) {
  const [{ data, error }] = useQuery({ query: ProposalDoc, variables: { id } });
  // The subscription sends the proposal now and after every event of its stream, so votes,
  // the tally and the decision appear without reloading.
  const [live] = useSubscription({ query: ProposalLiveDoc, variables: { id } });
  const p = live.data?.proposalUpdated ?? data?.proposal;
  if (error && !p) return <section><h1>Proposal</h1><ErrorLine error={error} /></section>;
  if (!p) return <p aria-busy="true">Loading…</p>;
  return <ProposalView p={p} />;
}

function ProposalView({ p }: { p: ProposalFieldsFragment }) {
  const membership = useMembership(p.communityId);
  const [voteState, vote] = useMutation(VoteDoc);
  const [problem, setProblem] = useState("");
  const [number, setNumber] = useState("");
  // The server says what the vote offers and whether this member may cast one; a proposal
  // that started no vote takes yes or no (or any number or choice, through the API).
  const mayVote = p.canVote;
  const ballots = p.ballots.length ? p.ballots : [{ kind: "boolean", options: [] as string[] }];
  const mine = p.votes.find((v) => v.userId === membership?.userId);
  const cast = async (value: string) => {
    setProblem("");
    const r = await vote({ input: { communityId: p.communityId, proposalId: p.id, value } });
    if (r.error) setProblem(errorText(r.error));
  };
  let fields = p.action?.fieldsJSON ?? "{}";
  try { fields = JSON.stringify(JSON.parse(fields), null, 2); } catch { /* shown as sent */ }

  return (
    <section data-testid="proposal">
      <CommunityNav id={p.communityId} />
      <h1>{p.actionType} <Status status={p.status} /></h1>
      <p className="muted">
        Proposed by {p.initiatorId} {when(p.proposalTime)} · policy {p.policyName} (v{p.policyVersion}, {p.policyKind})
        {p.decidedAt && <> · decided {when(p.decidedAt)}</>}
      </p>
      {p.reason && <p>Reason: {p.reason}</p>}
      <div className="grid">
        <article aria-labelledby="vote-h">
          <h2 id="vote-h">Votes</h2>
          <p data-testid="tally">Yes <strong>{p.tally.yes}</strong> · No <strong>{p.tally.no}</strong> · {p.tally.total} votes
            {p.tally.choices.map((c) => <span key={c.choice}> · {c.choice}: {c.count}</span>)}
          </p>
          {mayVote && (
            <div className="vote" role="group" aria-label="Your vote">
              {ballots.some((b) => b.kind === "boolean") && (
                <>
                  <button type="button" disabled={voteState.fetching} onClick={() => cast("yes")}>Vote yes</button>
                  <button type="button" disabled={voteState.fetching} className="secondary" onClick={() => cast("no")}>Vote no</button>
                </>
              )}
              {[...new Set(ballots.filter((b) => b.kind === "choice").flatMap((b) => b.options))].map((o) => (
                <button key={o} type="button" disabled={voteState.fetching} onClick={() => cast(o)}>{o}</button>
              ))}
              {ballots.some((b) => b.kind === "choice" && b.options.length === 0) && (
                <form onSubmit={(e) => { e.preventDefault(); cast(number); }} className="inline">
                  <label>Your choice <input value={number} onChange={(e) => setNumber(e.target.value)} /></label>
                  <button type="submit" disabled={!number}>Vote</button>
                </form>
              )}
              {ballots.some((b) => b.kind === "number") && (
                <form onSubmit={(e) => { e.preventDefault(); cast(number); }} className="inline">
                  <label>Number <input type="number" step={1} value={number} onChange={(e) => setNumber(e.target.value)} /></label>
                  <button type="submit" disabled={!number}>Vote</button>
                </form>
              )}
              {mine && <p className="muted">Your vote: {voteText(mine)}</p>}
            </div>
          )}
          {problem && <p role="alert" className="error">{problem}</p>}
          <table>
            <thead><tr><th>Member</th><th>Vote</th><th>When</th></tr></thead>
            <tbody>
              {p.votes.map((v) => <tr key={v.userId}><td>{v.username}</td><td>{voteText(v)}</td><td>{when(v.castAt)}</td></tr>)}
            </tbody>
          </table>
        </article>
        <article aria-labelledby="action-h">
          <h2 id="action-h">Action</h2>
          <p>{p.action?.kind} · {p.action?.platform} · <strong>{p.action?.status}</strong></p>
          <pre className="code">{fields}</pre>
        </article>
        <article aria-labelledby="effects-h">
          <h2 id="effects-h">Effects</h2>
          {p.effects.edges.length === 0 && <p className="muted">None.</p>}
          <ul className="list">
            {p.effects.edges.map(({ node: e }) => (
              <li key={e.id}>{e.platform}.{e.method} <span className="muted">{e.purpose} · {e.status}{e.error && ` · ${e.error}`}</span></li>
            ))}
          </ul>
        </article>
        <article aria-labelledby="logs-h" className="wide">
          <h2 id="logs-h">Evaluation logs</h2>
          <table>
            <thead><tr><th>Block</th><th>Result</th><th>Error</th><th>Logs</th><th>When</th></tr></thead>
            <tbody>
              {p.evaluationLogs.edges.map(({ node: l }, i) => (
                <tr key={i}><td>{l.block}</td><td>{l.result}</td><td>{l.error}</td><td><code>{l.logsJSON}</code></td><td>{when(l.evaluatedAt)}</td></tr>
              ))}
            </tbody>
          </table>
        </article>
        <article aria-labelledby="trace-h" className="wide">
          <h2 id="trace-h">Decision trace</h2>
          <pre className="code" data-testid="trace">{p.trace}</pre>
          <Verify id={p.id} />
        </article>
      </div>
    </section>
  );
}

function voteText(v: { kind: string; boolean?: boolean | null; choice?: string | null; number?: number | null }): string {
  if (v.kind === "boolean") return v.boolean ? "yes" : "no";
  if (v.kind === "choice") return v.choice ?? "";
  return String(v.number ?? "");
}

// Verify re-runs the proposal's recorded decisions on the server and says whether they come
// out the same.
function Verify({ id }: { id: string }) {
  const [asked, setAsked] = useState(false);
  const [{ data, error, fetching }] = useQuery({ query: VerifyDoc, variables: { id }, pause: !asked, requestPolicy: "network-only" });
  const v = data?.proposal?.verification;
  return (
    <div>
      <button type="button" onClick={() => setAsked(true)} disabled={fetching}>Verify</button>
      {fetching && <span aria-busy="true"> re-running…</span>}
      <ErrorLine error={error} />
      {v && (
        <p role="status" data-testid="verification">
          {v.ok ? `Verified: ${v.decisions} decisions come out the same.` : `Mismatch in ${v.mismatches.length} of ${v.decisions} decisions:`}
          {v.mismatches.map((m) => <code key={m}><br />{m}</code>)}
        </p>
      )}
    </div>
  );
}
