-- The effect ledger, its claims and the events handled move to the platform kit's tables
-- (platform_effects, platform_effect_claims, platform_seen_events), shared by every adapter.
-- What earlier versions recorded is copied, so that an upgraded adapter performs nothing
-- twice and handles no event again; the old tables are kept, unused, for a rollback.
INSERT INTO platform_effects (platform, idempotency_key, effect_id, community_id, method, purpose, result, performed_at)
    SELECT 'slack', idempotency_key, effect_id, community_id, method, purpose, result, performed_at FROM slack_effects
    ON CONFLICT DO NOTHING;
INSERT INTO platform_effect_claims (platform, idempotency_key, holder, expires_at)
    SELECT 'slack', idempotency_key, holder, expires_at FROM slack_effect_claims
    ON CONFLICT DO NOTHING;
INSERT INTO platform_seen_events (platform, scope, event_id, seen_at)
    SELECT 'slack', team_id, event_id, seen_at FROM slack_seen_events
    ON CONFLICT DO NOTHING;
