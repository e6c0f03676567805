import { useEffect, useState, type FormEvent } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import { CommunityNav, ErrorLine, OutcomeView, useProposeConstitution } from "../components";
import { PermissionChecklist } from "../forms";

const RolesDoc = graphql(`
  query Roles($id: ID!) {
    community(id: $id) {
      id name
      roles(first: 100) { edges { node { name description isBase permissions } } }
      members(first: 100) { edges { node { id username readableName platform roles } } }
    }
    actionTypes { type kind label }
    permissionCatalog { verbs wildcards actionTypes }
  }
`);

// Roles with a checklist of their permissions, and members with their roles. Every change is
// proposed: policykitaddrole, policykiteditrole, policykitdeleterole, policykitadduserrole,
// policykitremoveuserrole.
export function RolesPage({ communityId }: { communityId: string }) {
  const [{ data, error }, refetch] = useQuery({ query: RolesDoc, variables: { id: communityId } });
  const { propose, busy, outcome, problem } = useProposeConstitution(communityId);
  const [role, setRole] = useState(""); // the role being edited; "" for a new one
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [perms, setPerms] = useState<Set<string>>(new Set());
  useEffect(() => {
    if (outcome) refetch({ requestPolicy: "network-only" });
  }, [outcome, refetch]);
  const roles = data?.community?.roles.edges.map((e) => e.node) ?? [];
  const members = data?.community?.members.edges.map((e) => e.node) ?? [];
  const edit = (n: string) => {
    const r = roles.find((x) => x.name === n);
    setRole(n);
    setName(r?.name ?? "");
    setDescription(r?.description ?? "");
    setPerms(new Set(r?.permissions ?? []));
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const permissions = [...perms].sort();
    if (role) await propose("policykiteditrole", { role, name: name !== role ? name : undefined, description, permissions });
    else await propose("policykitaddrole", { name, description, permissions });
  };
  const [member, setMember] = useState("");
  const [memberRole, setMemberRole] = useState("");

  return (
    <section>
      <CommunityNav id={communityId} name={data?.community?.name} />
      <h1>Roles and members</h1>
      <ErrorLine error={error} />
      <div className="grid">
        <article aria-labelledby="roles-h">
          <h2 id="roles-h">Roles</h2>
          <ul className="list" data-testid="roles">
            {roles.map((r) => (
              <li key={r.name}>
                <strong>{r.name}</strong>{r.isBase && <span className="muted"> (base)</span>}
                <span className="muted"> {r.description}</span>
                <div className="perms">{r.permissions.join(" ")}</div>
                <button type="button" className="secondary small" onClick={() => edit(r.name)}>Edit</button>{" "}
                {!r.isBase && <button type="button" className="secondary small" onClick={() => propose("policykitdeleterole", { role: r.name })}>Propose deleting</button>}
              </li>
            ))}
          </ul>
        </article>
        <article aria-labelledby="members-h">
          <h2 id="members-h">Members</h2>
          <table>
            <thead><tr><th>Member</th><th>Roles</th></tr></thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.id}>
                  <td>{m.readableName || m.username} <span className="muted">{m.platform}</span></td>
                  <td>
                    {m.roles.map((r) => {
                      const base = roles.find((x) => x.name === r)?.isBase;
                      return (
                        <span key={r} className="chip">
                          {r}
                          {!base && (
                            <button type="button" className="link" aria-label={`Propose removing ${r} from ${m.username}`}
                              onClick={() => propose("policykitremoveuserrole", { role: r, user_ids: [m.id] })}>×</button>
                          )}
                        </span>
                      );
                    })}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <form className="inline" aria-label="Give a role" onSubmit={(e) => { e.preventDefault(); propose("policykitadduserrole", { role: memberRole, user_ids: [member] }); }}>
            <label>Member
              <select name="member" value={member} onChange={(e) => setMember(e.target.value)} required>
                <option value="">…</option>
                {members.map((m) => <option key={m.id} value={m.id}>{m.username}</option>)}
              </select>
            </label>
            <label>Role
              <select name="memberrole" value={memberRole} onChange={(e) => setMemberRole(e.target.value)} required>
                <option value="">…</option>
                {roles.filter((r) => !r.isBase).map((r) => <option key={r.name} value={r.name}>{r.name}</option>)}
              </select>
            </label>
            <button type="submit" disabled={busy || !member || !memberRole}>Propose giving the role</button>
          </form>
        </article>
      </div>
      <h2>{role ? `Edit ${role}` : "Propose a role"}</h2>
      <form onSubmit={submit} aria-label="Role">
        <label>Name <input name="rolename" required value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Description <input name="roledescription" value={description} onChange={(e) => setDescription(e.target.value)} /></label>
        <fieldset>
          <legend>Permissions</legend>
          {data && <PermissionChecklist catalog={data.permissionCatalog} types={data.actionTypes} value={perms} onChange={setPerms} />}
        </fieldset>
        <button type="submit" disabled={busy}>{role ? "Propose the change" : "Propose the role"}</button>
        {role && <button type="button" className="secondary" onClick={() => edit("")}>New role instead</button>}
      </form>
      <OutcomeView outcome={outcome} problem={problem} />
    </section>
  );
}
