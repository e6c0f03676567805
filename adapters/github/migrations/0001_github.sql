-- The vote issues the adapter opened: their reactions are read back as votes until the
-- proposal is decided. cast is each login's reaction last sent as a vote.
CREATE TABLE github_votes (
    owner        text NOT NULL,
    repo         text NOT NULL,
    number       bigint NOT NULL,
    community_id text NOT NULL,
    proposal_id  text NOT NULL,
    users        jsonb NOT NULL DEFAULT '[]',
    cast_votes   jsonb NOT NULL DEFAULT '{}',
    closed       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (owner, repo, number)
);
CREATE INDEX github_votes_open ON github_votes (closed) WHERE NOT closed;

-- The App's installations by account: which installation's token acts for an owner, and
-- who installed it (the installation event's sender).
CREATE TABLE github_installations (
    owner           text PRIMARY KEY,
    installation_id bigint NOT NULL,
    installer       text NOT NULL DEFAULT ''
);
