import { useMemo, useState, type FormEvent } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import { CommunityNav, ErrorLine, OutcomeView, useProposeConstitution } from "../components";
import { FieldInput, emptyValue, fromPayload, toPayload, useProposeAction, type FieldValue, type TypeInfo } from "../forms";

const ProposeFormDoc = graphql(`
  query ProposeForm($id: ID!) {
    community(id: $id) { id name members(first: 100) { edges { node { id username readableName } } } }
    actionTypes { type kind platform label proposable fields { name type required description } }
    permissionCatalog { verbs wildcards actionTypes }
  }
`);

// Proposing any constitution action, or any platform action a member may propose from
// here, through a form built from the action type's fields (or, for the unusual, its
// payload as raw JSON). The other pages propose the common ones through forms of their own.
export function Propose({ communityId }: { communityId: string }) {
  const [{ data, error }] = useQuery({ query: ProposeFormDoc, variables: { id: communityId } });
  const types = useMemo(() => (data?.actionTypes ?? []).filter((t) => t.proposable && (t.kind === "constitution" || t.kind === "platform")), [data]);
  const [type, setType] = useState("policykitaddcommunitydoc");
  const [values, setValues] = useState<Record<string, FieldValue>>({});
  const [raw, setRaw] = useState(false);
  const [json, setJSON] = useState("{}");
  const [bad, setBad] = useState("");
  const constitution = useProposeConstitution(communityId);
  const platform = useProposeAction(communityId);
  const info: TypeInfo | undefined = types.find((t) => t.type === type);
  const fields = info?.fields ?? [];
  const members = (data?.community?.members.edges ?? []).map((e) => e.node);
  // What became of the last proposal of the chosen kind.
  const current = info?.kind === "platform" ? platform : constitution;

  const choose = (t: string) => {
    setType(t);
    setValues({});
    setBad("");
    if (raw) setJSON(JSON.stringify(toPayload(types.find((x) => x.type === t)?.fields ?? [], {}), null, 2));
  };
  const payload = (): Record<string, unknown> | null => {
    try {
      const p = raw ? JSON.parse(json) : toPayload(fields, values);
      setBad("");
      return p;
    } catch (err) {
      setBad(`${raw ? "The payload is not JSON" : "A field is not valid"}: ${(err as Error).message}`);
      return null;
    }
  };
  const toggleRaw = (on: boolean) => {
    if (on) {
      const p = payload();
      if (!p) return;
      setJSON(JSON.stringify(p, null, 2));
    } else {
      try {
        setValues(fromPayload(fields, JSON.parse(json)));
        setBad("");
      } catch (err) {
        return setBad(`The payload is not JSON: ${(err as Error).message}`);
      }
    }
    setRaw(on);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const p = payload();
    if (!p || !info) return;
    if (info.kind === "constitution") await constitution.propose(type, p);
    else await platform.propose(type, info.platform, p);
  };
  const kinds = ["constitution", "platform"];
  return (
    <section>
      <CommunityNav id={communityId} name={data?.community?.name} />
      <h1>Propose a constitution action or a platform action</h1>
      <ErrorLine error={error} />
      <form onSubmit={submit} aria-label="Propose an action">
        <label>
          Action
          <select value={type} onChange={(e) => choose(e.target.value)} name="type">
            {kinds.map((k) => (
              <optgroup key={k} label={k}>
                {types.filter((t) => t.kind === k).map((t) => <option key={t.type} value={t.type}>{t.label} ({t.type})</option>)}
              </optgroup>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" name="raw" checked={raw} onChange={(e) => toggleRaw(e.target.checked)} /> Raw JSON
        </label>
        {raw ? (
          <label>
            Payload (JSON)
            <textarea name="payload" rows={12} className="mono" value={json} onChange={(e) => setJSON(e.target.value)} />
          </label>
        ) : (
          <div data-testid="action-fields" className="fields">
            {fields.length === 0 && info && <p className="muted">This action has no fields.</p>}
            {fields.map((f) => (
              <FieldInput key={`${type}-${f.name}`} field={f} value={values[f.name] ?? emptyValue(f)}
                onChange={(v) => setValues((old) => ({ ...old, [f.name]: v }))}
                catalog={data?.permissionCatalog} types={data?.actionTypes ?? []} members={members} />
            ))}
          </div>
        )}
        {bad && <p role="alert" className="error">{bad}</p>}
        <button type="submit" disabled={current.busy || !info}>Propose</button>
      </form>
      <OutcomeView outcome={current.outcome} problem={current.problem} />
    </section>
  );
}
