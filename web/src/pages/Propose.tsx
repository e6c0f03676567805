import { useState, type FormEvent } from "react";
import { CommunityNav, OutcomeView, useProposeConstitution } from "../components";
import { constitutionTypes } from "../constitution";

// Proposing any constitution action by type with its payload as JSON; the other pages
// propose the common ones through forms.
export function Propose({ communityId }: { communityId: string }) {
  const [type, setType] = useState("policykitaddcommunitydoc");
  const [payload, setPayload] = useState(JSON.stringify(constitutionTypes[type], null, 2));
  const [bad, setBad] = useState("");
  const { propose, busy, outcome, problem } = useProposeConstitution(communityId);
  const choose = (t: string) => {
    setType(t);
    setPayload(JSON.stringify(constitutionTypes[t], null, 2));
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let value: unknown;
    try {
      value = JSON.parse(payload);
      setBad("");
    } catch (err) {
      return setBad(`The payload is not JSON: ${(err as Error).message}`);
    }
    await propose(type, value);
  };
  return (
    <section>
      <CommunityNav id={communityId} />
      <h1>Propose a constitution action</h1>
      <form onSubmit={submit} aria-label="Propose a constitution action">
        <label>
          Action
          <select value={type} onChange={(e) => choose(e.target.value)} name="type">
            {Object.keys(constitutionTypes).map((t) => <option key={t}>{t}</option>)}
          </select>
        </label>
        <label>
          Payload (JSON)
          <textarea name="payload" rows={12} className="mono" value={payload} onChange={(e) => setPayload(e.target.value)} />
        </label>
        {bad && <p role="alert" className="error">{bad}</p>}
        <button type="submit" disabled={busy}>Propose</button>
      </form>
      <OutcomeView outcome={outcome} problem={problem} />
    </section>
  );
}
