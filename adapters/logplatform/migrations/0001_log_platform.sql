-- What the log platform performed: one row per effect, however often it was requested.
CREATE TABLE log_platform_effects (
    idempotency_key text PRIMARY KEY,
    seq             bigserial NOT NULL,
    effect_id       text NOT NULL,
    community_id    text NOT NULL,
    proposal_id     text NOT NULL DEFAULT '',
    action_id       text NOT NULL DEFAULT '',
    platform        text NOT NULL,
    method          text NOT NULL,
    purpose         text NOT NULL,
    args            jsonb NOT NULL DEFAULT '{}',
    result          jsonb NOT NULL,
    performed_at    timestamptz NOT NULL DEFAULT now()
);
