-- Read models. Every table here is a cache of the event log, rebuilt by `policykit replay`.

CREATE TABLE projection_checkpoints (
    name       text PRIMARY KEY,
    commit_id  bigint NOT NULL,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE communities (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE community_platforms (
    community_id text NOT NULL,
    platform     text NOT NULL,
    external_id  text NOT NULL DEFAULT '',
    name         text NOT NULL DEFAULT '',
    active       boolean NOT NULL,
    connected_at timestamptz NOT NULL,
    PRIMARY KEY (community_id, platform)
);

CREATE TABLE community_users (
    id            text PRIMARY KEY,
    community_id  text NOT NULL,
    platform      text NOT NULL,
    username      text NOT NULL,
    readable_name text NOT NULL DEFAULT '',
    is_admin      boolean NOT NULL DEFAULT false,
    avatar        text NOT NULL DEFAULT '',
    joined_at     timestamptz NOT NULL
);
CREATE INDEX community_users_community ON community_users (community_id, platform, username);

CREATE TABLE user_identities (
    community_id   text NOT NULL,
    user_id        text NOT NULL,
    linked_user_id text NOT NULL,
    PRIMARY KEY (user_id, linked_user_id)
);

CREATE TABLE roles (
    community_id text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    is_base      boolean NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (community_id, name)
);

CREATE TABLE role_permissions (
    community_id text NOT NULL,
    role         text NOT NULL,
    permission   text NOT NULL,
    PRIMARY KEY (community_id, role, permission)
);

CREATE TABLE user_roles (
    community_id text NOT NULL,
    user_id      text NOT NULL,
    role         text NOT NULL,
    assigned_at  timestamptz NOT NULL,
    PRIMARY KEY (community_id, user_id, role)
);

CREATE TABLE documents (
    id           text PRIMARY KEY,
    community_id text NOT NULL,
    name         text NOT NULL,
    text         text NOT NULL,
    active       boolean NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX documents_community ON documents (community_id);

CREATE TABLE policies (
    id           text PRIMARY KEY,
    community_id text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    kind         text NOT NULL,
    action_types text[] NOT NULL DEFAULT '{}',
    code         jsonb NOT NULL,
    variables    jsonb NOT NULL DEFAULT '[]',
    active       boolean NOT NULL,
    priority     int NOT NULL DEFAULT 0,
    hash         text NOT NULL,
    version      int NOT NULL,
    modified_at  timestamptz NOT NULL
);
CREATE INDEX policies_community ON policies (community_id, kind);

CREATE TABLE policy_versions (
    policy_id    text NOT NULL,
    version      int NOT NULL,
    community_id text NOT NULL,
    hash         text NOT NULL,
    content      jsonb NOT NULL,
    change       text NOT NULL,
    changed_at   timestamptz NOT NULL,
    event_id     uuid NOT NULL,
    PRIMARY KEY (policy_id, version)
);

CREATE TABLE actions (
    id           text PRIMARY KEY,
    community_id text NOT NULL,
    kind         text NOT NULL,
    type         text NOT NULL,
    platform     text NOT NULL,
    initiator_id text NOT NULL DEFAULT '',
    fields       jsonb NOT NULL DEFAULT '{}',
    reversible   boolean NOT NULL DEFAULT false,
    status       text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    proposed_at  timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX actions_community ON actions (community_id, proposed_at DESC);

CREATE TABLE proposals (
    id            text PRIMARY KEY,
    community_id  text NOT NULL,
    action_id     text NOT NULL,
    action_type   text NOT NULL,
    action_kind   text NOT NULL,
    initiator_id  text NOT NULL DEFAULT '',
    policy_id     text NOT NULL,
    policy_hash   text NOT NULL,
    status        text NOT NULL,
    proposal_time timestamptz NOT NULL,
    decided_at    timestamptz,
    vote_post_id  text NOT NULL DEFAULT '',
    vote_url      text NOT NULL DEFAULT '',
    vote_closed   boolean NOT NULL DEFAULT false,
    variables     jsonb NOT NULL DEFAULT '{}',
    data          jsonb NOT NULL DEFAULT '{}',
    next_check_at timestamptz,
    yes_votes     int NOT NULL DEFAULT 0,
    no_votes      int NOT NULL DEFAULT 0,
    vote_count    int NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX proposals_community_time ON proposals (community_id, proposal_time DESC, id DESC);
CREATE INDEX proposals_community_status ON proposals (community_id, status, proposal_time DESC);
CREATE INDEX proposals_action ON proposals (action_id);

CREATE TABLE votes (
    proposal_id   text NOT NULL,
    user_id       text NOT NULL,
    community_id  text NOT NULL,
    username      text NOT NULL DEFAULT '',
    kind          text NOT NULL,
    boolean_value boolean,
    choice        text,
    number_value  bigint,
    cast_at       timestamptz NOT NULL,
    PRIMARY KEY (proposal_id, user_id)
);

CREATE TABLE vote_history (
    event_id      uuid PRIMARY KEY,
    proposal_id   text NOT NULL,
    user_id       text NOT NULL,
    kind          text NOT NULL,
    boolean_value boolean,
    choice        text,
    number_value  bigint,
    cast_at       timestamptz NOT NULL
);
CREATE INDEX vote_history_proposal ON vote_history (proposal_id, cast_at);

CREATE TABLE effects (
    id              text PRIMARY KEY,
    proposal_id     text NOT NULL DEFAULT '',
    action_id       text NOT NULL DEFAULT '',
    community_id    text NOT NULL,
    idempotency_key text NOT NULL,
    platform        text NOT NULL,
    method          text NOT NULL,
    purpose         text NOT NULL,
    args            jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL,
    result          jsonb,
    error           text NOT NULL DEFAULT '',
    requested_at    timestamptz NOT NULL,
    finished_at     timestamptz
);
CREATE INDEX effects_proposal ON effects (proposal_id);
CREATE INDEX effects_pending ON effects (platform, status);

CREATE TABLE evaluation_logs (
    event_id     uuid PRIMARY KEY,
    proposal_id  text NOT NULL,
    community_id text NOT NULL,
    block        text NOT NULL,
    status       text NOT NULL DEFAULT '',
    error        text NOT NULL DEFAULT '',
    logs         jsonb NOT NULL DEFAULT '[]',
    evaluated_at timestamptz NOT NULL
);
CREATE INDEX evaluation_logs_proposal ON evaluation_logs (proposal_id, evaluated_at);
