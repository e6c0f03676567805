-- What each platform adapter performed: one row per effect, however often it was requested.
CREATE TABLE platform_effects (
    platform        text NOT NULL,
    idempotency_key text NOT NULL,
    effect_id       text NOT NULL,
    community_id    text NOT NULL,
    method          text NOT NULL,
    purpose         text NOT NULL,
    result          jsonb NOT NULL,
    performed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, idempotency_key)
);

-- Effects being performed: an attempt claims the key before it calls the platform, so that a
-- delivery of the same request meanwhile waits for its result instead of calling again. A
-- claim expires (on the database's clock), so that one left by a crash is taken over.
CREATE TABLE platform_effect_claims (
    platform        text NOT NULL,
    idempotency_key text NOT NULL,
    holder          text NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (platform, idempotency_key)
);

-- Secrets (tokens, webhook secrets), AES-256-GCM encrypted; the platform and the name are the
-- additional data, so that a ciphertext moved to another row does not decrypt.
CREATE TABLE platform_secrets (
    platform   text NOT NULL,
    name       text NOT NULL,
    nonce      bytea NOT NULL,
    ciphertext bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, name)
);

-- Platform events already handled (platforms deliver again what they think failed).
CREATE TABLE platform_seen_events (
    platform text NOT NULL,
    scope    text NOT NULL,
    event_id text NOT NULL,
    seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, scope, event_id)
);

-- OAuth states already used: a state opens one callback only.
CREATE TABLE platform_oauth_nonces (
    nonce      text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
