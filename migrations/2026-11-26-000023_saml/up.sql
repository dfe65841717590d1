-- SAML's replay cache: every assertion a connection accepted, by the SHA-256 of its ID, until
-- it would be refused as expired anyway. A second response carrying the same assertion is a
-- replay and is refused.
CREATE TABLE saml_assertions (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    assertion_hash bytea NOT NULL CHECK (length(assertion_hash) = 32),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, assertion_hash)
);
CREATE INDEX saml_assertions_expiry_idx ON saml_assertions (org_id, expires_at);
COMMENT ON TABLE saml_assertions IS 'SAML replay cache: SHA-256 of each accepted assertion ID until it expires (NotOnOrAfter plus skew).';

ALTER TABLE saml_assertions ENABLE ROW LEVEL SECURITY;
ALTER TABLE saml_assertions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON saml_assertions
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

COMMENT ON TABLE sso_logins IS 'Sign-ins in flight: SHA-256 of the state, the nonce (OIDC) or AuthnRequest ID (SAML) and PKCE verifier; single use, expire after 10 minutes. A test sign-in keeps what the IdP sent in outcome; a SAML sign-in keeps the checked identity there until this browser finishes it.';
