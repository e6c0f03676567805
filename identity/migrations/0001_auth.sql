-- Identity and access of the GraphQL API. Accounts are identity, not governance: plain
-- tables, not events. Secrets are stored as hashes only (bcrypt for passwords, SHA-256 for
-- API tokens and session ids, which are random 256-bit values).

CREATE TABLE auth_accounts (
    id            text PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

-- Which community user an account acts as: one per community, and one account per user.
CREATE TABLE auth_account_members (
    account_id   text NOT NULL REFERENCES auth_accounts (id) ON DELETE CASCADE,
    community_id text NOT NULL,
    user_id      text NOT NULL,
    linked_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, community_id),
    UNIQUE (community_id, user_id)
);

CREATE TABLE auth_api_tokens (
    id         text PRIMARY KEY,
    account_id text NOT NULL REFERENCES auth_accounts (id) ON DELETE CASCADE,
    name       text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX auth_api_tokens_account ON auth_api_tokens (account_id, created_at);

CREATE TABLE auth_sessions (
    id         text PRIMARY KEY, -- SHA-256 of the cookie's value
    account_id text NOT NULL REFERENCES auth_accounts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX auth_sessions_account ON auth_sessions (account_id);
