import { useEffect, useState, type FormEvent } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import { CommunityNav, ErrorLine, OutcomeView, useProposeConstitution, when } from "../components";
import { Pairs, type Pair } from "../forms";

const PlatformsDoc = graphql(`
  query Platforms($id: ID!) {
    community(id: $id) { id name platforms { name externalId displayName active connectedAt settingsJSON secretNames hookURL } }
    installLinks { platform url }
  }
`);

// Connected platforms, and connecting or disconnecting one, proposed as
// policykitaddintegration / policykitremoveintegration. Secrets are write-only: typed here,
// sealed by the server, and shown afterwards by name only.
export function IntegrationsPage({ communityId }: { communityId: string }) {
  const [{ data, error }, refetch] = useQuery({ query: PlatformsDoc, variables: { id: communityId } });
  const { propose, busy, outcome, problem } = useProposeConstitution(communityId);
  const [platform, setPlatform] = useState("");
  const [externalId, setExternalId] = useState("");
  const [name, setName] = useState("");
  const [settings, setSettings] = useState<Pair[]>([{ key: "", value: "" }]);
  const [secrets, setSecrets] = useState<Pair[]>([{ key: "", value: "" }]);
  useEffect(() => {
    if (outcome) refetch({ requestPolicy: "network-only" });
  }, [outcome, refetch]);
  const toObject = (ps: Pair[]) => Object.fromEntries(ps.filter((p) => p.key).map((p) => [p.key, p.value]));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const o = await propose("policykitaddintegration", {
      platform, external_id: externalId || undefined, name: name || undefined,
      settings: toObject(settings), secrets: toObject(secrets),
    });
    if (o) setSecrets([{ key: "", value: "" }]); // a secret is not kept in the page once sent
  };
  const platforms = data?.community?.platforms ?? [];
  return (
    <section>
      <CommunityNav id={communityId} name={data?.community?.name} />
      <h1>Integrations</h1>
      <ErrorLine error={error} />
      <table data-testid="platforms">
        <thead><tr><th>Platform</th><th>Id</th><th>Settings</th><th>Secrets</th><th>Hook address</th><th>State</th><th></th></tr></thead>
        <tbody>
          {platforms.map((p) => (
            <tr key={p.name}>
              <td>{p.displayName || p.name} <span className="muted">{p.name}</span></td>
              <td>{p.externalId}</td>
              <td><code>{p.settingsJSON}</code></td>
              <td>{p.secretNames.join(", ")}</td>
              <td data-testid={`hook-${p.name}`}>
                {p.hookURL ? (
                  <>
                    <code className="data">{p.hookURL}</code>
                    <br />
                    <span className="muted">
                      {p.secretNames.includes("webhook_secret")
                        ? "Signed with its webhook_secret."
                        : "Needs the secret webhook_secret (connect again with it) before it accepts events."}
                    </span>
                  </>
                ) : <span className="muted">—</span>}
              </td>
              <td>{p.active ? `connected ${when(p.connectedAt)}` : "disconnected"}</td>
              <td>
                {p.active && p.name !== "web" && (
                  <button type="button" className="secondary small" onClick={() => propose("policykitremoveintegration", { platform: p.name })}>Propose disconnecting</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {(data?.installLinks.length ?? 0) > 0 && (
        <>
          <h2>Install</h2>
          <p className="muted">Adding PolicyKit's app or bot to a workspace or server connects it (or creates its community).</p>
          <ul className="list" data-testid="install-links">
            {data!.installLinks.map((l) => <li key={l.platform}><a href={l.url}>Install on {l.platform}</a></li>)}
          </ul>
        </>
      )}
      <h2>Connect a platform</h2>
      <form onSubmit={submit} aria-label="Connect a platform">
        <label>Platform <input name="platform" required value={platform} onChange={(e) => setPlatform(e.target.value)} placeholder="slack, discord, opencollective…" /></label>
        <label>Its id there <input name="external_id" value={externalId} onChange={(e) => setExternalId(e.target.value)} /></label>
        <label>Name <input name="displayname" value={name} onChange={(e) => setName(e.target.value)} /></label>
        <Pairs legend="Settings" pairs={settings} onChange={setSettings} secret={false} name="settings" />
        <Pairs legend="Secrets (write-only)" pairs={secrets} onChange={setSecrets} secret name="secrets" />
        <button type="submit" disabled={busy}>Propose connecting</button>
      </form>
      <OutcomeView outcome={outcome} problem={problem} />
    </section>
  );
}

