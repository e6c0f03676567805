import { useState } from "react";
import { useMutation } from "urql";
import { graphql } from "./gql";
import { errorText } from "./client";
import type { Outcome } from "./components";

// Forms built from what the server says an action type carries (Query.actionTypes) and
// what a permission is made of (Query.permissionCatalog): a new action type or field shows
// up here without a change to the dashboard.

export type Field = { name: string; type: string; required: boolean; description?: string | null };
export type TypeInfo = { type: string; kind: string; label: string; platform?: string; proposable?: boolean; fields?: Field[] };
export type Catalog = { verbs: string[]; wildcards: string[]; actionTypes: string[] };
export type Member = { id: string; username: string; readableName?: string | null };
export type Pair = { key: string; value: string };

// A field's value while it is edited: text for text, longtext, number, list (one per line)
// and code; true/false for boolean; the chosen strings for permissions and userIds; rows
// for map.
export type FieldValue = string | boolean | string[] | Pair[];

export function emptyValue(f: Field): FieldValue {
  switch (f.type) {
    case "boolean": return false;
    case "permissions": case "userIds": return [];
    case "map": return [{ key: "", value: "" }];
    default: return "";
  }
}

// toPayload turns the form's values into the action's payload (or fields): empty optional
// values are left out, so the server's defaults apply.
export function toPayload(fields: Field[], values: Record<string, FieldValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = values[f.name] ?? emptyValue(f);
    switch (f.type) {
      case "boolean":
        out[f.name] = v === true;
        break;
      case "number":
        if (String(v).trim() !== "") out[f.name] = Number(v);
        break;
      case "list":
        out[f.name] = String(v).split("\n").map((s) => s.trim()).filter(Boolean);
        break;
      case "permissions": case "userIds":
        out[f.name] = [...(v as string[])].sort();
        break;
      case "map": {
        const m = Object.fromEntries((v as Pair[]).filter((p) => p.key).map((p) => [p.key, p.value]));
        if (Object.keys(m).length > 0 || f.required) out[f.name] = m;
        break;
      }
      default: {
        const s = String(v);
        // A policy's variables are a JSON list given as text.
        if (f.name === "variables") {
          if (s.trim() !== "") out[f.name] = JSON.parse(s);
        } else if (s !== "" || f.required) out[f.name] = s;
      }
    }
  }
  return out;
}

// fromPayload is toPayload's inverse, for going back from the raw JSON to the form.
export function fromPayload(fields: Field[], payload: Record<string, unknown>): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const f of fields) {
    const v = payload[f.name];
    if (v === undefined || v === null) {
      out[f.name] = emptyValue(f);
      continue;
    }
    switch (f.type) {
      case "boolean": out[f.name] = v === true; break;
      case "list": out[f.name] = Array.isArray(v) ? v.map(String).join("\n") : String(v); break;
      case "permissions": case "userIds": out[f.name] = Array.isArray(v) ? v.map(String) : []; break;
      case "map":
        out[f.name] = typeof v === "object" ? Object.entries(v as Record<string, unknown>).map(([key, value]) => ({ key, value: String(value) })) : [];
        if ((out[f.name] as Pair[]).length === 0) out[f.name] = emptyValue(f);
        break;
      default: out[f.name] = typeof v === "string" ? v : JSON.stringify(v, null, 2);
    }
  }
  return out;
}

type FieldProps = { field: Field; value: FieldValue; onChange: (v: FieldValue) => void; catalog?: Catalog; types: TypeInfo[]; members: Member[] };

// FieldInput is the input for one field, by its type.
export function FieldInput({ field: f, value, onChange, catalog, types, members }: FieldProps) {
  const name = `field-${f.name}`;
  const label = <>{f.name}{f.required && " *"}{f.description && <span className="muted"> — {f.description}</span>}</>;
  switch (f.type) {
    case "boolean":
      return <label className="check"><input type="checkbox" name={name} checked={value === true} onChange={(e) => onChange(e.target.checked)} /> {label}</label>;
    case "number":
      return <label>{label}<input type="number" name={name} value={value as string} onChange={(e) => onChange(e.target.value)} /></label>;
    case "longtext":
      return <label>{label}<textarea name={name} rows={3} required={f.required} value={value as string} onChange={(e) => onChange(e.target.value)} /></label>;
    case "code":
      return <label>{label}<textarea name={name} rows={4} className="mono" spellCheck={false} value={value as string} onChange={(e) => onChange(e.target.value)} /></label>;
    case "list":
      return <label>{label} <span className="muted">(one per line)</span><textarea name={name} rows={3} value={value as string} onChange={(e) => onChange(e.target.value)} /></label>;
    case "permissions":
      return (
        <fieldset>
          <legend>{label}</legend>
          {catalog && <PermissionChecklist catalog={catalog} types={types} value={new Set(value as string[])} onChange={(s) => onChange([...s])} />}
        </fieldset>
      );
    case "userIds": {
      const chosen = new Set(value as string[]);
      return (
        <fieldset data-testid={name}>
          <legend>{label}</legend>
          {members.length === 0 && <p className="muted">No members.</p>}
          {members.map((m) => (
            <label key={m.id} className="check">
              <input type="checkbox" value={m.id} checked={chosen.has(m.id)}
                onChange={() => onChange(chosen.has(m.id) ? [...chosen].filter((x) => x !== m.id) : [...chosen, m.id])} />
              {" "}{m.readableName || m.username} <span className="muted">{m.username}</span>
            </label>
          ))}
        </fieldset>
      );
    }
    case "map":
      return <Pairs legend={label} pairs={value as Pair[]} onChange={onChange} secret={f.name === "secrets"} name={name} />;
    default:
      return <label>{label}<input name={name} required={f.required} value={value as string} onChange={(e) => onChange(e.target.value)} /></label>;
  }
}

// Pairs edits a map as rows of name and value; secret values are password inputs (the
// server seals them; nothing shows them again).
export function Pairs({ legend, pairs, onChange, secret, name }: { legend: React.ReactNode; pairs: Pair[]; onChange: (p: Pair[]) => void; secret: boolean; name: string }) {
  const set = (i: number, k: keyof Pair, v: string) => onChange(pairs.map((p, j) => (j === i ? { ...p, [k]: v } : p)));
  return (
    <fieldset>
      <legend>{legend}</legend>
      {pairs.map((p, i) => (
        <div key={i} className="inline">
          <label>Name <input name={`${name}-key`} value={p.key} pattern="[a-z0-9_]+" onChange={(e) => set(i, "key", e.target.value)} /></label>
          <label>Value <input name={`${name}-value`} type={secret ? "password" : "text"} autoComplete="off" value={p.value} onChange={(e) => set(i, "value", e.target.value)} /></label>
        </div>
      ))}
      <button type="button" className="secondary small" onClick={() => onChange([...pairs, { key: "", value: "" }])}>Add</button>
    </fieldset>
  );
}

const kindOrder = ["constitution", "platform", "trigger"];

// PermissionChecklist is verbs × (the wildcards, then every action type grouped by its
// kind), plus whatever the value already names that the catalogue does not.
export function PermissionChecklist({ catalog, types, value, onChange }: { catalog: Catalog; types: TypeInfo[]; value: Set<string>; onChange: (v: Set<string>) => void }) {
  const toggle = (p: string) => {
    const next = new Set(value);
    if (next.has(p)) next.delete(p);
    else next.add(p);
    onChange(next);
  };
  const known = new Set([...catalog.wildcards, ...catalog.actionTypes]);
  const byType = new Map(types.map((t) => [t.type, t]));
  const groups: [string, string[]][] = [["Wildcards", catalog.wildcards]];
  const kinds = [...new Set(catalog.actionTypes.map((t) => byType.get(t)?.kind ?? "other"))].sort((a, b) => (kindOrder.indexOf(a) + 1 || 99) - (kindOrder.indexOf(b) + 1 || 99));
  for (const k of kinds) groups.push([k, catalog.actionTypes.filter((t) => (byType.get(t)?.kind ?? "other") === k)]);
  const other = [...new Set([...value].map((p) => p.slice(p.indexOf(":") + 1)))].filter((s) => !known.has(s));
  if (other.length > 0) groups.push(["Other", other]);
  return (
    <div className="checklist" data-testid="permission-checklist">
      <table>
        <thead><tr><th>Action type</th>{catalog.verbs.map((v) => <th key={v}>{v}</th>)}</tr></thead>
        {groups.map(([g, scopes]) => (
          <tbody key={g}>
            <tr><th colSpan={catalog.verbs.length + 1} className="group">{g}</th></tr>
            {scopes.map((s) => (
              <tr key={s}>
                <td><code>{s}</code>{byType.get(s) && <span className="muted"> {byType.get(s)!.label}</span>}</td>
                {catalog.verbs.map((v) => {
                  const p = `${v}:${s}`;
                  return <td key={v}><input type="checkbox" aria-label={p} checked={value.has(p)} onChange={() => toggle(p)} /></td>;
                })}
              </tr>
            ))}
          </tbody>
        ))}
      </table>
    </div>
  );
}

const ProposeActionDoc = graphql(`
  mutation ProposePlatformAction($input: ProposeActionInput!) {
    proposeAction(input: $input) {
      action { id type status reason }
      proposal { id status }
    }
  }
`);

// useProposeAction proposes a platform action from the dashboard (its fields as JSON).
export function useProposeAction(communityId: string) {
  const [state, run] = useMutation(ProposeActionDoc);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [problem, setProblem] = useState("");
  const propose = async (actionType: string, platform: string | undefined, fields: unknown): Promise<Outcome | null> => {
    setProblem("");
    setOutcome(null);
    const r = await run({ input: { communityId, actionType, platform: platform || undefined, fieldsJSON: JSON.stringify(fields) } });
    if (r.error || !r.data) {
      setProblem(errorText(r.error));
      return null;
    }
    const { action, proposal } = r.data.proposeAction;
    const o = { actionId: action.id, type: action.type, status: action.status, reason: action.reason, proposalId: proposal?.id, proposalStatus: proposal?.status };
    setOutcome(o);
    return o;
  };
  return { propose, busy: state.fetching, outcome, problem };
}
