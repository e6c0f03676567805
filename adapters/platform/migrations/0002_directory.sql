-- The directory adapters keep from the events on the bus (community.platform_connected and
-- _disconnected, community.user_registered and _profile_updated, proposal.opened, .passed and
-- .failed), so that they never read the engine's read models. position is the event's global
-- position: a redelivered older event changes nothing.
CREATE TABLE platform_directory_platforms (
    community_id text NOT NULL,
    platform     text NOT NULL,
    external_id  text NOT NULL,
    active       boolean NOT NULL,
    position     bigint NOT NULL,
    PRIMARY KEY (community_id, platform)
);
CREATE INDEX platform_directory_platforms_external ON platform_directory_platforms (platform, external_id);

CREATE TABLE platform_directory_users (
    community_id text NOT NULL,
    user_id      text NOT NULL,
    platform     text NOT NULL,
    username     text NOT NULL,
    position     bigint NOT NULL,
    PRIMARY KEY (community_id, user_id)
);
CREATE INDEX platform_directory_users_name ON platform_directory_users (community_id, platform, username);

CREATE TABLE platform_directory_proposals (
    community_id text NOT NULL,
    proposal_id  text NOT NULL,
    status       text NOT NULL,
    position     bigint NOT NULL,
    PRIMARY KEY (community_id, proposal_id)
);

-- How far each directory caught up with the log (eventstore.Position's text).
CREATE TABLE platform_directory_checkpoints (
    name     text PRIMARY KEY,
    position text NOT NULL
);
