import { useEffect, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { graphql } from "../gql";
import type { LogEventFragment } from "../gql/graphql";
import { CommunityNav, ErrorLine, when } from "../components";

graphql(`
  fragment LogEvent on Event { id position stream version type recordedAt dataJSON }
`);
const EventsDoc = graphql(`
  query Events($id: ID!, $after: String) {
    community(id: $id) { id name events(first: 100, after: $after) { edges { node { ...LogEvent } } pageInfo { hasNextPage endCursor } } }
  }
`);
const LiveEventsDoc = graphql(`
  subscription LiveEvents($id: ID!) { communityEvents(communityId: $id) { ...LogEvent } }
`);

// The community's event log, page by page from the start, with new events appended live.
export function LogsPage({ communityId }: { communityId: string }) {
  const [after, setAfter] = useState<string | null>(null);
  const [events, setEvents] = useState<LogEventFragment[]>([]);
  const [{ data, error }] = useQuery({ query: EventsDoc, variables: { id: communityId, after } });
  useEffect(() => {
    const page = data?.community?.events.edges.map((e) => e.node) ?? [];
    setEvents((old) => merge(old, page));
  }, [data]);
  const [live] = useSubscription({ query: LiveEventsDoc, variables: { id: communityId } });
  useEffect(() => {
    if (live.data) setEvents((old) => merge(old, [live.data!.communityEvents]));
  }, [live.data]);
  const info = data?.community?.events.pageInfo;
  return (
    <section>
      <CommunityNav id={communityId} name={data?.community?.name} />
      <h1>Event log</h1>
      <ErrorLine error={error} />
      <p className="muted" role="status">{events.length} events{live.data ? ", live" : ""}</p>
      <table data-testid="events">
        <thead><tr><th>Position</th><th>Type</th><th>Stream</th><th>Recorded</th><th>Data</th></tr></thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id}><td><code>{e.position}</code></td><td>{e.type}</td><td>{e.stream}@{e.version}</td><td>{when(e.recordedAt)}</td><td><code className="data">{e.dataJSON}</code></td></tr>
          ))}
        </tbody>
      </table>
      {info?.hasNextPage && <button type="button" onClick={() => setAfter(info.endCursor ?? null)}>More</button>}
    </section>
  );
}

function merge(old: LogEventFragment[], add: LogEventFragment[]): LogEventFragment[] {
  const seen = new Set(old.map((e) => e.id));
  return [...old, ...add.filter((e) => !seen.has(e.id))];
}
