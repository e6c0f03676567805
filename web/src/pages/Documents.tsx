import { useEffect, useState, type FormEvent } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import { CommunityNav, ErrorLine, OutcomeView, useProposeConstitution, when } from "../components";

const DocumentsDoc = graphql(`
  query Documents($id: ID!) {
    community(id: $id) { id name documents(first: 100) { edges { node { id name text active createdAt updatedAt } } } }
  }
`);

// The community's documents (its guidelines); adding, changing, deleting and recovering one
// is proposed as the constitution action it is.
export function DocumentsPage({ communityId }: { communityId: string }) {
  const [{ data, error }, refetch] = useQuery({ query: DocumentsDoc, variables: { id: communityId } });
  const { propose, busy, outcome, problem } = useProposeConstitution(communityId);
  const [editing, setEditing] = useState<string>(""); // a document id, or "" for a new one
  const [name, setName] = useState("");
  const [text, setText] = useState("");
  const docs = data?.community?.documents.edges.map((e) => e.node) ?? [];
  useEffect(() => {
    if (outcome) refetch({ requestPolicy: "network-only" });
  }, [outcome, refetch]);

  const edit = (id: string) => {
    const d = docs.find((x) => x.id === id);
    setEditing(id);
    setName(d?.name ?? "");
    setText(d?.text ?? "");
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (editing) await propose("policykitchangecommunitydoc", { document_id: editing, name, text });
    else await propose("policykitaddcommunitydoc", { name, text });
  };
  return (
    <section>
      <CommunityNav id={communityId} name={data?.community?.name} />
      <h1>Documents</h1>
      <ErrorLine error={error} />
      <ul className="list" data-testid="documents">
        {docs.map((d) => (
          <li key={d.id} className={d.active ? "" : "removed"}>
            <strong>{d.name}</strong> <span className="muted">updated {when(d.updatedAt)}{d.active ? "" : " · deleted"}</span>
            <p className="doc-text">{d.text}</p>
            {d.active ? (
              <>
                <button type="button" className="secondary small" onClick={() => edit(d.id)}>Change</button>{" "}
                <button type="button" className="secondary small" onClick={() => propose("policykitdeletecommunitydoc", { document_id: d.id })}>Propose deleting</button>
              </>
            ) : (
              <button type="button" className="secondary small" onClick={() => propose("policykitrecovercommunitydoc", { document_id: d.id })}>Propose recovering</button>
            )}
          </li>
        ))}
      </ul>
      <h2>{editing ? "Change a document" : "Propose a document"}</h2>
      <form onSubmit={submit} aria-label="Document">
        <label>Name <input name="docname" required value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Text <textarea name="doctext" rows={8} value={text} onChange={(e) => setText(e.target.value)} /></label>
        <button type="submit" disabled={busy}>{editing ? "Propose the change" : "Propose the document"}</button>
        {editing && <button type="button" className="secondary" onClick={() => edit("")}>New document instead</button>}
      </form>
      <OutcomeView outcome={outcome} problem={problem} />
    </section>
  );
}
