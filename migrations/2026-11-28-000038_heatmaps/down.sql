DROP TABLE heatmap_scroll;
DROP TABLE heatmap_clicks;
ALTER TABLE projects DROP COLUMN heatmaps_enabled;
