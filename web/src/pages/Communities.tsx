import { useQuery } from "urql";
import { graphql } from "../gql";
import { errorText } from "../client";
import { Link } from "../router";
import { useMe } from "../session";

const CommunitiesDoc = graphql(`
  query Communities {
    communities { id name createdAt platforms { name active } }
  }
`);

// The signed-in member's communities: where sign-in (local or with Slack) lands.
export function Communities() {
  const me = useMe();
  const [{ data, error }] = useQuery({ query: CommunitiesDoc });
  return (
    <section>
      <h1>Your communities</h1>
      {error && <p role="alert" className="error">{errorText(error)}</p>}
      {data && data.communities.length === 0 && (
        <p>{me.username}, you are not a member of any community yet.</p>
      )}
      <ul className="cards" aria-label="Communities">
        {data?.communities.map((c) => (
          <li key={c.id} className="card">
            <Link to={`/c/${encodeURIComponent(c.id)}`}><strong>{c.name}</strong></Link>
            <span className="muted">
              {c.platforms.filter((p) => p.active).map((p) => p.name).join(", ") || "no platform"}
            </span>
          </li>
        ))}
      </ul>
      <p><Link to="/new" className="button">Create a community</Link></p>
    </section>
  );
}
