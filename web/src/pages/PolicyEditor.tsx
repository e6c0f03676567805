import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import { errorText } from "../client";
import { CommunityNav, ErrorLine, OutcomeView, useProposeConstitution } from "../components";

const PolicyDoc = graphql(`
  query PolicyEdit($id: ID!) {
    policy(id: $id) { id kind name description actionTypes priority active version hash codeJSON variablesJSON }
    exportPolicy(id: $id)
  }
`);
const ImportDoc = graphql(`
  mutation ImportPolicy($input: ImportPolicyInput!) { importPolicy(input: $input) { action { id type status reason } proposal { id status } } }
`);

const blocks = ["filter", "initialize", "check", "notify", "success", "fail"] as const;
type Code = Record<(typeof blocks)[number], string>;
const empty: Code = { filter: "", initialize: "", check: "", notify: "", success: "", fail: "" };

// A policy's six blocks, kind and action types; saving proposes the policy's add or change
// (the server compiles it when the proposal passes). Export and import use PolicyKit's policy
// file format.
export default function PolicyEditor({ communityId, policyId }: { communityId: string; policyId: string }) {
  const [{ data, error }] = useQuery({ query: PolicyDoc, variables: { id: policyId }, pause: !policyId });
  const { propose, busy, outcome, problem } = useProposeConstitution(communityId);
  const [kind, setKind] = useState("platform");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [types, setTypes] = useState("");
  const [code, setCode] = useState<Code>(empty);
  const [imported, setImported] = useState("");
  const [importState, importPolicy] = useMutation(ImportDoc);
  const [importProblem, setImportProblem] = useState("");
  const p = data?.policy;
  useEffect(() => {
    if (!p) return;
    setKind(p.kind);
    setName(p.name);
    setDescription(p.description);
    setTypes(p.actionTypes.join(", "));
    try {
      const c = JSON.parse(p.codeJSON);
      setCode(Object.fromEntries(blocks.map((b) => [b, c[b] ?? ""])) as Code);
    } catch { /* left empty */ }
  }, [p]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body = { name, description, action_types: types.split(",").map((t) => t.trim()).filter(Boolean), ...code };
    if (p) await propose(`policykitchange${kind}policy`, { policy_id: p.id, ...body });
    else await propose(`policykitadd${kind}policy`, body);
  };
  const doImport = async (e: FormEvent) => {
    e.preventDefault();
    setImportProblem("");
    const r = await importPolicy({ input: { communityId, policyJSON: imported } });
    setImportProblem(r.error ? errorText(r.error) : `Proposed: ${r.data?.importPolicy.action.status}`);
  };
  const download = () => {
    if (!data?.exportPolicy) return;
    const url = URL.createObjectURL(new Blob([data.exportPolicy], { type: "application/json" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `${name || "policy"}.json`;
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <section>
      <CommunityNav id={communityId} />
      <h1>{p ? `Policy ${p.name}` : "New policy"}</h1>
      <ErrorLine error={error} />
      {p && <p className="muted">Version {p.version} · {p.active ? "active" : "removed"} · {p.hash.slice(0, 12)}</p>}
      <form onSubmit={submit} aria-label="Policy">
        <label>Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)} disabled={!!p}>
            <option>platform</option><option>constitution</option><option>trigger</option>
          </select>
        </label>
        <label>Name <input required value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Description <input value={description} onChange={(e) => setDescription(e.target.value)} /></label>
        <label>Action types (comma-separated) <input value={types} onChange={(e) => setTypes(e.target.value)} /></label>
        {blocks.map((b) => (
          <label key={b}>{b}
            <textarea className="mono" rows={b === "check" ? 8 : 4} spellCheck={false} value={code[b]} onChange={(e) => setCode({ ...code, [b]: e.target.value })} />
          </label>
        ))}
        <button type="submit" disabled={busy}>{p ? "Propose the change" : "Propose the policy"}</button>
        {p && <button type="button" className="secondary" onClick={download}>Export (PolicyKit JSON)</button>}
      </form>
      <OutcomeView outcome={outcome} problem={problem} />
      <h2>Import a policy file</h2>
      <form onSubmit={doImport} aria-label="Import a policy">
        <label>Policy file (JSON) <textarea className="mono" rows={6} value={imported} onChange={(e) => setImported(e.target.value)} /></label>
        <label>Or a file <input type="file" accept="application/json,.json" onChange={async (e) => { const f = e.target.files?.[0]; if (f) setImported(await f.text()); }} /></label>
        <button type="submit" disabled={importState.fetching || !imported}>Propose importing</button>
        {importProblem && <p role="status">{importProblem}</p>}
      </form>
    </section>
  );
}
