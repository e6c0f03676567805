import { useState, type FormEvent } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import { CommunityNav, ErrorLine, OutcomeView, useProposeConstitution } from "../components";
import { Link } from "../router";

const WelcomeDoc = graphql(`
  query Welcome($id: ID!) {
    community(id: $id) {
      id name
      roles(first: 50) { edges { node { name description permissions isBase } } }
      policies(first: 50) { edges { node { id kind name description active actionTypes } } }
    }
  }
`);

// The first run of a new community: its guidelines (a first document, proposed), the roles
// the kit set up, and who decides what (the constitution policies and the actions they govern).
export function Onboarding({ id }: { id: string }) {
  const [{ data, error }] = useQuery({ query: WelcomeDoc, variables: { id } });
  const { propose, busy, outcome, problem } = useProposeConstitution(id);
  const [text, setText] = useState("");
  const c = data?.community;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await propose("policykitaddcommunitydoc", { name: "Guidelines", text });
  };
  const constitution = c?.policies.edges.map((e) => e.node).filter((p) => p.active && p.kind === "constitution") ?? [];
  return (
    <section>
      <CommunityNav id={id} name={c?.name} />
      <h1>Welcome to {c?.name}</h1>
      <ErrorLine error={error} />
      <ol className="steps">
        <li>
          <h2>Guidelines</h2>
          <p>Say how members treat each other and what the community is for. It is proposed as a document, decided like any change.</p>
          <form onSubmit={submit} aria-label="Guidelines">
            <label>Guidelines <textarea name="guidelines" rows={5} value={text} onChange={(e) => setText(e.target.value)} required /></label>
            <button type="submit" disabled={busy}>Propose the guidelines</button>
          </form>
          <OutcomeView outcome={outcome} problem={problem} />
        </li>
        <li>
          <h2>Roles</h2>
          <ul className="list">
            {c?.roles.edges.map(({ node: r }) => (
              <li key={r.name}><strong>{r.name}</strong> <span className="muted">{r.description || r.permissions.join(" ")}</span></li>
            ))}
          </ul>
          <Link to={`/c/${encodeURIComponent(id)}/roles`}>Change the roles</Link>
        </li>
        <li>
          <h2>Who decides</h2>
          {constitution.length === 0 && <p>No constitution policy: members with the execute permission change the community directly.</p>}
          <ul className="list">
            {constitution.map((p) => (
              <li key={p.id}><strong>{p.name}</strong> <span className="muted">{p.description} ({p.actionTypes.join(", ") || "every constitution action"})</span></li>
            ))}
          </ul>
        </li>
      </ol>
      <p><Link to={`/c/${encodeURIComponent(id)}`} className="button">Go to the community</Link></p>
    </section>
  );
}
