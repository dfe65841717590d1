//! `reports` and `report_subscriptions`: a project's weekly and monthly e-mail reports and who
//! receives them.
//!
//! A report exists once someone subscribes to a project's cadence; its schedule
//! ([`crate::tables::schedules::for_report`]) is made with it. A member's subscription mails
//! the member's account address while they are a member (someone who left is skipped, and
//! their row goes when their membership does); an admin may add any address. Each
//! subscription keeps the slot it was last handled for, so a retried report job never mails
//! anyone twice for one slot.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{report_subscriptions as subscriptions, reports};
use crate::{OrgId, ProjectId};

/// How often a report goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Mondays, for the previous Monday-to-Sunday week.
    Weekly,
    /// The 1st, for the previous calendar month.
    Monthly,
}

impl Cadence {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }

    /// The cadence named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "weekly" => Some(Self::Weekly),
            "monthly" => Some(Self::Monthly),
            _ => None,
        }
    }
}

/// A report.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct Report {
    /// Id.
    pub report_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// `weekly` or `monthly`.
    pub cadence: String,
}

/// The project's report of `cadence`, made (with its schedule) if there is none yet.
pub async fn ensure(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    cadence: Cadence,
    now: DateTime<Utc>,
) -> QueryResult<Report> {
    diesel::insert_into(reports::table)
        .values((
            reports::org_id.eq(org),
            reports::report_id.eq(Uuid::now_v7()),
            reports::project_id.eq(project),
            reports::cadence.eq(cadence.as_str()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let report: Report = reports::table
        .filter(reports::org_id.eq(org))
        .filter(reports::project_id.eq(project))
        .filter(reports::cadence.eq(cadence.as_str()))
        .select(Report::as_select())
        .first(conn)
        .await?;
    super::schedules::for_report(conn, org, project, report.report_id, cadence.as_str(), now)
        .await?;
    Ok(report)
}

/// A report by id.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    report: Uuid,
) -> QueryResult<Option<Report>> {
    reports::table
        .find((org, report))
        .select(Report::as_select())
        .first(conn)
        .await
        .optional()
}

/// The project's report of `cadence`, if anyone subscribed to it.
pub async fn find_for(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    cadence: Cadence,
) -> QueryResult<Option<Report>> {
    reports::table
        .filter(reports::org_id.eq(org))
        .filter(reports::project_id.eq(project))
        .filter(reports::cadence.eq(cadence.as_str()))
        .select(Report::as_select())
        .first(conn)
        .await
        .optional()
}

/// A subscription as the project's Reports card lists it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Subscription {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub subscription_id: Uuid,
    /// Report.
    #[diesel(sql_type = SqlUuid)]
    pub report_id: Uuid,
    /// Project.
    #[diesel(sql_type = SqlUuid)]
    pub project_id: Uuid,
    /// `weekly` or `monthly`.
    #[diesel(sql_type = Text)]
    pub cadence: String,
    /// The member who subscribed (`None`: an address an admin added).
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub user_id: Option<Uuid>,
    /// Where it goes: the member's address, or the added one.
    #[diesel(sql_type = Text)]
    pub email: String,
    /// Nothing is sent for a period without visitors.
    #[diesel(sql_type = Bool)]
    pub skip_empty: bool,
    /// The slot it was last handled for (sent or skipped).
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_slot: Option<DateTime<Utc>>,
    /// When it was last sent.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_sent_at: Option<DateTime<Utc>>,
    /// When it was made.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Subscriptions with their address: members' only while they are members.
const SUBSCRIPTIONS: &str = "SELECT s.subscription_id, s.report_id, r.project_id, r.cadence, s.user_id, \
        coalesce(u.email, s.email) AS email, s.skip_empty, s.last_slot, s.last_sent_at, s.created_at \
     FROM report_subscriptions s \
     JOIN reports r ON r.org_id = s.org_id AND r.report_id = s.report_id \
     LEFT JOIN memberships m ON m.org_id = s.org_id AND m.user_id = s.user_id \
     LEFT JOIN users u ON u.id = m.user_id \
     WHERE s.org_id = $1 AND (s.user_id IS NULL OR m.user_id IS NOT NULL)";

/// The project's subscriptions, weekly first, then by address.
pub async fn for_project(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<Vec<Subscription>> {
    diesel::sql_query(format!(
        "{SUBSCRIPTIONS} AND r.project_id = $2 ORDER BY r.cadence DESC, email"
    ))
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(project)
    .load(conn)
    .await
}

/// The report's subscriptions not yet handled for `slot`.
pub async fn due_for(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    report: Uuid,
    slot: DateTime<Utc>,
) -> QueryResult<Vec<Subscription>> {
    diesel::sql_query(format!(
        "{SUBSCRIPTIONS} AND s.report_id = $2 AND s.last_slot IS DISTINCT FROM $3 \
         ORDER BY s.subscription_id"
    ))
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(report)
    .bind::<Timestamptz, _>(slot)
    .load(conn)
    .await
}

/// One subscription of the project.
pub async fn find_subscription(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    subscription: Uuid,
) -> QueryResult<Option<Subscription>> {
    diesel::sql_query(format!(
        "{SUBSCRIPTIONS} AND r.project_id = $2 AND s.subscription_id = $3"
    ))
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(project)
    .bind::<SqlUuid, _>(subscription)
    .get_result(conn)
    .await
    .optional()
}

/// A subscription of any project of the organization (the unsubscribe link names no project).
pub async fn find_any_subscription(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    subscription: Uuid,
) -> QueryResult<Option<Subscription>> {
    diesel::sql_query(format!("{SUBSCRIPTIONS} AND s.subscription_id = $2"))
        .bind::<SqlUuid, _>(org)
        .bind::<SqlUuid, _>(subscription)
        .get_result(conn)
        .await
        .optional()
}

/// Who a new subscription is for.
#[derive(Debug, Clone, Copy)]
pub enum Recipient<'a> {
    /// A member (themselves).
    Member(Uuid),
    /// An address an admin added.
    Address(&'a str),
}

/// Subscribes `recipient` to `report` (an existing subscription keeps its id and history and
/// takes the new `skip_empty`); returns the subscription's id.
pub async fn subscribe(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    report: Uuid,
    recipient: Recipient<'_>,
    skip_empty: bool,
    added_by: Option<Uuid>,
) -> QueryResult<Uuid> {
    let (user, email) = match recipient {
        Recipient::Member(user) => (Some(user), None),
        Recipient::Address(email) => (None, Some(email)),
    };
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        subscription_id: Uuid,
    }
    let conflict = if user.is_some() {
        "(org_id, report_id, user_id) WHERE user_id IS NOT NULL"
    } else {
        "(org_id, report_id, lower(email)) WHERE email IS NOT NULL"
    };
    let id: Id = diesel::sql_query(format!(
        "INSERT INTO report_subscriptions (org_id, subscription_id, report_id, user_id, email, skip_empty, added_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT {conflict} DO UPDATE SET skip_empty = EXCLUDED.skip_empty \
         RETURNING subscription_id"
    ))
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(report)
    .bind::<Nullable<SqlUuid>, _>(user)
    .bind::<Nullable<Text>, _>(email)
    .bind::<Bool, _>(skip_empty)
    .bind::<Nullable<SqlUuid>, _>(added_by)
    .get_result(conn)
    .await?;
    Ok(id.subscription_id)
}

/// Removes a subscription; whether it existed.
pub async fn unsubscribe(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    subscription: Uuid,
) -> QueryResult<bool> {
    diesel::delete(subscriptions::table.find((org, subscription)))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}

/// Records that `subscription` was handled for `slot` (`sent`: mailed; otherwise skipped).
pub async fn mark_handled(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    subscription: Uuid,
    slot: DateTime<Utc>,
    sent: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE report_subscriptions SET last_slot = $3, last_sent_at = coalesce($4, last_sent_at) \
         WHERE org_id = $1 AND subscription_id = $2",
    )
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(subscription)
    .bind::<Timestamptz, _>(slot)
    .bind::<Nullable<Timestamptz>, _>(sent)
    .execute(conn)
    .await
    .map(drop)
}
