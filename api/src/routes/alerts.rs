//! Alert rules of a project: create, list, inspect, edit (with a version check), mute, delete,
//! their history, and a preview that measures a rule's metric without storing anything. The
//! worker evaluates the rules on their schedules ([`tenant::alerts`]). Writing needs a member
//! and the `alerts` plan feature when billing is on.

use billing::Feature;
use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Value, json};
use tenant::DbError;
use tenant::alerts::evaluate::observe_recent;
use tenant::alerts::rule::{AlertInput, AlertSpec, MAX_CHANNELS};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::{Invalid, ProblemKind};
use tenant::tables::alerts::{self, Alert, AlertEvent, Edited, RuleFields};
use tenant::tables::{notification_channels, schedules};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Member, ProjectScope, Viewer};

/// An alert rule as written.
#[derive(Debug, Object)]
pub struct AlertIn {
    /// Name, e.g. "Signups dropped".
    #[oai(validator(max_length = 100))]
    pub name: Text,
    /// What is watched: `visitors`, `visits`, `pageviews`, `events`, `bounce_rate`,
    /// `visit_duration`, `views_per_visit`, `conversion_rate` (with an `event:goal` filter),
    /// `error_events`, `new_error_issues`, `lcp_p75`, `inp_p75`, `cls_p75`, `fcp_p75`, `ttfb_p75`.
    #[oai(validator(max_length = 40))]
    pub metric: Text,
    /// Stats API filters for the analytics metrics, e.g. `[["is", "visit:country", ["DE"]]]`.
    pub filters: Option<Value>,
    /// The window measured, ending at each evaluation: 5 minutes to a week.
    pub window_minutes: i32,
    /// `above`, `below`, `increase_pct`, `decrease_pct`, or `anomaly`: the last complete hour
    /// outside the band a seasonal model of the metric's last four weeks expects (needs a
    /// 60-minute window and 14 days of history; no thresholds).
    #[oai(validator(max_length = 20))]
    pub condition: Text,
    /// For percent changes: `previous_period` or `last_week`.
    #[oai(validator(max_length = 20))]
    pub baseline: Option<Text>,
    /// For `anomaly`: `low`, `medium` (default) or `high`, the width of the band of normal
    /// values (a 99.9, 99 or 95 % prediction interval).
    #[oai(validator(max_length = 20))]
    pub sensitivity: Option<Text>,
    /// Warning threshold (a value, or a percentage for changes).
    pub warning: Option<f64>,
    /// Critical threshold.
    pub critical: Option<f64>,
    /// The value must come back past this to resolve (default: the warning threshold).
    pub resolve: Option<f64>,
    /// How long a breach (or a recovery) must last before the state changes (default 0).
    pub pending_minutes: Option<i32>,
    /// How often the rule is evaluated, in minutes (default 5).
    pub every_minutes: Option<i32>,
    /// Channels notified when it fires and resolves.
    #[oai(validator(max_items = 20))]
    pub channel_ids: Option<Vec<Uuid>>,
    /// Evaluated at all (default true).
    pub enabled: Option<bool>,
    /// On edits: the `version` the edit was made from (a newer one is a 409).
    pub version: Option<i32>,
}

/// An alert rule and its status.
#[derive(Debug, Object)]
pub struct AlertOut {
    /// Id.
    pub id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Name.
    pub name: String,
    /// Metric.
    pub metric: String,
    /// Filters.
    pub filters: Value,
    /// Window length.
    pub window_minutes: i32,
    /// Condition.
    pub condition: String,
    /// Baseline of a percent change.
    pub baseline: Option<String>,
    /// Band width of an anomaly rule.
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
    /// `ok`, `pending`, `firing` or `resolved`.
    pub state: String,
    /// `warning` or `critical` while pending or firing.
    pub level: Option<String>,
    /// When the state last changed.
    pub state_since: DateTime<Utc>,
    /// The value compared at the last evaluation.
    pub last_value: Option<f64>,
    /// The last evaluation.
    pub last_evaluated_at: Option<DateTime<Utc>>,
    /// Why the last evaluation measured nothing.
    pub last_error: Option<String>,
    /// Edit version.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A state change.
#[derive(Debug, Object)]
pub struct AlertEventOut {
    /// When (the evaluation's time).
    pub at: DateTime<Utc>,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Level.
    pub level: Option<String>,
    /// The value compared.
    pub value: Option<f64>,
    /// The metric in the baseline window (percent changes).
    pub baseline_value: Option<f64>,
    /// The threshold crossed.
    pub threshold: Option<f64>,
    /// Whether channels were notified (not while muted, not for pending).
    pub notified: bool,
}

/// One point of a preview.
#[derive(Debug, Object)]
pub struct PreviewPoint {
    /// End of the window.
    pub at: DateTime<Utc>,
    /// The value compared (none: nothing to measure); an anomaly rule's metric.
    pub value: Option<f64>,
    /// The lower end of an anomaly rule's expected band.
    pub lower: Option<f64>,
    /// The upper end of an anomaly rule's expected band.
    pub upper: Option<f64>,
    /// The level it breaches, if any.
    pub breach: Option<String>,
    /// Why nothing was measured (e.g. too little history for an anomaly rule).
    pub note: Option<String>,
}

/// What a rule would see now and over its recent windows.
#[derive(Debug, Object)]
pub struct AlertPreview {
    /// The last 24 windows, oldest first, the latest ending now.
    pub points: Vec<PreviewPoint>,
    /// Warning threshold.
    pub warning: Option<f64>,
    /// Critical threshold.
    pub critical: Option<f64>,
    /// Resolve threshold.
    pub resolve: f64,
}

/// Mute until a time.
#[derive(Debug, Object)]
pub struct MuteIn {
    /// Until when; null unmutes.
    pub until: Option<DateTime<Utc>>,
}

fn alert_out(alert: Alert) -> AlertOut {
    AlertOut {
        id: alert.alert_id,
        project_id: alert.project_id,
        name: alert.name,
        metric: alert.metric,
        filters: alert.filters,
        window_minutes: alert.window_minutes,
        condition: alert.condition,
        baseline: alert.baseline,
        sensitivity: alert.sensitivity,
        warning: alert.warning,
        critical: alert.critical,
        resolve: alert.resolve,
        pending_minutes: alert.pending_minutes,
        every_minutes: alert.every_minutes,
        channel_ids: alert.channel_ids,
        enabled: alert.enabled,
        muted_until: alert.muted_until,
        state: alert.state,
        level: alert.level,
        state_since: alert.state_since,
        last_value: alert.last_value,
        last_evaluated_at: alert.last_evaluated_at,
        last_error: alert.last_error,
        version: alert.version,
        created_at: alert.created_at,
    }
}

fn event_out(event: AlertEvent) -> AlertEventOut {
    AlertEventOut {
        at: event.at,
        from_state: event.from_state,
        to_state: event.to_state,
        level: event.level,
        value: event.value,
        baseline_value: event.baseline_value,
        threshold: event.threshold,
        notified: event.notified,
    }
}

/// The audited fields of a rule.
fn audited(alert: &Alert) -> Value {
    json!({
        "name": alert.name, "metric": alert.metric, "filters": alert.filters,
        "window_minutes": alert.window_minutes, "condition": alert.condition,
        "baseline": alert.baseline, "sensitivity": alert.sensitivity, "warning": alert.warning, "critical": alert.critical,
        "resolve": alert.resolve, "pending_minutes": alert.pending_minutes,
        "every_minutes": alert.every_minutes, "channel_ids": alert.channel_ids,
        "enabled": alert.enabled, "project_id": alert.project_id,
    })
}

fn refused(invalid: Invalid) -> ApiError {
    ApiError::invalid(invalid.kind, invalid.detail)
}

/// The rule of `body`, validated, with its name and channels.
fn validate(body: &AlertIn) -> ApiResult<(String, AlertSpec, Vec<Uuid>)> {
    let name = crate::routes::orgs::clean_name(&body.name)?;
    let filters = body.filters.clone().unwrap_or_else(|| json!([]));
    let spec = AlertSpec::validate(&AlertInput {
        metric: &body.metric,
        filters: &filters,
        window_minutes: body.window_minutes,
        condition: &body.condition,
        baseline: body.baseline.as_deref(),
        sensitivity: body.sensitivity.as_deref(),
        warning: body.warning,
        critical: body.critical,
        resolve: body.resolve,
        pending_minutes: body.pending_minutes.unwrap_or(0),
        every_minutes: body.every_minutes.unwrap_or(5),
    })
    .map_err(refused)?;
    let mut channels = body.channel_ids.clone().unwrap_or_default();
    channels.sort();
    channels.dedup();
    if channels.len() > MAX_CHANNELS {
        return Err(ApiError::invalid(
            ProblemKind::InvalidAlert,
            format!("an alert notifies at most {MAX_CHANNELS} channels"),
        ));
    }
    Ok((name, spec, channels))
}

pub(crate) async fn check_channels(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    org: tenant::OrgId,
    channels: &[Uuid],
) -> ApiResult<()> {
    let found = notification_channels::count_existing(conn, org, channels).await?;
    if usize::try_from(found).unwrap_or(0) != channels.len() {
        return Err(ApiError::invalid(
            ProblemKind::InvalidAlert,
            "`channel_ids` names a channel this organization does not have",
        ));
    }
    Ok(())
}

/// Alert operations.
#[derive(Default)]
pub struct AlertsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Alerts")]
impl AlertsApi {
    /// The project's alert rules with their status.
    #[oai(
        path = "/:org_id/projects/:project_id/alerts",
        method = "get",
        operation_id = "list_alerts"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<AlertOut>>> {
        let (org, project) = (scope.org(), scope.project_id());
        let found = scope
            .run(async |conn| Ok::<_, DbError>(alerts::list(conn, org, project).await?))
            .await?;
        Ok(Json(found.into_iter().map(alert_out).collect()))
    }

    /// Create an alert rule. It is evaluated every `every_minutes` on the window ending then;
    /// when its value stays past a threshold for `pending_minutes` it fires, and it resolves
    /// when the value stays back past `resolve` as long; each of those notifies the channels
    /// once. Members; the `alerts` plan feature.
    #[oai(
        path = "/:org_id/projects/:project_id/alerts",
        method = "post",
        operation_id = "create_alert"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<AlertIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<AlertOut>> {
        scope.entitlements.require(Feature::Alerts)?;
        let (org, project) = (scope.org(), scope.project_id());
        let created_by = scope.caller.user().ok().map(|user| user.uuid());
        let (name, spec, channels) = validate(&body)?;
        let enabled = body.enabled.unwrap_or(true);
        let now = Utc::now();
        let alert = scope
            .run(async |conn| {
                check_channels(conn, org, &channels).await?;
                let fields = RuleFields {
                    name: &name,
                    spec: &spec,
                    channel_ids: &channels,
                    enabled,
                };
                let alert = alerts::create(conn, org, project, &fields, created_by).await?;
                schedules::every_for_alert(
                    conn,
                    org,
                    project,
                    alert.alert_id,
                    spec.every_minutes,
                    now,
                )
                .await?;
                let entry = Entry::new(Action::AlertCreated, alert.alert_id)
                    .with(Changes::created(audited(&alert)));
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(alert)
            })
            .await?;
        Ok(Created::Created(Json(alert_out(alert))))
    }

    /// One alert rule and its status.
    #[oai(
        path = "/:org_id/projects/:project_id/alerts/:alert_id",
        method = "get",
        operation_id = "get_alert"
    )]
    async fn get(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        alert_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<AlertOut>> {
        let (org, project) = (scope.org(), scope.project_id());
        let found = scope
            .run(async |conn| Ok::<_, DbError>(alerts::find(conn, org, project, *alert_id).await?))
            .await?;
        found
            .map(|alert| Json(alert_out(alert)))
            .ok_or_else(|| ApiError::not_found("alert"))
    }

    /// Replace an alert rule; `version` must be the one the edit started from (409 with the
    /// current rule otherwise). The status starts again from `ok`. Members.
    #[oai(
        path = "/:org_id/projects/:project_id/alerts/:alert_id",
        method = "put",
        operation_id = "update_alert"
    )]
    async fn update(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        alert_id: Path<Uuid>,
        body: Json<AlertIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<AlertOut>> {
        scope.entitlements.require(Feature::Alerts)?;
        let (org, project) = (scope.org(), scope.project_id());
        let (name, spec, channels) = validate(&body)?;
        let Some(version) = body.version else {
            return Err(ApiError::invalid(
                ProblemKind::InvalidAlert,
                "`version` is required: the version of the rule the edit started from",
            ));
        };
        let enabled = body.enabled.unwrap_or(true);
        let now = Utc::now();
        let saved = scope
            .run(async |conn| {
                check_channels(conn, org, &channels).await?;
                let before = alerts::find(conn, org, project, *alert_id).await?;
                let fields = RuleFields {
                    name: &name,
                    spec: &spec,
                    channel_ids: &channels,
                    enabled,
                };
                let saved = match alerts::update(conn, org, project, *alert_id, version, &fields).await? {
                    Edited::Saved(alert) => alert,
                    Edited::Missing => return Err(ApiError::not_found("alert")),
                    Edited::Conflict(current) => {
                        return Err(ApiError::conflict(
                            ProblemKind::Conflict,
                            format!(
                                "the rule was changed meanwhile (now version {}): reload it and edit again",
                                current.version
                            ),
                        ));
                    }
                };
                schedules::every_for_alert(conn, org, project, saved.alert_id, spec.every_minutes, now)
                    .await?;
                let changes = Changes::diff(
                    &before.as_ref().map(audited).unwrap_or_default(),
                    &audited(&saved),
                );
                audit::record(conn, org, Entry::new(Action::AlertUpdated, saved.alert_id).with(changes))
                    .await?;
                Ok(saved)
            })
            .await?;
        Ok(Json(alert_out(*saved)))
    }

    /// Mute an alert's notifications until a time (null unmutes). It keeps being evaluated and
    /// its history keeps growing; changes while muted are marked as not notified. Members.
    #[oai(
        path = "/:org_id/projects/:project_id/alerts/:alert_id/mute",
        method = "put",
        operation_id = "mute_alert"
    )]
    async fn mute(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        alert_id: Path<Uuid>,
        body: Json<MuteIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<AlertOut>> {
        let (org, project) = (scope.org(), scope.project_id());
        let until = body.until;
        let saved = scope
            .run(async |conn| {
                let Some(before) = alerts::find(conn, org, project, *alert_id).await? else {
                    return Err(ApiError::not_found("alert"));
                };
                let Some(saved) = alerts::set_muted(conn, org, project, *alert_id, until).await?
                else {
                    return Err(ApiError::not_found("alert"));
                };
                let changes = Changes::default().set(
                    "muted_until",
                    json!(before.muted_until),
                    json!(saved.muted_until),
                );
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::AlertMuted, saved.alert_id).with(changes),
                )
                .await?;
                Ok(saved)
            })
            .await?;
        Ok(Json(alert_out(saved)))
    }

    /// Delete an alert rule with its history. Members.
    #[oai(
        path = "/:org_id/projects/:project_id/alerts/:alert_id",
        method = "delete",
        operation_id = "delete_alert"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        alert_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let (org, project) = (scope.org(), scope.project_id());
        scope
            .run(async |conn| {
                let Some(before) = alerts::find(conn, org, project, *alert_id).await? else {
                    return Err(ApiError::not_found("alert"));
                };
                alerts::delete(conn, org, project, *alert_id).await?;
                let entry = Entry::new(Action::AlertDeleted, before.alert_id)
                    .with(Changes::deleted(audited(&before)));
                audit::record(conn, org, entry).await?;
                Ok(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }

    /// An alert's state changes, newest first (at most `limit`, default 50, up to 200).
    #[oai(
        path = "/:org_id/projects/:project_id/alerts/:alert_id/history",
        method = "get",
        operation_id = "alert_history"
    )]
    async fn history(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        alert_id: Path<Uuid>,
        limit: Query<Option<i64>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<AlertEventOut>>> {
        let (org, project) = (scope.org(), scope.project_id());
        let limit = tenant::tables::page_size(*limit);
        let events = scope
            .run(async |conn| {
                if alerts::find(conn, org, project, *alert_id).await?.is_none() {
                    return Err(ApiError::not_found("alert"));
                }
                Ok(alerts::history(conn, org, *alert_id, limit).await?)
            })
            .await?;
        Ok(Json(events.into_iter().map(event_out).collect()))
    }

    /// What a rule would see: the value it compares over its last 24 windows (the latest
    /// ending now), and the thresholds, without storing anything. For the chart beside the
    /// rule while it is written.
    #[oai(
        path = "/:org_id/projects/:project_id/alerts/preview",
        method = "post",
        operation_id = "preview_alert"
    )]
    async fn preview(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<AlertIn>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<AlertPreview>> {
        let (_, spec, _) = validate(&body)?;
        let project = scope.project.clone();
        let seen = scope
            .run(async |conn| {
                Ok::<_, DbError>(observe_recent(conn, &project, &spec, Utc::now(), 24).await?)
            })
            .await?;
        let points = seen
            .into_iter()
            .map(|(at, seen)| match seen {
                Ok(seen) => PreviewPoint {
                    at,
                    // An anomaly rule shows the metric against its band; the others the value
                    // they compare with their thresholds.
                    value: Some(if seen.expected.is_some() {
                        seen.actual
                    } else {
                        seen.compared
                    }),
                    lower: seen.expected.map(|band| band.lower),
                    upper: seen.expected.map(|band| band.upper),
                    breach: seen
                        .thresholds(&spec)
                        .breach(seen.compared)
                        .map(|level| level.as_str().to_owned()),
                    note: None,
                },
                Err(why) => PreviewPoint {
                    at,
                    value: None,
                    lower: None,
                    upper: None,
                    breach: None,
                    note: Some(why),
                },
            })
            .collect();
        Ok(Json(AlertPreview {
            points,
            warning: spec.warning,
            critical: spec.critical,
            resolve: spec.resolve,
        }))
    }
}
