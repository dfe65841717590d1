-- E-mail domains an organization claims, proved with a DNS TXT record
-- (`beacon-verification=<token>` on the domain). A domain is verified by one organization at
-- most: the partial unique index holds across tenants (a constraint sees every row, whatever
-- row-level security shows), so a second organization's proof is refused.
CREATE TABLE org_domains (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    domain text NOT NULL CHECK (length(domain) BETWEEN 1 AND 253 AND domain = lower(domain)),
    token text NOT NULL CHECK (length(token) BETWEEN 16 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    verified_at timestamptz,
    last_checked_at timestamptz,
    last_error text CHECK (length(last_error) <= 500),
    PRIMARY KEY (org_id, domain)
);
COMMENT ON TABLE org_domains IS 'E-mail domains an organization claims; verified_at: its DNS TXT proof was found.';
CREATE UNIQUE INDEX org_domains_verified_once ON org_domains (domain) WHERE verified_at IS NOT NULL;
ALTER TABLE org_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_domains FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON org_domains USING (org_id = beacon_current_org())
    WITH CHECK (org_id = beacon_current_org());

-- The domain job (as beacon_sweeper) finds the unverified claims to check, seeing only which
-- organization claims which domain; it checks each in that organization's scope.
GRANT SELECT (org_id, domain, verified_at) ON org_domains TO beacon_sweeper;
CREATE POLICY sweep_pending ON org_domains FOR SELECT TO beacon_sweeper USING (verified_at IS NULL);
