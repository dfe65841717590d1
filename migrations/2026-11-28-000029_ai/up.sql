-- AI insights (weekly highlights, error explanations, Web Vitals hints).
--
-- Off until an owner switches them on: nothing leaves Beacon for an organization without a row
-- here saying `enabled`. Each organization has a monthly token budget; every answer's tokens
-- are counted per month and feature, and answers are kept per hash of their exact input, so
-- the same question about the same figures is answered once.
CREATE TABLE ai_settings (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    enabled boolean NOT NULL DEFAULT false,
    monthly_token_budget bigint NOT NULL DEFAULT 1000000
        CHECK (monthly_token_budget BETWEEN 1 AND 1000000000),
    updated_by uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id)
);
COMMENT ON TABLE ai_settings IS 'Whether an owner switched AI insights on, and the organization''s monthly token budget.';

CREATE TABLE ai_usage (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    month date NOT NULL CHECK (extract(day FROM month) = 1),
    feature text NOT NULL CHECK (feature IN ('highlights', 'issue_explanation', 'vitals_hints')),
    requests bigint NOT NULL DEFAULT 0,
    prompt_tokens bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, month, feature)
);
COMMENT ON TABLE ai_usage IS 'Tokens the AI endpoint counted, per organization, calendar month (UTC) and feature.';

CREATE TABLE ai_answers (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    input_hash text NOT NULL CHECK (length(input_hash) = 64),
    -- The project the answer is about: its figures go with it.
    project_id uuid NOT NULL,
    feature text NOT NULL CHECK (feature IN ('highlights', 'issue_explanation', 'vitals_hints')),
    model text NOT NULL,
    answer text NOT NULL,
    facts jsonb NOT NULL,
    prompt_tokens bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, input_hash),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE ai_answers IS 'AI answers by the SHA-256 of their model and prompt: the cache, and what each answer was based on.';
CREATE INDEX ai_answers_by_age ON ai_answers (org_id, created_at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ai_settings', 'ai_usage', 'ai_answers'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org())', t);
    END LOOP;
END $$;
