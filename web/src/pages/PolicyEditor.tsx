import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { DryRunMutation } from "../gql/graphql";
import { errorText } from "../client";
import { CommunityNav, ErrorLine, OutcomeView, Status, useProposeConstitution, when } from "../components";
import { CodeEditor, type Problem } from "../editor/CodeEditor";

const PolicyDoc = graphql(`
  query PolicyEdit($id: ID!) {
    policy(id: $id) {
      id kind name description actionTypes priority active version hash codeJSON variablesJSON
      versions(first: 50) { edges { node { version change active hash changedAt actionId } } }
    }
    exportPolicy(id: $id)
  }
`);
const EditorDataDoc = graphql(`
  query PolicyEditorData($community: ID!) {
    actionTypes { type kind platform label governable fields { name type required } }
    community(id: $community) { id name platforms { name active } members(first: 5) { edges { node { id username } } } }
  }
`);
const DiffDoc = graphql(`
  query PolicyDiff($id: ID!, $from: Int!, $to: Int!) { policy(id: $id) { id diff(fromVersion: $from, toVersion: $to) } }
`);
const ValidateDoc = graphql(`
  query ValidatePolicyCode($code: PolicyCodeInput!) { validatePolicyCode(code: $code) { block line column message } }
`);
const DryRunDoc = graphql(`
  mutation DryRun($input: DryRunInput!) {
    dryRun(input: $input) { ok steps { line kind description at status passed error events logs } }
  }
`);
const ImportDoc = graphql(`
  mutation ImportPolicy($input: ImportPolicyInput!) { importPolicy(input: $input) { action { id type status reason } proposal { id status } } }
`);

const blocks = ["filter", "initialize", "check", "notify", "success", "fail"] as const;
type Block = (typeof blocks)[number];
type Code = Record<Block, string>;
// A new policy starts as one that governs nothing it is not given and decides nothing alone.
const starter: Code = { filter: "return True\n", initialize: "pass\n", check: "return PROPOSED\n", notify: "pass\n", success: "pass\n", fail: "pass\n" };
const empty: Code = { filter: "", initialize: "", check: "", notify: "", success: "", fail: "" };
type Variable = { name: string; label?: string; type: string; default_value?: string; value?: string; [k: string]: unknown };
type Langs = { filter_lang?: string; check_lang?: string };

// The problems of the code are asked for this long after the last keystroke.
const validateDelay = 400;

// A policy's six blocks, kind, action types and variables; saving proposes the policy's add
// or change, and is held back while the server finds compile errors in the code. A dry run
// plays a scenario against the draft; the history shows each version and the diff of two.
export default function PolicyEditor({ communityId, policyId }: { communityId: string; policyId: string }) {
  const [{ data, error }] = useQuery({ query: PolicyDoc, variables: { id: policyId }, pause: !policyId });
  const [{ data: meta, error: metaError }] = useQuery({ query: EditorDataDoc, variables: { community: communityId } });
  const { propose, busy, outcome, problem } = useProposeConstitution(communityId);
  const [kind, setKind] = useState("platform");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [types, setTypes] = useState<string[]>([]);
  const [code, setCode] = useState<Code>(policyId ? empty : starter);
  const [langs, setLangs] = useState<Langs>({});
  const [vars, setVars] = useState<Variable[]>([]);
  const [priority, setPriority] = useState(0);
  const p = data?.policy;
  useEffect(() => {
    if (!p) return;
    setKind(p.kind);
    setName(p.name);
    setDescription(p.description);
    setTypes(p.actionTypes);
    setPriority(p.priority);
    try {
      const c = JSON.parse(p.codeJSON);
      setCode(Object.fromEntries(blocks.map((b) => [b, c[b] ?? ""])) as Code);
      setLangs({ filter_lang: c.filter_lang || undefined, check_lang: c.check_lang || undefined });
    } catch { /* left empty */ }
    try {
      const v = JSON.parse(p.variablesJSON);
      setVars(Array.isArray(v) ? v : []);
    } catch { /* none */ }
  }, [p]);

  const { problems, checking, unavailable } = useCodeProblems(code, langs);
  const errorCount = problems.length;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (errorCount || checking) return;
    const body = { name, description, action_types: types, ...code, ...langs, variables: vars, priority };
    if (p) await propose(`policykitchange${kind}policy`, { policy_id: p.id, ...body });
    else await propose(`policykitadd${kind}policy`, body);
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
  const governable = useMemo(
    () => (meta?.actionTypes ?? []).filter((t) => t.kind === kind && t.governable),
    [meta, kind],
  );

  return (
    <section data-testid="policy-editor">
      <CommunityNav id={communityId} name={meta?.community?.name} />
      <h1>{p ? `Policy ${p.name}` : "New policy"}</h1>
      <ErrorLine error={error ?? metaError} />
      {p && <p className="muted">Version {p.version} · {p.active ? "active" : "removed"} · {p.hash.slice(0, 12)}</p>}
      <form onSubmit={submit} aria-label="Policy">
        <div className="row">
          <label>Kind
            <select value={kind} onChange={(e) => { setKind(e.target.value); setTypes([]); }} disabled={!!p} name="kind">
              <option>platform</option><option>constitution</option><option>trigger</option>
            </select>
          </label>
          <label>Priority <input type="number" step={1} value={priority} onChange={(e) => setPriority(Number(e.target.value) || 0)} /></label>
        </div>
        <label>Name <input required name="policyname" value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Description <input value={description} onChange={(e) => setDescription(e.target.value)} /></label>
        <ActionTypePicker options={governable} selected={types} onChange={setTypes} kind={kind} />
        <Variables vars={vars} onChange={setVars} />
        {blocks.map((b) => {
          const mine = problems.filter((x) => x.block === b);
          return (
            <div key={b} className="block" data-block={b}>
              <div className="block-head">
                <strong>{b}</strong>
                {(b === "filter" || b === "check") && langs[`${b}_lang`] === "expr" && <span className="muted"> (expr)</span>}
              </div>
              <CodeEditor value={code[b]} onChange={(v) => setCode((c) => ({ ...c, [b]: v }))} language="python" label={`${b} block`} problems={mine} testid={`code-${b}`} />
              {mine.length > 0 && (
                <ul className="problems" role="alert" data-testid={`problems-${b}`}>
                  {mine.map((x, i) => <li key={i}>{b}, line {x.line}{x.column ? `:${x.column}` : ""}: {x.message}</li>)}
                </ul>
              )}
            </div>
          );
        })}
        <p role="status" className="muted" data-testid="compile-status">
          {unavailable ? "The server cannot check policy code; it is compiled when the proposal passes." :
            checking ? "Checking the code…" : errorCount ? `${errorCount} compile ${errorCount === 1 ? "error" : "errors"}: fix ${errorCount === 1 ? "it" : "them"} to propose.` : "The code compiles."}
        </p>
        <button type="submit" disabled={busy || checking || errorCount > 0}>{p ? "Propose the change" : "Propose the policy"}</button>
        {p && <button type="button" className="secondary" onClick={download}>Export (PolicyKit JSON)</button>}
      </form>
      <OutcomeView outcome={outcome} problem={problem} />
      <DryRun
        communityId={communityId}
        draft={{ policyId: p?.id, kind, name: name || "Draft", description, actionTypes: types, code: { ...code, filterLang: langs.filter_lang, checkLang: langs.check_lang }, variablesJSON: JSON.stringify(vars), priority }}
        example={exampleScenario((meta?.actionTypes ?? []).find((t) => t.type === (types[0] ?? governable[0]?.type)), (meta?.community?.members.edges ?? []).map((e) => e.node.id))}
      />
      {p && <History policyId={p.id} versions={p.versions.edges.map((e) => e.node)} />}
      <Import communityId={communityId} />
    </section>
  );
}

// useCodeProblems asks the server to compile the blocks a moment after the last change; a
// slower answer to older code is dropped.
function useCodeProblems(code: Code, langs: Langs) {
  const client = useClient();
  const [problems, setProblems] = useState<(Problem & { block: string })[]>([]);
  const [checking, setChecking] = useState(true);
  const [unavailable, setUnavailable] = useState(false);
  const seq = useRef(0);
  useEffect(() => {
    const n = ++seq.current;
    setChecking(true);
    const timer = window.setTimeout(async () => {
      const r = await client
        .query(ValidateDoc, { code: { ...code, filterLang: langs.filter_lang, checkLang: langs.check_lang } }, { requestPolicy: "network-only" })
        .toPromise();
      if (n !== seq.current) return;
      if (r.error || !r.data) {
        setProblems([]);
        setUnavailable(true);
      } else {
        setProblems(r.data.validatePolicyCode);
        setUnavailable(false);
      }
      setChecking(false);
    }, validateDelay);
    return () => window.clearTimeout(timer);
  }, [client, code, langs]);
  return { problems, checking, unavailable };
}

type TypeOption = { type: string; label: string; platform: string };

// ActionTypePicker lists the action types the policy's kind may govern, by platform.
function ActionTypePicker({ options, selected, onChange, kind }: { options: TypeOption[]; selected: string[]; onChange: (t: string[]) => void; kind: string }) {
  const [filter, setFilter] = useState("");
  const f = filter.toLowerCase();
  const shown = options.filter((o) => !f || o.type.includes(f) || o.label.toLowerCase().includes(f) || selected.includes(o.type));
  const toggle = (t: string) => onChange(selected.includes(t) ? selected.filter((x) => x !== t) : [...selected, t]);
  return (
    <fieldset className="types">
      <legend>Action types it governs ({kind}; none: every action its filter takes)</legend>
      <input type="search" placeholder="Filter" aria-label="Filter action types" value={filter} onChange={(e) => setFilter(e.target.value)} />
      <div className="checklist">
        {shown.map((o) => (
          <label key={o.type} className="check">
            <input type="checkbox" checked={selected.includes(o.type)} onChange={() => toggle(o.type)} value={o.type} />
            {o.label} <span className="muted">{o.platform} · {o.type}</span>
          </label>
        ))}
        {selected.filter((t) => !options.some((o) => o.type === t)).map((t) => (
          <label key={t} className="check">
            <input type="checkbox" checked onChange={() => toggle(t)} /> {t} <span className="muted">unknown here</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

const varTypes = ["string", "number", "float", "timestamp", "boolean", "user", "role", "channel"];

// Variables are the policy's settings its code reads (variables.name), PolicyKit's list.
function Variables({ vars, onChange }: { vars: Variable[]; onChange: (v: Variable[]) => void }) {
  const set = (i: number, k: string, v: string) => onChange(vars.map((x, j) => (j === i ? { ...x, [k]: v } : x)));
  return (
    <fieldset>
      <legend>Variables</legend>
      {vars.length === 0 && <p className="muted">None.</p>}
      {vars.map((v, i) => (
        <div key={i} className="row">
          <label>Name <input value={v.name} onChange={(e) => set(i, "name", e.target.value)} /></label>
          <label>Label <input value={v.label ?? ""} onChange={(e) => set(i, "label", e.target.value)} /></label>
          <label>Type
            <select value={v.type} onChange={(e) => set(i, "type", e.target.value)}>
              {[...new Set([...varTypes, v.type])].map((t) => <option key={t}>{t}</option>)}
            </select>
          </label>
          <label>Default <input value={v.default_value ?? ""} onChange={(e) => set(i, "default_value", e.target.value)} /></label>
          <label>Value <input value={v.value ?? ""} onChange={(e) => set(i, "value", e.target.value)} /></label>
          <button type="button" className="secondary" onClick={() => onChange(vars.filter((_, j) => j !== i))}>Remove</button>
        </div>
      ))}
      <button type="button" className="secondary" onClick={() => onChange([...vars, { name: "", type: "string", default_value: "" }])}>Add a variable</button>
    </fieldset>
  );
}

// exampleScenario is a small scenario to start from: one of the community's members
// proposes an action of the type (its required fields filled in), another votes yes, an hour
// passes.
function exampleScenario(t: { type: string; fields: { name: string; type: string; required: boolean }[] } | undefined, members: string[]): string {
  const a = members[0] ?? "<member id>";
  const b = members[1] ?? a;
  const sample: Record<string, string> = { boolean: "false", number: "1", list: "[]", permissions: "[]", userIds: `[${a}]`, map: "{}" };
  const fields = (t?.fields ?? []).filter((f) => f.required).map((f) => `${f.name}: ${sample[f.type] ?? "example"}`).join(", ");
  return [
    "# The policy test format (docs/policy-tests.md): steps run against the draft,",
    "# on a copy of the community, on a virtual clock. Nothing is recorded.",
    "steps:",
    `  - action: {id: a1, type: ${t?.type || "<action type>"}, initiator: ${a}, fields: {${fields}}}`,
    `  - vote: {user: ${b}, value: yes}`,
    "  - advance: 1h",
    "  # - expect: {status: PASSED}",
    "",
  ].join("\n");
}

type Draft = {
  policyId?: string; kind: string; name: string; description: string; actionTypes: string[];
  code: Record<string, string | undefined>; variablesJSON: string; priority: number;
};

// DryRun plays a scenario against the draft and shows each step.
function DryRun({ communityId, draft, example }: { communityId: string; draft: Draft; example: string }) {
  const [scenario, setScenario] = useState("");
  const [edited, setEdited] = useState(false);
  const [state, run] = useMutation(DryRunDoc);
  const [result, setResult] = useState<DryRunMutation["dryRun"] | null>(null);
  const [problem, setProblem] = useState("");
  // Until it is edited, the scenario follows the example (members load after the page).
  useEffect(() => { if (!edited) setScenario(example); }, [example, edited]);
  const go = async () => {
    setProblem("");
    setResult(null);
    const r = await run({ input: { communityId, policy: draft, scenario } });
    if (r.error || !r.data) setProblem(errorText(r.error));
    else setResult(r.data.dryRun);
  };
  return (
    <section aria-labelledby="dry-h" className="dry-run">
      <h2 id="dry-h">Dry run</h2>
      <CodeEditor value={scenario} onChange={(v) => { setEdited(true); setScenario(v); }} language="yaml" label="Scenario" testid="scenario" />
      <button type="button" onClick={go} disabled={state.fetching || !scenario.trim()}>Run the scenario</button>
      {state.fetching && <span aria-busy="true"> running…</span>}
      {problem && <pre role="alert" className="error">{problem}</pre>}
      {result && (
        <div data-testid="dry-run">
          <p role="status"><strong>{result.ok ? "Every step ran as expected." : "A step failed; the run stopped there."}</strong></p>
          <ol className="steps">
            {result.steps.map((s, i) => (
              <li key={i} className={s.passed ? "step" : "step failed"}>
                <span className="muted">line {s.line} · {s.kind} · {when(s.at)}</span>{" "}
                {s.description}{" "}
                {s.status && <Status status={s.status} />}{" "}
                <strong>{s.passed ? "ok" : "failed"}</strong>
                {s.error && <pre className="error">{s.error}</pre>}
                {(s.events.length > 0 || s.logs.length > 0) && (
                  <details>
                    <summary>{s.events.length} events{s.logs.length ? `, ${s.logs.length} log lines` : ""}</summary>
                    <pre className="code">{[...s.events, ...s.logs].join("\n")}</pre>
                  </details>
                )}
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}

type Version = { version: number; change: string; active: boolean; hash: string; changedAt: string; actionId: string };

// History lists the policy's versions and shows the diff of two.
function History({ policyId, versions }: { policyId: string; versions: Version[] }) {
  const last = versions.length ? versions[versions.length - 1].version : 1;
  const [from, setFrom] = useState(Math.max(1, last - 1));
  const [to, setTo] = useState(last);
  const [asked, setAsked] = useState(false);
  const [{ data, error, fetching }] = useQuery({ query: DiffDoc, variables: { id: policyId, from, to }, pause: !asked });
  return (
    <section aria-labelledby="history-h">
      <h2 id="history-h">Versions</h2>
      <table>
        <thead><tr><th>Version</th><th>Change</th><th>When</th><th>Hash</th></tr></thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version}><td>{v.version}</td><td>{v.change}</td><td>{when(v.changedAt)}</td><td><code>{v.hash.slice(0, 12)}</code></td></tr>
          ))}
        </tbody>
      </table>
      {versions.length > 1 && (
        <div className="row">
          <label>From <select value={from} onChange={(e) => setFrom(Number(e.target.value))}>{versions.map((v) => <option key={v.version}>{v.version}</option>)}</select></label>
          <label>To <select value={to} onChange={(e) => setTo(Number(e.target.value))}>{versions.map((v) => <option key={v.version}>{v.version}</option>)}</select></label>
          <button type="button" onClick={() => setAsked(true)} disabled={fetching}>Show the diff</button>
        </div>
      )}
      <ErrorLine error={error} />
      {asked && data?.policy && (
        <pre className="code diff" data-testid="diff">
          {data.policy.diff.split("\n").map((l, i) => (
            <span key={i} className={l.startsWith("+ ") ? "add" : l.startsWith("- ") ? "del" : undefined}>{l}{"\n"}</span>
          ))}
        </pre>
      )}
    </section>
  );
}

// Import proposes adding a policy from a PolicyKit policy file.
function Import({ communityId }: { communityId: string }) {
  const [imported, setImported] = useState("");
  const [importState, importPolicy] = useMutation(ImportDoc);
  const [importProblem, setImportProblem] = useState("");
  const doImport = async (e: FormEvent) => {
    e.preventDefault();
    setImportProblem("");
    const r = await importPolicy({ input: { communityId, policyJSON: imported } });
    setImportProblem(r.error ? errorText(r.error) : `Proposed: ${r.data?.importPolicy.action.status}`);
  };
  return (
    <section aria-labelledby="import-h">
      <h2 id="import-h">Import a policy file</h2>
      <form onSubmit={doImport} aria-label="Import a policy">
        <label>Policy file (JSON) <textarea className="mono" rows={6} value={imported} onChange={(e) => setImported(e.target.value)} /></label>
        <label>Or a file <input type="file" accept="application/json,.json" onChange={async (e) => { const f = e.target.files?.[0]; if (f) setImported(await f.text()); }} /></label>
        <button type="submit" disabled={importState.fetching || !imported}>Propose importing</button>
        {importProblem && <p role="status">{importProblem}</p>}
      </form>
    </section>
  );
}
