-- Read models. Every table here is a cache of the event log, rebuilt by `policykit replay`.
-- Each table belongs to exactly one projector (see Tables() in projections/*.go); a projector
-- reads and writes only its own tables, so projectors can be at different checkpoints.
-- Every value comes from the events (their time, ids and positions), never from now() or
-- random(), so that a replay rebuilds identical rows.
--
-- Tables whose rows are updated many times (proposals, actions, effects, votes) leave room
-- in their pages (fillfactor) so that updates that change no indexed column stay on the
-- page (HOT) and touch no index. Append-only histories are keyed by their stream and stream
-- version, which the event store keeps unique, so they need a single index.

CREATE TABLE projection_checkpoints (
    name       text PRIMARY KEY,
    commit_id  bigint NOT NULL,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL
);

-- projector "communities" ----------------------------------------------------------------

CREATE TABLE communities (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE community_platforms (
    community_id    text NOT NULL,
    platform        text NOT NULL,
    external_id     text NOT NULL DEFAULT '',
    name            text NOT NULL DEFAULT '',
    active          boolean NOT NULL,
    connected_at    timestamptz NOT NULL,
    disconnected_at timestamptz,
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
    joined_at     timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX community_users_community ON community_users (community_id, platform, username);

-- Identity links are symmetric: linking a and b stores (a, b) and (b, a).
CREATE TABLE user_identities (
    community_id   text NOT NULL,
    user_id        text NOT NULL,
    linked_user_id text NOT NULL,
    linked_at      timestamptz NOT NULL,
    PRIMARY KEY (user_id, linked_user_id)
);

-- projector "roles" ----------------------------------------------------------------------

CREATE TABLE roles (
    community_id text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    is_base      boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (community_id, name)
);

CREATE TABLE role_permissions (
    community_id text NOT NULL,
    role         text NOT NULL,
    permission   text NOT NULL, -- "verb:actiontype", e.g. "propose:slackpostmessage"
    PRIMARY KEY (community_id, role, permission)
);

-- Roles given explicitly; base roles are implicit (every user holds them) and not listed.
CREATE TABLE user_roles (
    community_id text NOT NULL,
    user_id      text NOT NULL,
    role         text NOT NULL,
    assigned_at  timestamptz NOT NULL,
    PRIMARY KEY (community_id, user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (community_id, role);

-- projector "documents" ------------------------------------------------------------------

CREATE TABLE documents (
    id           text PRIMARY KEY,
    community_id text NOT NULL,
    name         text NOT NULL,
    text         text NOT NULL,
    active       boolean NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX documents_community ON documents (community_id);

-- projector "policies" -------------------------------------------------------------------

-- The current version of each policy, removed ones included (active = false).
CREATE TABLE policies (
    id           text PRIMARY KEY,
    community_id text NOT NULL,
    kind         text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    action_types text[] NOT NULL DEFAULT '{}',
    code         jsonb NOT NULL,
    variables    jsonb NOT NULL DEFAULT '[]',
    priority     int NOT NULL DEFAULT 0,
    active       boolean NOT NULL,
    hash         text NOT NULL,
    version      int NOT NULL,
    created_at   timestamptz NOT NULL,
    modified_at  timestamptz NOT NULL
);
CREATE INDEX policies_community ON policies (community_id, kind);

-- One row per policy event: every content version (added, changed) with its whole content,
-- and every removal and recovery (with the content that was current then). version is the
-- policy's content version after the event; stream_version orders a policy's history.
CREATE TABLE policy_versions (
    event_id       uuid PRIMARY KEY,
    policy_id      text NOT NULL,
    community_id   text NOT NULL,
    stream_version bigint NOT NULL,
    version        int NOT NULL,
    change         text NOT NULL, -- added, changed, removed, recovered
    active         boolean NOT NULL,
    hash           text NOT NULL,
    content        jsonb NOT NULL, -- domain.PolicySpec as JSON
    changed_at     timestamptz NOT NULL,
    action_id      text NOT NULL DEFAULT '' -- the constitution action that made the change
);
CREATE UNIQUE INDEX policy_versions_history ON policy_versions (policy_id, stream_version);

-- projector "actions" --------------------------------------------------------------------

CREATE TABLE actions (
    id                    text PRIMARY KEY,
    community_id          text NOT NULL,
    kind                  text NOT NULL,
    type                  text NOT NULL,
    platform              text NOT NULL,
    initiator_id          text NOT NULL DEFAULT '',
    external_id           text NOT NULL DEFAULT '',
    fields                jsonb NOT NULL DEFAULT '{}',
    reversible            boolean NOT NULL DEFAULT false,
    -- proposed, governed (proposals open, no outcome yet), executed, rejected, reverted,
    -- execution_failed. A revert after a rejection leaves the status rejected (see reverted).
    status                text NOT NULL,
    reason                text NOT NULL DEFAULT '',
    proposal_ids          text[] NOT NULL DEFAULT '{}',
    governing_proposal_id text NOT NULL DEFAULT '',
    decided_by            text NOT NULL DEFAULT '', -- the proposal of the last outcome, if any
    proposed_at           timestamptz NOT NULL,
    decided_at            timestamptz,
    reverted              boolean NOT NULL DEFAULT false, -- undone on its platform
    reverted_at           timestamptz,
    -- Candidate policies whose filter failed: [{"policy_id", "policy_hash", "error", "at"}].
    filter_errors         jsonb NOT NULL DEFAULT '[]',
    updated_at            timestamptz NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX actions_community ON actions (community_id, proposed_at DESC, id DESC);

-- projector "proposals" ------------------------------------------------------------------

CREATE TABLE proposals (
    id                 text PRIMARY KEY,
    community_id       text NOT NULL,
    action_id          text NOT NULL,
    action_type        text NOT NULL,
    action_kind        text NOT NULL,
    initiator_id       text NOT NULL DEFAULT '',
    policy_id          text NOT NULL,
    policy_hash        text NOT NULL,
    policy_version     int NOT NULL,
    policy_kind        text NOT NULL,
    policy_name        text NOT NULL DEFAULT '',
    status             text NOT NULL, -- PROPOSED, PASSED, FAILED (as policies see it)
    reason             text NOT NULL DEFAULT '',
    proposal_time      timestamptz NOT NULL,
    decided_at         timestamptz,
    vote_post_id       text NOT NULL DEFAULT '',
    vote_url           text NOT NULL DEFAULT '',
    vote_closed        boolean NOT NULL DEFAULT false,
    notified           boolean NOT NULL DEFAULT false,
    variables          jsonb NOT NULL DEFAULT '{}',
    data               jsonb NOT NULL DEFAULT '{}',
    governance_process jsonb NOT NULL DEFAULT '{}',
    answers            jsonb NOT NULL DEFAULT '{}',
    next_check_at      timestamptz,
    -- Current votes: boolean yes, boolean no, and every kind.
    yes_votes          int NOT NULL DEFAULT 0,
    no_votes           int NOT NULL DEFAULT 0,
    vote_count         int NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL
) WITH (fillfactor = 60);
CREATE INDEX proposals_community_time ON proposals (community_id, proposal_time DESC, id DESC);
CREATE INDEX proposals_community_status ON proposals (community_id, status, proposal_time DESC);
CREATE INDEX proposals_action ON proposals (action_id);
CREATE INDEX proposals_due ON proposals (next_check_at) WHERE next_check_at IS NOT NULL;

-- The proposals projector's own record of each user's current vote (yes: true, false, or
-- NULL for a choice or number vote), from which it keeps the counts above. It is separate
-- from votes (projector "votes") so that the counts never depend on how far another
-- projector has got.
CREATE TABLE proposal_ballots (
    proposal_id text NOT NULL,
    user_id     text NOT NULL,
    yes         boolean,
    PRIMARY KEY (proposal_id, user_id)
) WITH (fillfactor = 80);

-- projector "votes" ----------------------------------------------------------------------

-- Each user's current vote on each proposal.
CREATE TABLE votes (
    proposal_id   text NOT NULL,
    user_id       text NOT NULL,
    community_id  text NOT NULL,
    username      text NOT NULL DEFAULT '',
    kind          text NOT NULL, -- boolean, choice, number
    boolean_value boolean,
    choice        text,
    number_value  bigint,
    cast_at       timestamptz NOT NULL,
    event_id      uuid NOT NULL, -- the VoteCast that cast it
    PRIMARY KEY (proposal_id, user_id)
) WITH (fillfactor = 80);

-- Every vote cast, revotes included, in the order of the proposal's stream.
CREATE TABLE vote_history (
    proposal_id    text NOT NULL,
    stream_version bigint NOT NULL,
    event_id       uuid NOT NULL,
    community_id   text NOT NULL,
    user_id        text NOT NULL,
    username       text NOT NULL DEFAULT '',
    kind           text NOT NULL,
    boolean_value  boolean,
    choice         text,
    number_value   bigint,
    cast_at        timestamptz NOT NULL,
    PRIMARY KEY (proposal_id, stream_version)
);

-- projector "effects" --------------------------------------------------------------------

-- Effects belong to the stream that requested them: a proposal's (policy effects, execute
-- and revert after a vote) or an action's (execute or revert without a proposal). Their ids
-- are unique within that stream, as in the aggregates.
CREATE TABLE effects (
    stream          text NOT NULL,
    id              text NOT NULL,
    proposal_id     text NOT NULL DEFAULT '', -- of a proposal stream
    action_id       text NOT NULL DEFAULT '', -- of an action stream
    community_id    text NOT NULL,
    idempotency_key text NOT NULL,
    platform        text NOT NULL,
    method          text NOT NULL,
    purpose         text NOT NULL, -- policy, execute, revert, query
    args            jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL, -- requested, completed, failed
    result          jsonb,
    error           text NOT NULL DEFAULT '',
    requested_at    timestamptz NOT NULL,
    finished_at     timestamptz,
    PRIMARY KEY (stream, id)
) WITH (fillfactor = 80);
CREATE INDEX effects_proposal ON effects (proposal_id) WHERE proposal_id <> '';
CREATE INDEX effects_action ON effects (action_id) WHERE action_id <> '';
CREATE INDEX effects_id ON effects (id);
CREATE INDEX effects_pending ON effects (platform, requested_at) WHERE status = 'requested';

-- projector "evaluation_logs" ------------------------------------------------------------

-- One row per recorded run of a policy block, in the order of the proposal's stream.
CREATE TABLE evaluation_logs (
    proposal_id    text NOT NULL,
    stream_version bigint NOT NULL,
    event_id       uuid NOT NULL,
    community_id   text NOT NULL,
    block          text NOT NULL, -- filter, initialize, check, notify, success, fail
    result         text NOT NULL DEFAULT '',
    error          text NOT NULL DEFAULT '',
    logs           jsonb NOT NULL DEFAULT '[]', -- [{"level": ..., "message": ...}]
    evaluated_at   timestamptz NOT NULL,
    PRIMARY KEY (proposal_id, stream_version)
);
