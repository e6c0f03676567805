-- Effects being performed: an attempt claims the idempotency key before it calls Slack, so
-- that a delivery of the same request meanwhile (a redelivery after the bus's ack timeout)
-- waits for its result instead of calling Slack again. A claim expires, so that one left by
-- an attempt that crashed is taken over; the result itself goes to slack_effects.
CREATE TABLE slack_effect_claims (
    idempotency_key text PRIMARY KEY,
    holder          text NOT NULL,
    expires_at      timestamptz NOT NULL
);
