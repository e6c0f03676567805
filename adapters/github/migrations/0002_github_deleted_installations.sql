-- Installations deleted on GitHub (the App uninstalled): never acted as again, even where a
-- community's connection still names one. A new install has a new id.
CREATE TABLE github_deleted_installations (
    installation_id bigint PRIMARY KEY,
    owner           text NOT NULL,
    deleted_at      timestamptz NOT NULL DEFAULT now()
);
