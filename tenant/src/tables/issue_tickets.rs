//! `issue_tickets`: the Jira and GitHub tickets made for error issues, at most one per issue
//! and connector. Written by the worker when a connector's delivery created the ticket; read by
//! the issue's page (the links) and when the issue is resolved (which tickets to comment on).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::OrgId;
use crate::schema::issue_tickets as tickets;

/// A ticket.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = tickets)]
pub struct Ticket {
    /// Error issue.
    pub issue_id: Uuid,
    /// The connector (a `jira` or `github` channel).
    pub channel_id: Uuid,
    /// `ABC-12` (Jira) or `acme/web#34` (GitHub).
    pub ticket_key: String,
    /// Its address.
    pub ticket_url: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// The issue's tickets, oldest first.
pub async fn for_issue(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    issue: Uuid,
) -> QueryResult<Vec<Ticket>> {
    tickets::table
        .filter(tickets::org_id.eq(org))
        .filter(tickets::issue_id.eq(issue))
        .order(tickets::created_at.asc())
        .select(Ticket::as_select())
        .load(conn)
        .await
}

/// The issue's ticket in `channel`, if one was made.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    issue: Uuid,
    channel: Uuid,
) -> QueryResult<Option<Ticket>> {
    tickets::table
        .find((org, issue, channel))
        .select(Ticket::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores a ticket made for the issue (kept if one is already stored).
pub async fn record(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    issue: Uuid,
    channel: Uuid,
    key: &str,
    url: &str,
) -> QueryResult<()> {
    diesel::insert_into(tickets::table)
        .values((
            tickets::org_id.eq(org),
            tickets::issue_id.eq(issue),
            tickets::channel_id.eq(channel),
            tickets::ticket_key.eq(key),
            tickets::ticket_url.eq(url),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}
