DROP FUNCTION beacon_sso_realm(text);
ALTER TABLE user_sessions DROP COLUMN sso_org_id;
DROP TABLE sso_identities;
DROP TABLE sso_logins;
DROP TABLE sso_group_roles;
DROP TABLE sso_policies;
DROP TABLE sso_connections;
