import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import { errorText } from "../client";
import { navigate } from "../router";

const KitsDoc = graphql(`
  query StarterKits {
    starterKits { name description roles policies }
  }
`);
const CreateDoc = graphql(`
  mutation CreateCommunity($input: CreateCommunityInput!) {
    createCommunity(input: $input) { id name }
  }
`);

// Creating a community on PolicyKit's web platform with a starter kit: each kit is described
// by what it sets up (its roles and policies), then the onboarding takes over.
export function NewCommunity() {
  const [{ data, error }] = useQuery({ query: KitsDoc });
  const [name, setName] = useState("");
  const [kit, setKit] = useState("");
  const [problem, setProblem] = useState("");
  const [state, create] = useMutation(CreateDoc);
  const chosen = kit || data?.starterKits[0]?.name || "";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem("");
    const r = await create({ input: { name, kit: chosen || undefined } });
    if (r.error || !r.data) return setProblem(errorText(r.error));
    // A fresh page: the new membership is part of the session's account from now on.
    location.assign(`/c/${encodeURIComponent(r.data.createCommunity.id)}/welcome`);
  };

  return (
    <section>
      <h1>Create a community</h1>
      {error && <p role="alert" className="error">{errorText(error)}</p>}
      <form onSubmit={submit} aria-label="Create a community">
        <label>
          Name
          <input name="name" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <fieldset>
          <legend>Starter kit</legend>
          <div className="kits">
            {data?.starterKits.map((k) => (
              <label key={k.name} className={`kit card ${chosen === k.name ? "chosen" : ""}`}>
                <input type="radio" name="kit" value={k.name} checked={chosen === k.name} onChange={() => setKit(k.name)} />
                <strong>{k.name}</strong>
                <span>{k.description}</span>
                <span className="muted">Roles: {k.roles.join(", ") || "none"}</span>
                <span className="muted">Policies: {k.policies.join(", ") || "none"}</span>
              </label>
            ))}
          </div>
        </fieldset>
        {problem && <p role="alert" className="error">{problem}</p>}
        <button type="submit" disabled={state.fetching || !name}>Create</button>
        <button type="button" className="secondary" onClick={() => navigate("/")}>Cancel</button>
      </form>
    </section>
  );
}
