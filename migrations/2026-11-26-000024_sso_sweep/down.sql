DROP POLICY sweep_expired_delete ON saml_assertions;
DROP POLICY sweep_expired ON saml_assertions;
DROP POLICY sweep_expired_delete ON sso_logins;
DROP POLICY sweep_expired ON sso_logins;
REVOKE SELECT, DELETE ON sso_logins, saml_assertions FROM beacon_sweeper;
