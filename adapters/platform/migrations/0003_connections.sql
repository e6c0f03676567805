-- A connection's settings and its sealed secrets (community.platform_connected), so that an
-- adapter verifies a community's webhooks and calls its platform without the engine's tables.
ALTER TABLE platform_directory_platforms
    ADD COLUMN settings jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN secrets  jsonb NOT NULL DEFAULT '{}';
