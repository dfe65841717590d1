DROP TABLE IF EXISTS org_domains;
