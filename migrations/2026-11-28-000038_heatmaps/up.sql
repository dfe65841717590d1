-- Heatmaps: where visitors click on a page and how far they scroll, per page, viewport width
-- class (desktop, tablet, phone) and UTC day, added up as reports arrive (a rollup from the
-- start: no per-click rows are kept). Collected by `/js/replay.js` for every visitor of a
-- project that turns heatmaps on, with or without session replay.
ALTER TABLE projects ADD COLUMN heatmaps_enabled boolean NOT NULL DEFAULT false;

CREATE TABLE heatmap_clicks (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    day date NOT NULL,
    page text NOT NULL CHECK (length(page) <= 500),
    device text NOT NULL CHECK (device IN ('desktop', 'tablet', 'phone')),
    selector text NOT NULL CHECK (length(selector) BETWEEN 1 AND 300),
    cell smallint NOT NULL CHECK (cell BETWEEN 0 AND 99),
    clicks integer NOT NULL,
    rage_clicks integer NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, project_id, page, device, day, selector, cell),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE heatmap_clicks IS 'Clicks per page, width class, day, element (a CSS selector path) and cell of a 10×10 grid over the element (cell = column + 10 × row).';

ALTER TABLE heatmap_clicks ENABLE ROW LEVEL SECURITY;
ALTER TABLE heatmap_clicks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON heatmap_clicks
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

CREATE TABLE heatmap_scroll (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    day date NOT NULL,
    page text NOT NULL CHECK (length(page) <= 500),
    device text NOT NULL CHECK (device IN ('desktop', 'tablet', 'phone')),
    pageviews integer NOT NULL,
    reached integer[] NOT NULL CHECK (cardinality(reached) = 10),
    PRIMARY KEY (org_id, project_id, page, device, day),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE heatmap_scroll IS 'Pageviews per page, width class and day, and how many reached each tenth of the page (reached[1]: 10%, …, reached[10]: 100%).';

ALTER TABLE heatmap_scroll ENABLE ROW LEVEL SECURITY;
ALTER TABLE heatmap_scroll FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON heatmap_scroll
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

-- Heatmaps follow their project's data retention (the maintenance job, as beacon_sweeper).
GRANT SELECT, DELETE ON heatmap_clicks, heatmap_scroll TO beacon_sweeper;
CREATE POLICY sweep_retention ON heatmap_clicks TO beacon_sweeper USING (true);
CREATE POLICY sweep_retention ON heatmap_scroll TO beacon_sweeper USING (true);
