-- The user token of the member who installed the app in each workspace, AES-256-GCM
-- encrypted ("user:" and the team id are the additional data). Only it may delete other
-- members' messages; bots may not.
CREATE TABLE slack_user_tokens (
    team_id    text PRIMARY KEY,
    nonce      bytea NOT NULL,
    ciphertext bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
