DROP TABLE project_domains;
DROP TABLE projects;
