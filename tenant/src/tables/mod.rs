//! One module per table: its row struct, its insertable, and the queries on it.
//!
//! Query functions take a connection, never the pool, so callers compose them inside one
//! scope (one transaction).

pub mod activity;
pub mod ai;
pub mod alerts;
pub mod annotations;
pub mod api_keys;
pub mod audit_log;
pub mod audit_streams;
pub mod billing;
pub mod blob_deletions;
pub mod comments;
pub mod dashboards;
pub mod error_issues;
pub mod events;
pub mod funnels;
pub mod goals;
pub mod heatmaps;
pub mod invitations;
pub mod issue_notifications;
pub mod issue_tickets;
pub mod memberships;
pub mod notification_channels;
pub mod notification_deliveries;
pub mod notifications;
pub mod org_domains;
pub mod org_exports;
pub mod organizations;
pub mod pdf_exports;
pub mod project_salts;
pub mod projects;
pub mod release_files;
pub mod replays;
pub mod reports;
pub mod schedules;
pub mod scim;
pub mod segments;
pub mod shared_links;
pub mod sso;
pub mod tasks;
pub mod usage;
pub mod user_sessions;
pub mod user_tokens;
pub mod users;
pub mod web_vitals;

/// Largest page any list query returns.
pub const MAX_PAGE: i64 = 200;

/// Clamps a requested page size to `1..=MAX_PAGE`.
pub fn page_size(requested: Option<i64>) -> i64 {
    requested.unwrap_or(50).clamp(1, MAX_PAGE)
}

/// Whether a query error is a violation of a unique constraint (a duplicate).
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Whether `error` is a foreign key violation (a row still referenced, or a missing parent).
pub fn is_foreign_key_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _
        )
    )
}
