//! `org_domains`: the e-mail domains an organization claims, and the DNS TXT proof of each.
//! The proof's value is `beacon-verification=<token>`, published on the domain itself.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::OrgId;
use crate::schema::org_domains;
use crate::secrets::new_token;

/// A claimed domain.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = org_domains)]
pub struct OrgDomain {
    /// Organization.
    pub org_id: OrgId,
    /// The domain (lower case, no trailing dot).
    pub domain: String,
    /// The token the TXT record must carry.
    pub token: String,
    /// Claimed at.
    pub created_at: DateTime<Utc>,
    /// When the proof was found.
    pub verified_at: Option<DateTime<Utc>>,
    /// Last check.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Why the last check failed.
    pub last_error: Option<String>,
}

impl OrgDomain {
    /// The TXT record's value that proves control: `beacon-verification=<token>`.
    pub fn txt_value(&self) -> String {
        format!("beacon-verification={}", self.token)
    }
}

/// Claims `domain` for the organization with a new token; `None` when it claims it already.
pub async fn add(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    domain: &str,
) -> QueryResult<Option<OrgDomain>> {
    diesel::insert_into(org_domains::table)
        .values((
            org_domains::org_id.eq(org),
            org_domains::domain.eq(domain),
            org_domains::token.eq(new_token()),
        ))
        .on_conflict_do_nothing()
        .returning(OrgDomain::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The organization's domains, by name.
pub async fn list(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Vec<OrgDomain>> {
    org_domains::table
        .filter(org_domains::org_id.eq(org))
        .order(org_domains::domain)
        .select(OrgDomain::as_select())
        .load(conn)
        .await
}

/// One domain of the organization.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    domain: &str,
) -> QueryResult<Option<OrgDomain>> {
    org_domains::table
        .find((org, domain))
        .select(OrgDomain::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores a check's outcome: verified at `at`, or the reason it is not (a domain verified once
/// stays verified when a later check fails; its error is still shown). A verification that
/// another organization holds fails with a unique violation.
pub async fn record_check(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    domain: &str,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> QueryResult<Option<OrgDomain>> {
    let row = org_domains::table.find((org, domain));
    let error: Option<String> = error.map(|e| e.chars().take(500).collect());
    match error {
        None => diesel::update(row)
            .set((
                org_domains::verified_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                >("coalesce(verified_at, now())")),
                org_domains::last_checked_at.eq(at),
                org_domains::last_error.eq(None::<String>),
            ))
            .returning(OrgDomain::as_returning())
            .get_result(conn)
            .await
            .optional(),
        Some(error) => diesel::update(row)
            .set((
                org_domains::last_checked_at.eq(at),
                org_domains::last_error.eq(error),
            ))
            .returning(OrgDomain::as_returning())
            .get_result(conn)
            .await
            .optional(),
    }
}

/// Drops a claim; whether there was one.
pub async fn remove(conn: &mut AsyncPgConnection, org: OrgId, domain: &str) -> QueryResult<bool> {
    diesel::delete(org_domains::table.find((org, domain)))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Unverified claims of every organization (the domain job, on the sweeper's connection).
pub async fn pending(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(OrgId, String)>> {
    org_domains::table
        .filter(org_domains::verified_at.is_null())
        .select((org_domains::org_id, org_domains::domain))
        .load(conn)
        .await
}

/// The organization's verified domain that covers `site` (the domain itself or a parent), if
/// any: DNS control of `example.com` is control of `www.example.com`.
pub async fn verified_cover(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    site: &str,
) -> QueryResult<Option<String>> {
    let verified: Vec<String> = org_domains::table
        .filter(org_domains::org_id.eq(org))
        .filter(org_domains::verified_at.is_not_null())
        .select(org_domains::domain)
        .load(conn)
        .await?;
    Ok(verified
        .into_iter()
        .find(|domain| site == domain || site.ends_with(&format!(".{domain}"))))
}
