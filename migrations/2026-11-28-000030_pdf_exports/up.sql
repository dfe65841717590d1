-- Dashboard PDFs made in the background: a long period's PDF runs many stats queries, so a
-- worker job makes it while the dashboard shows its progress (queries done of all), then
-- offers the file. The PDF is kept in the row (a few kilobytes), so the server that offers it
-- need not share a disk with the worker that made it; rows go after seven days.
CREATE TABLE pdf_exports (
    org_id uuid NOT NULL,
    export_id uuid NOT NULL,
    project_id uuid NOT NULL,
    requested_by uuid REFERENCES users (id) ON DELETE SET NULL,
    period_from date NOT NULL,
    period_to date NOT NULL CHECK (period_to >= period_from),
    paper text NOT NULL CHECK (paper IN ('a4', 'letter')),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'ready', 'failed')),
    steps_done integer NOT NULL DEFAULT 0 CHECK (steps_done >= 0),
    steps_total integer NOT NULL DEFAULT 0 CHECK (steps_total >= 0),
    body bytea,
    error text CHECK (length(error) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (org_id, export_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE,
    CHECK ((status = 'ready') = (body IS NOT NULL))
);
COMMENT ON TABLE pdf_exports IS 'Dashboard PDFs made by a worker job: the period and paper asked for, progress, and the finished file.';
CREATE INDEX pdf_exports_by_age ON pdf_exports (org_id, created_at);

ALTER TABLE pdf_exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE pdf_exports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdf_exports
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
