DROP TABLE IF EXISTS org_exports;
