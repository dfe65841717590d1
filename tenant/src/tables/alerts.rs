//! `alerts` and `alert_events`: the rules, their current status, and their history.
//!
//! A rule's status moves only in the worker's evaluation (under the schedule's row lock, see
//! [`crate::tables::schedules`]); editing a rule starts it again from `ok`, since the old
//! status was about other thresholds. Edits carry the version they were made from, so two
//! people editing one rule never overwrite each other silently.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::alerts::rule::AlertSpec;
use crate::alerts::state::{Level, State, Status};
use crate::schema::{alert_events, alerts};
use crate::{OrgId, ProjectId};

/// A stored alert rule and its status.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alerts)]
pub struct Alert {
    /// Organization.
    pub org_id: Uuid,
    /// Id.
    pub alert_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Name.
    pub name: String,
    /// Metric name.
    pub metric: String,
    /// Stats API filters.
    pub filters: Value,
    /// Window length.
    pub window_minutes: i32,
    /// Condition name.
    pub condition: String,
    /// Baseline name.
    pub baseline: Option<String>,
    /// Sensitivity name (anomaly rules).
    pub sensitivity: Option<String>,
    /// Warning threshold.
    pub warning: Option<f64>,
    /// Critical threshold.
    pub critical: Option<f64>,
    /// Resolve threshold.
    pub resolve: f64,
    /// Pending period.
    pub pending_minutes: i32,
    /// Evaluation interval.
    pub every_minutes: i32,
    /// Channels notified.
    pub channel_ids: Vec<Uuid>,
    /// Evaluated at all.
    pub enabled: bool,
    /// Notifications held back until then.
    pub muted_until: Option<DateTime<Utc>>,
    /// State name.
    pub state: String,
    /// Level name while pending or firing.
    pub level: Option<String>,
    /// When the current breach (pending) or recovery (firing) began.
    pub changing_since: Option<DateTime<Utc>>,
    /// When the state last changed.
    pub state_since: DateTime<Utc>,
    /// The value at the last evaluation.
    pub last_value: Option<f64>,
    /// The last evaluation.
    pub last_evaluated_at: Option<DateTime<Utc>>,
    /// Why the last evaluation measured nothing.
    pub last_error: Option<String>,
    /// Edit version (optimistic concurrency).
    pub version: i32,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last edit.
    pub updated_at: DateTime<Utc>,
}

impl Alert {
    /// The stored status.
    pub fn status(&self) -> Status {
        Status {
            state: State::parse(&self.state).unwrap_or(State::Ok),
            level: self.level.as_deref().and_then(Level::parse),
            since: self.changing_since,
        }
    }

    /// Whether notifications are held back at `now`.
    pub fn muted_at(&self, now: DateTime<Utc>) -> bool {
        self.muted_until.is_some_and(|until| until > now)
    }
}

/// The editable part of a rule.
#[derive(Debug, Clone)]
pub struct RuleFields<'a> {
    /// Name.
    pub name: &'a str,
    /// The validated rule.
    pub spec: &'a AlertSpec,
    /// Channels to notify (checked to exist by the caller).
    pub channel_ids: &'a [Uuid],
    /// Evaluated at all.
    pub enabled: bool,
}

/// The rule's columns, as written on creation and replaced on edit (one list for both).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = alerts, treat_none_as_null = true)]
struct RuleColumns<'a> {
    name: &'a str,
    metric: &'a str,
    filters: &'a Value,
    window_minutes: i32,
    condition: &'a str,
    baseline: Option<&'a str>,
    sensitivity: Option<&'a str>,
    warning: Option<f64>,
    critical: Option<f64>,
    resolve: f64,
    pending_minutes: i32,
    every_minutes: i32,
    channel_ids: &'a [Uuid],
    enabled: bool,
}

impl<'a> RuleFields<'a> {
    fn columns(&self) -> RuleColumns<'a> {
        let spec = self.spec;
        RuleColumns {
            name: self.name,
            metric: &spec.metric_name,
            filters: &spec.filters,
            window_minutes: spec.window_minutes,
            condition: spec.condition.as_str(),
            baseline: spec.baseline.map(|b| b.as_str()),
            sensitivity: spec.sensitivity.map(|s| s.as_str()),
            warning: spec.warning,
            critical: spec.critical,
            resolve: spec.resolve,
            pending_minutes: spec.pending_minutes,
            every_minutes: spec.every_minutes,
            channel_ids: self.channel_ids,
            enabled: self.enabled,
        }
    }
}

/// Creates an alert (status `ok`).
pub async fn create(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    fields: &RuleFields<'_>,
    created_by: Option<Uuid>,
) -> QueryResult<Alert> {
    diesel::insert_into(alerts::table)
        .values((
            alerts::org_id.eq(org),
            alerts::alert_id.eq(Uuid::now_v7()),
            alerts::project_id.eq(project),
            fields.columns(),
            alerts::created_by.eq(created_by),
        ))
        .returning(Alert::as_returning())
        .get_result(conn)
        .await
}

/// A project's alerts, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<Vec<Alert>> {
    alerts::table
        .filter(alerts::org_id.eq(org))
        .filter(alerts::project_id.eq(project))
        .order(alerts::alert_id.asc())
        .select(Alert::as_select())
        .load(conn)
        .await
}

/// One alert of a project.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    alert: Uuid,
) -> QueryResult<Option<Alert>> {
    alerts::table
        .find((org, alert))
        .filter(alerts::project_id.eq(project))
        .select(Alert::as_select())
        .first(conn)
        .await
        .optional()
}

/// An alert of the organization, whatever its project (the worker's lookup by schedule).
pub async fn find_any(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    alert: Uuid,
) -> QueryResult<Option<Alert>> {
    alerts::table
        .find((org, alert))
        .select(Alert::as_select())
        .first(conn)
        .await
        .optional()
}

/// How an edit ended.
#[derive(Debug)]
pub enum Edited {
    /// Saved (the new row).
    Saved(Box<Alert>),
    /// No such alert.
    Missing,
    /// Someone saved another version first (the current row).
    Conflict(Box<Alert>),
}

/// Replaces the rule of an alert last read at `version`; the status starts again from `ok`.
pub async fn update(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    alert: Uuid,
    version: i32,
    fields: &RuleFields<'_>,
) -> QueryResult<Edited> {
    let saved = diesel::update(
        alerts::table
            .find((org, alert))
            .filter(alerts::project_id.eq(project))
            .filter(alerts::version.eq(version)),
    )
    .set((
        fields.columns(),
        alerts::state.eq(State::Ok.as_str()),
        alerts::level.eq(None::<String>),
        alerts::changing_since.eq(None::<DateTime<Utc>>),
        alerts::state_since.eq(diesel::dsl::now),
        alerts::version.eq(alerts::version + 1),
        alerts::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Alert::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    Ok(match saved {
        Some(row) => Edited::Saved(Box::new(row)),
        None => match find(conn, org, project, alert).await? {
            Some(current) => Edited::Conflict(Box::new(current)),
            None => Edited::Missing,
        },
    })
}

/// Mutes notifications until `until` (`None`: unmutes); the alert keeps being evaluated.
pub async fn set_muted(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    alert: Uuid,
    until: Option<DateTime<Utc>>,
) -> QueryResult<Option<Alert>> {
    diesel::update(
        alerts::table
            .find((org, alert))
            .filter(alerts::project_id.eq(project)),
    )
    .set((
        alerts::muted_until.eq(until),
        alerts::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Alert::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Deletes an alert (its history and schedule go with it); whether it existed.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    alert: Uuid,
) -> QueryResult<bool> {
    diesel::delete(
        alerts::table
            .find((org, alert))
            .filter(alerts::project_id.eq(project)),
    )
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Takes `channel` out of every alert that notifies it (the channel is being removed).
pub async fn forget_channel(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channel: Uuid,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE alerts SET channel_ids = array_remove(channel_ids, $2) \
         WHERE org_id = $1 AND $2 = ANY (channel_ids)",
    )
    .bind::<diesel::sql_types::Uuid, _>(org)
    .bind::<diesel::sql_types::Uuid, _>(channel)
    .execute(conn)
    .await
}

/// What one evaluation found.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The evaluation's instant (the schedule's slot).
    pub at: DateTime<Utc>,
    /// The status after it.
    pub status: Status,
    /// Whether the state changed.
    pub changed: bool,
    /// The value compared (`None`: nothing to measure).
    pub value: Option<f64>,
    /// Why nothing was measured.
    pub error: Option<String>,
}

/// Stores an evaluation's outcome.
pub async fn record_evaluation(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    alert: Uuid,
    evaluation: &Evaluation,
) -> QueryResult<()> {
    let status = &evaluation.status;
    let row = alerts::table.find((org, alert));
    let common = (
        alerts::state.eq(status.state.as_str()),
        alerts::level.eq(status.level.map(|l| l.as_str())),
        alerts::changing_since.eq(status.since),
        alerts::last_value.eq(evaluation.value),
        alerts::last_evaluated_at.eq(evaluation.at),
        alerts::last_error.eq(evaluation.error.as_deref()),
    );
    if evaluation.changed {
        diesel::update(row)
            .set((common, alerts::state_since.eq(evaluation.at)))
            .execute(conn)
            .await?;
    } else {
        diesel::update(row).set(common).execute(conn).await?;
    }
    Ok(())
}

/// A state change in an alert's history.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = alert_events)]
pub struct AlertEvent {
    /// Organization.
    pub org_id: Uuid,
    /// Alert.
    pub alert_id: Uuid,
    /// Id.
    pub event_id: Uuid,
    /// When (the evaluation's slot).
    pub at: DateTime<Utc>,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Level after (or the level that resolved).
    pub level: Option<String>,
    /// The value compared.
    pub value: Option<f64>,
    /// The metric's value in the baseline window (percent-change rules).
    pub baseline_value: Option<f64>,
    /// The threshold crossed.
    pub threshold: Option<f64>,
    /// Whether channels were notified (not when muted or only pending).
    pub notified: bool,
}

/// Appends to an alert's history.
pub async fn insert_event(conn: &mut AsyncPgConnection, event: &AlertEvent) -> QueryResult<()> {
    diesel::insert_into(alert_events::table)
        .values(event)
        .execute(conn)
        .await
        .map(drop)
}

/// An alert's history, newest first.
pub async fn history(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    alert: Uuid,
    limit: i64,
) -> QueryResult<Vec<AlertEvent>> {
    alert_events::table
        .filter(alert_events::org_id.eq(org))
        .filter(alert_events::alert_id.eq(alert))
        .order((alert_events::at.desc(), alert_events::event_id.desc()))
        .limit(limit)
        .select(AlertEvent::as_select())
        .load(conn)
        .await
}
