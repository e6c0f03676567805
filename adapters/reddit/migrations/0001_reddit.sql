-- Where the polling of each subreddit's new posts stands: the newest post seen.
CREATE TABLE reddit_cursors (
    subreddit text PRIMARY KEY,
    newest    text NOT NULL
);

-- The vote comments the adapter posted: replies "+1" and "-1" to them are votes until the
-- proposal is decided. cast is each user's reply last sent as a vote.
CREATE TABLE reddit_votes (
    comment      text PRIMARY KEY,
    article      text NOT NULL,
    subreddit    text NOT NULL,
    community_id text NOT NULL,
    proposal_id  text NOT NULL,
    users        jsonb NOT NULL DEFAULT '[]',
    cast_votes   jsonb NOT NULL DEFAULT '{}',
    closed       boolean NOT NULL DEFAULT false
);
