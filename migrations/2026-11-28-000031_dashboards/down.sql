DROP TABLE dashboards;
DROP TABLE segments;
