-- The vote messages the adapter posted, to turn button clicks into votes and to show the
-- result once the proposal is decided.
CREATE TABLE discord_votes (
    channel_id   text NOT NULL,
    message_id   text NOT NULL,
    guild_id     text NOT NULL,
    community_id text NOT NULL,
    proposal_id  text NOT NULL,
    kind         text NOT NULL,
    text         text NOT NULL DEFAULT '',
    options      jsonb NOT NULL DEFAULT '[]',
    users        jsonb NOT NULL DEFAULT '[]',
    closed       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (channel_id, message_id)
);
CREATE INDEX discord_votes_proposal ON discord_votes (community_id, proposal_id);

-- Changes the adapter itself is making (an execute or a revert), so that the Gateway event
-- they cause is not governed again: one row per expected event.
CREATE TABLE discord_expected (
    guild_id text NOT NULL,
    key      text NOT NULL,
    until    timestamptz NOT NULL,
    PRIMARY KEY (guild_id, key)
);
