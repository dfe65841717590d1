-- The hourly maintenance job (as beacon_sweeper) removes what single sign-on keeps only for a
-- while, in every organization: sign-ins in flight an hour after they expired (an unfinished
-- SAML sign-in holds the person's e-mail and groups) and replay-cache entries once expired.
-- The sweeper sees and deletes only such rows.
GRANT SELECT, DELETE ON sso_logins, saml_assertions TO beacon_sweeper;
CREATE POLICY sweep_expired ON sso_logins FOR SELECT TO beacon_sweeper
    USING (expires_at < now() - interval '1 hour');
CREATE POLICY sweep_expired_delete ON sso_logins FOR DELETE TO beacon_sweeper
    USING (expires_at < now() - interval '1 hour');
CREATE POLICY sweep_expired ON saml_assertions FOR SELECT TO beacon_sweeper
    USING (expires_at < now());
CREATE POLICY sweep_expired_delete ON saml_assertions FOR DELETE TO beacon_sweeper
    USING (expires_at < now());
