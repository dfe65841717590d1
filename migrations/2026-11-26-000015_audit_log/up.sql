-- The audit log: who changed what in an organization, written by the same transaction as the
-- change. Records form a hash chain per organization (each stores the SHA-256 of its own
-- content and its predecessor's hash), so an edited or deleted record breaks the chain at that
-- point. The application role may only INSERT and SELECT records: no UPDATE, DELETE or
-- TRUNCATE. Old segments leave only through beacon_audit_prune (retention), which keeps a
-- signed checkpoint (the last pruned record's sequence number and hash) so the remaining chain
-- still verifies from it.

CREATE TABLE audit_log (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    seq bigint NOT NULL CHECK (seq > 0),
    recorded_at timestamptz NOT NULL,
    actor text NOT NULL CHECK (actor ~ '^(user|api_key|scim_token|system|operator):[A-Za-z0-9_.:-]{1,100}$'),
    action text NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$' AND length(action) <= 80),
    target_type text NOT NULL CHECK (target_type ~ '^[a-z][a-z_]{0,39}$'),
    target_id text CHECK (length(target_id) BETWEEN 1 AND 2000),
    changes jsonb NOT NULL,
    request_id text CHECK (length(request_id) BETWEEN 1 AND 64),
    client_ip text CHECK (length(client_ip) BETWEEN 1 AND 45),
    user_agent text CHECK (length(user_agent) <= 512),
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (org_id, seq)
);
COMMENT ON TABLE audit_log IS 'Tamper-evident audit records, a SHA-256 hash chain per organization; INSERT and SELECT only for the application.';
COMMENT ON COLUMN audit_log.actor IS 'Who acted: user:<id>, api_key:<id>, scim_token:<id>, system:<job> or operator:<name>.';
COMMENT ON COLUMN audit_log.changes IS 'Changed fields as {"field": {"before": …, "after": …}}; secrets appear only as "changed".';
COMMENT ON COLUMN audit_log.client_ip IS 'The client IP of the request, kept only in audit records (see docs/privacy.md).';
CREATE INDEX audit_log_by_time ON audit_log (org_id, recorded_at);
CREATE INDEX audit_log_by_action ON audit_log (org_id, action, seq);
CREATE INDEX audit_log_by_actor ON audit_log (org_id, actor, seq);
CREATE INDEX audit_log_by_target ON audit_log (org_id, target_type, target_id, seq);

CREATE TABLE audit_heads (
    org_id uuid PRIMARY KEY REFERENCES organizations (org_id) ON DELETE CASCADE,
    seq bigint NOT NULL CHECK (seq >= 0),
    hash bytea NOT NULL CHECK (length(hash) = 32)
);
COMMENT ON TABLE audit_heads IS 'The newest record of each organization''s chain; appending locks this row, so records of one organization are written one at a time.';

CREATE TABLE audit_checkpoints (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    seq bigint NOT NULL CHECK (seq > 0),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    recorded_at timestamptz NOT NULL,
    signature bytea NOT NULL CHECK (length(signature) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, seq)
);
COMMENT ON TABLE audit_checkpoints IS 'The last record of a pruned segment (sequence number, hash, time), HMAC-signed: the remaining chain verifies from the newest checkpoint.';

CREATE TABLE audit_streams (
    org_id uuid PRIMARY KEY REFERENCES organizations (org_id) ON DELETE CASCADE,
    url text NOT NULL CHECK (url ~ '^https://' AND length(url) <= 2000),
    secret text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]{20,200}$'),
    enabled boolean NOT NULL DEFAULT true,
    delivered_seq bigint NOT NULL DEFAULT 0 CHECK (delivered_seq >= 0),
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    last_success_at timestamptz,
    last_status integer,
    last_error text CHECK (length(last_error) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE audit_streams IS 'Where an organization''s audit records are pushed (HTTPS, Standard Webhooks signatures), and how far delivery got.';

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['audit_log', 'audit_heads', 'audit_checkpoints', 'audit_streams'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = beacon_current_org()) '
                       'WITH CHECK (org_id = beacon_current_org())', t);
    END LOOP;
END $$;

-- Records and checkpoints are append-only for the application.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_checkpoints FROM beacon_app;

-- Retention: removes the records of `org` up to `upto` (inclusive) and keeps the last of them
-- as a checkpoint, signed by the caller (the key is the server's, never in the database).
-- Runs as the owner, for the organization of the caller's scope only.
CREATE FUNCTION beacon_audit_prune(upto bigint, signature bytea) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
DECLARE
    org uuid := beacon_current_org();
    last audit_log%ROWTYPE;
    removed bigint;
BEGIN
    IF org IS NULL THEN
        RAISE EXCEPTION 'beacon_audit_prune needs an organization scope';
    END IF;
    SELECT * INTO last FROM audit_log WHERE org_id = org AND seq = upto;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    INSERT INTO audit_checkpoints (org_id, seq, hash, recorded_at, signature)
        VALUES (org, last.seq, last.hash, last.recorded_at, signature);
    DELETE FROM audit_log WHERE org_id = org AND seq <= upto;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END $$;
REVOKE ALL ON FUNCTION beacon_audit_prune(bigint, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon_audit_prune(bigint, bytea) TO beacon_app;

-- The stream delivery job (as beacon_sweeper) finds the organizations whose stream is due,
-- seeing only these three columns (never a URL or secret); it then delivers each in that
-- organization's scope.
GRANT SELECT (org_id, enabled, next_attempt_at) ON audit_streams TO beacon_sweeper;
CREATE POLICY sweep_due ON audit_streams FOR SELECT TO beacon_sweeper USING (true);

-- Sweeping jobs and `beacon audit verify` find the organizations that have a chain from the
-- heads' ids alone; each chain is then read in its organization's scope.
GRANT SELECT (org_id) ON audit_heads TO beacon_sweeper;
CREATE POLICY sweep_ids ON audit_heads FOR SELECT TO beacon_sweeper USING (true);
