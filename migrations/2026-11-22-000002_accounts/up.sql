-- Accounts are global (a user may belong to many organizations); these tables are on the
-- schema test's short allow-list of tables without org_id.
CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    password_hash text NOT NULL,
    email_verified_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'People who can sign in. Global: membership in organizations is in memberships.';
COMMENT ON COLUMN users.email IS 'Lower-cased sign-in address; personal data, never logged.';
COMMENT ON COLUMN users.password_hash IS 'argon2id PHC string.';

CREATE TABLE user_sessions (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX user_sessions_user_id_idx ON user_sessions (user_id);
COMMENT ON TABLE user_sessions IS 'Server-side sessions; the cookie holds the token, the table its SHA-256.';
COMMENT ON COLUMN user_sessions.csrf_token IS 'Per-session token required in X-CSRF-Token on cookie-authenticated writes.';

CREATE TABLE user_tokens (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX user_tokens_user_id_idx ON user_tokens (user_id, purpose);
COMMENT ON TABLE user_tokens IS 'Single-use, expiring e-mail tokens (verification, password reset); only their SHA-256 is stored.';
