import { useState } from "react";
import { useMutation } from "urql";
import { graphql } from "./gql";
import { errorText } from "./client";
import { Link } from "./router";

const ProposeConstitutionDoc = graphql(`
  mutation ProposeConstitution($input: ProposeConstitutionActionInput!) {
    proposeConstitutionAction(input: $input) {
      action { id type status reason }
      proposal { id status }
    }
  }
`);

export type Outcome = { actionId: string; type: string; status: string; reason: string; proposalId?: string; proposalStatus?: string };

// useProposeConstitution proposes a constitution action: every change a page makes to a
// community goes through the community's governance, never around it.
export function useProposeConstitution(communityId: string) {
  const [state, run] = useMutation(ProposeConstitutionDoc);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [problem, setProblem] = useState("");
  const propose = async (type: string, payload: unknown): Promise<Outcome | null> => {
    setProblem("");
    setOutcome(null);
    const r = await run({ input: { communityId, type, payloadJSON: JSON.stringify(payload) } });
    if (r.error || !r.data) {
      setProblem(errorText(r.error));
      return null;
    }
    const { action, proposal } = r.data.proposeConstitutionAction;
    const o = { actionId: action.id, type: action.type, status: action.status, reason: action.reason, proposalId: proposal?.id, proposalStatus: proposal?.status };
    setOutcome(o);
    return o;
  };
  return { propose, busy: state.fetching, outcome, problem };
}

// Outcome says what became of a proposed action: executed at once, rejected, or a proposal
// to follow (and vote on).
export function OutcomeView({ outcome, problem }: { outcome: Outcome | null; problem: string }) {
  if (problem) return <p role="alert" className="error">{problem}</p>;
  if (!outcome) return null;
  return (
    <p role="status" className="outcome" data-testid="outcome">
      {outcome.type}: <strong>{outcome.status}</strong>
      {outcome.reason && <> ({outcome.reason})</>}
      {outcome.proposalId && (
        <> — <Link to={`/proposals/${encodeURIComponent(outcome.proposalId)}`}>proposal {outcome.proposalStatus}</Link></>
      )}
    </p>
  );
}

export function CommunityNav({ id, name }: { id: string; name?: string }) {
  const base = `/c/${encodeURIComponent(id)}`;
  const here = location.pathname;
  const items: [string, string][] = [
    [base, "Home"],
    [`${base}/propose`, "Propose"],
    [`${base}/documents`, "Documents"],
    [`${base}/roles`, "Roles & members"],
    [`${base}/integrations`, "Integrations"],
    [`${base}/logs`, "Logs"],
    [`${base}/audit`, "Audit"],
  ];
  return (
    <nav className="community-nav" aria-label="Community">
      {name && <span className="community-name">{name}</span>}
      {items.map(([to, label]) => (
        <Link key={to} to={to} aria-current={here === to ? "page" : undefined}>{label}</Link>
      ))}
    </nav>
  );
}

export function Status({ status }: { status: string }) {
  return <span className={`status status-${status.toLowerCase()}`} data-testid="status">{status}</span>;
}

export function when(t: string | null | undefined): string {
  if (!t) return "";
  const d = new Date(t);
  return isNaN(d.getTime()) ? t : d.toLocaleString();
}

export function ErrorLine({ error }: { error?: { message: string } }) {
  if (!error) return null;
  return <p role="alert" className="error">{errorText(error)}</p>;
}
