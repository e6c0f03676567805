-- A platform connection's settings (its non-secret configuration, a JSON object of strings)
-- and the names of its secrets. The secrets themselves, sealed in the log, are kept in no
-- read model: the names are enough to show what a connection has.
ALTER TABLE community_platforms
    ADD COLUMN settings jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN secret_names text[] NOT NULL DEFAULT '{}';

-- Connections made before these columns existed may have had settings and secrets: the
-- communities projector's tables are emptied and its checkpoint removed, so that it
-- rebuilds them from the start of the log on the next run (the others resume where they
-- were).
TRUNCATE communities, community_platforms, community_users, user_identities;
DELETE FROM projection_checkpoints WHERE name = 'communities';
DELETE FROM projection_failures WHERE projector = 'communities';

-- Actions that connect a platform were kept with their fields as proposed, sealed secrets
-- included: they keep only the secrets' names now, as the actions projector writes them.
UPDATE actions SET fields = jsonb_set(fields, '{secrets}',
        (SELECT coalesce(jsonb_object_agg(k, to_jsonb('********'::text)), '{}'::jsonb) FROM jsonb_object_keys(fields->'secrets') AS k))
    WHERE type = 'policykitaddintegration' AND jsonb_typeof(fields->'secrets') = 'object';
