-- Rows that a community owns under an id the community's own stream gives out (policies,
-- their versions, documents, users and identity links) are keyed by community and id. Ids of
-- that kind are unique within one community only: the community's aggregate checks them,
-- and nothing checks them across communities. Keyed by id alone, a second community using
-- the same id overwrote the first one's row (or, for policy_versions, failed the batch).
--
-- Rows keyed by the id of a stream of their own (actions, proposals, effects, votes,
-- evaluation logs) stay as they are: the event store keeps stream names unique across
-- every community.
--
-- The tables may already hold rows that another community overwrote, so they are emptied
-- and their projectors' checkpoints removed: those projectors rebuild them from the start
-- of the log on the next run, while the others resume where they were.

TRUNCATE policies, policy_versions, documents, community_users, user_identities,
    communities, community_platforms;
DELETE FROM projection_checkpoints WHERE name IN ('policies', 'documents', 'communities');

ALTER TABLE policies DROP CONSTRAINT policies_pkey, ADD PRIMARY KEY (community_id, id);

DROP INDEX policy_versions_history;
CREATE UNIQUE INDEX policy_versions_history ON policy_versions (community_id, policy_id, stream_version);

ALTER TABLE documents DROP CONSTRAINT documents_pkey, ADD PRIMARY KEY (community_id, id);
DROP INDEX documents_community; -- the primary key leads with community_id

ALTER TABLE community_users DROP CONSTRAINT community_users_pkey, ADD PRIMARY KEY (community_id, id);

ALTER TABLE user_identities DROP CONSTRAINT user_identities_pkey, ADD PRIMARY KEY (community_id, user_id, linked_user_id);
