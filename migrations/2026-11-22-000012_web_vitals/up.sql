-- Core Web Vitals from the tracker's optional extension (/js/vitals.js, Google's web-vitals):
-- one row per metric per pageview, with the page, device class and country it was measured on.
CREATE TABLE web_vitals (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    vital_id uuid NOT NULL,
    ts timestamptz NOT NULL DEFAULT now(),
    metric text NOT NULL CHECK (metric IN ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')),
    value double precision NOT NULL CHECK (value >= 0),
    rating text NOT NULL CHECK (rating IN ('good', 'needs-improvement', 'poor')),
    pathname text NOT NULL,
    device text,
    country text,
    navigation_type text,
    attribution jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (org_id, project_id, ts, vital_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE web_vitals IS 'Core Web Vitals samples (ms, CLS unitless), rated by Google''s thresholds.';
CREATE INDEX web_vitals_by_metric ON web_vitals (org_id, project_id, metric, ts);

ALTER TABLE web_vitals ENABLE ROW LEVEL SECURITY;
ALTER TABLE web_vitals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON web_vitals
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
GRANT SELECT, DELETE ON web_vitals TO beacon_sweeper;
CREATE POLICY sweep_all ON web_vitals TO beacon_sweeper USING (true);
