-- A community's evaluation logs across its proposals, newest first (the API's
-- Community.evaluationLogs): the primary key serves one proposal's runs only.
CREATE INDEX IF NOT EXISTS evaluation_logs_community_time
    ON evaluation_logs (community_id, evaluated_at DESC, proposal_id DESC, stream_version DESC);
