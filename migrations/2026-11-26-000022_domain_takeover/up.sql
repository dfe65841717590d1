-- Project-domain disputes. A site domain belongs to one project across all organizations, and
-- claiming one needs no proof, so an organization could squat another's site. An organization
-- that proved DNS control of the domain (a verified org_domains row for it or a parent domain)
-- takes it over into one of its projects. This is the one write that crosses tenants, so it is
-- a function that checks the proof itself, in the caller's organization scope, and answers
-- only which organization lost the domain (NULL: nobody held it).
CREATE FUNCTION beacon_take_over_project_domain(site text, project uuid) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    org uuid := beacon_current_org();
    previous uuid;
BEGIN
    IF org IS NULL THEN
        RAISE EXCEPTION 'beacon_take_over_project_domain needs an organization scope';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM projects p WHERE p.org_id = org AND p.project_id = project) THEN
        RAISE EXCEPTION 'no such project in this organization';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM org_domains d
        WHERE d.org_id = org AND d.verified_at IS NOT NULL
          AND (site = d.domain OR right(site, length(d.domain) + 1) = '.' || d.domain)
    ) THEN
        RAISE EXCEPTION 'the organization has not verified % or a parent domain', site;
    END IF;
    SELECT pd.org_id INTO previous FROM project_domains pd WHERE pd.domain = site FOR UPDATE;
    DELETE FROM project_domains WHERE domain = site;
    INSERT INTO project_domains (org_id, project_id, domain) VALUES (org, project, site);
    RETURN previous;
END $$;
REVOKE ALL ON FUNCTION beacon_take_over_project_domain(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon_take_over_project_domain(text, uuid) TO beacon_app;
