//! Error issues beyond the error list: which channels hear of new and regressed issues (the
//! project's issue notification settings), and tickets in Jira or GitHub made from an issue's
//! page, listed on it, and commented on when the issue is resolved in Beacon.
//!
//! Making a ticket is queued like any notification (a delivery to the connector): the page
//! follows it with `GET …/tickets`, where a refusal (a bad token, an unknown project) shows
//! with the tracker's own message.

use billing::Feature;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::diesel_async::AsyncPgConnection;
use tenant::errors::notices::{IssueFacts, issue_payload};
use tenant::problem::ProblemKind;
use tenant::tables::issue_notifications::{self, Chosen, Settings};
use tenant::tables::notification_channels::{self as channels, ConnectorSettings};
use tenant::tables::notification_deliveries::{self as deliveries, Subject};
use tenant::tables::{error_issues, issue_tickets, projects};
use tenant::{OrgId, ProjectId};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::scope::{Admin, Member, ProjectScope, Viewer};
use crate::state::AppState;

/// Default of the hourly cap.
const DEFAULT_HOURLY_CAP: i32 = 20;

/// Which channels hear of new and regressed error issues.
#[derive(Debug, Object)]
pub struct IssueNotificationsIn {
    /// Tell of new issues (default true).
    pub on_new: Option<bool>,
    /// Tell of regressions: a resolved issue seen again (default true).
    pub on_regression: Option<bool>,
    /// Channels told (a Jira or GitHub connector makes a ticket per issue).
    #[oai(validator(max_items = 20))]
    pub channel_ids: Vec<Uuid>,
    /// Most notices per hour (1 to 1,000, default 20); what the cap holds back is counted and
    /// said in the next hour's first notice.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub hourly_cap: Option<i32>,
}

/// A project's issue notification settings.
#[derive(Debug, Object)]
pub struct IssueNotificationsOut {
    /// Tell of new issues.
    pub on_new: bool,
    /// Tell of regressions.
    pub on_regression: bool,
    /// Channels told (none: no notices).
    pub channel_ids: Vec<Uuid>,
    /// Most notices per hour.
    pub hourly_cap: i32,
    /// Notices sent in the current hour.
    pub sent_this_hour: i32,
    /// Notices the cap held back in the current hour.
    pub held_back_this_hour: i32,
}

fn settings_out(settings: Option<Settings>, now: DateTime<Utc>) -> IssueNotificationsOut {
    let Some(settings) = settings else {
        return IssueNotificationsOut {
            on_new: true,
            on_regression: true,
            channel_ids: Vec::new(),
            hourly_cap: DEFAULT_HOURLY_CAP,
            sent_this_hour: 0,
            held_back_this_hour: 0,
        };
    };
    let current = settings
        .window_start
        .is_some_and(|start| now - start < chrono::Duration::hours(1));
    IssueNotificationsOut {
        on_new: settings.on_new,
        on_regression: settings.on_regression,
        channel_ids: settings.channel_ids,
        hourly_cap: settings.hourly_cap,
        sent_this_hour: if current { settings.sent_in_window } else { 0 },
        held_back_this_hour: if current { settings.held_back } else { 0 },
    }
}

/// Ask for a ticket.
#[derive(Debug, Object)]
pub struct TicketIn {
    /// The Jira or GitHub connector (a channel of kind `jira` or `github`).
    pub channel_id: Uuid,
}

/// A ticket made for an issue.
#[derive(Debug, Object)]
pub struct TicketOut {
    /// The connector.
    pub channel_id: Uuid,
    /// `OPS-12` (Jira) or `acme/web#34` (GitHub).
    pub key: String,
    /// Its page.
    pub url: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A ticket asked for that is not made yet, or was refused.
#[derive(Debug, Object)]
pub struct TicketRequestOut {
    /// The delivery (also in the connector's delivery log).
    pub delivery_id: Uuid,
    /// The connector.
    pub channel_id: Uuid,
    /// `pending` or `failed`.
    pub status: String,
    /// What the tracker said, if it refused.
    pub last_error: Option<String>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
}

/// An issue's tickets.
#[derive(Debug, Object)]
pub struct IssueTicketsOut {
    /// Tickets made, oldest first.
    pub tickets: Vec<TicketOut>,
    /// Tickets asked for and not made (pending or refused), newest first.
    pub requests: Vec<TicketRequestOut>,
}

/// A ticket was asked for.
#[derive(Debug, Object)]
pub struct TicketQueued {
    /// The delivery to follow.
    pub delivery_id: Uuid,
}

#[derive(ApiResponse)]
enum Queued {
    /// Queued; `GET …/tickets` shows how it went.
    #[oai(status = 202)]
    Accepted(Json<TicketQueued>),
}

fn facts(issue: &error_issues::Issue) -> IssueFacts<'_> {
    IssueFacts {
        issue_id: issue.issue_id,
        title: &issue.title,
        culprit: issue.culprit.as_deref(),
        level: &issue.level,
        release: issue.last_release.as_deref(),
    }
}

/// Queues a comment on each of the issue's tickets whose connector comments on resolution
/// (called when a member resolves the issue, in that transaction).
pub(crate) async fn queue_resolution_comments(
    conn: &mut AsyncPgConnection,
    (org, project): (OrgId, &projects::Project),
    issue: &error_issues::Issue,
    public_url: &str,
) -> Result<(), tenant::DbError> {
    let tickets = issue_tickets::for_issue(conn, org, issue.issue_id).await?;
    let project_id = ProjectId::from_uuid(project.project_id);
    for ticket in tickets {
        let Some(channel) = channels::find(conn, org, ticket.channel_id).await? else {
            continue;
        };
        if !channel.enabled || !ConnectorSettings::of(&channel).comment_on_resolve {
            continue;
        }
        let summary = match &issue.resolved_in_release {
            Some(release) => format!("Resolved in Beacon, in the release after {release}."),
            None => "Resolved in Beacon.".to_owned(),
        };
        let payload = issue_payload(
            "issue.resolved",
            summary,
            (org, project_id, &project.name),
            &facts(issue),
            public_url,
            Utc::now(),
        );
        let subject = Subject {
            alert: None,
            issue: Some(issue.issue_id),
        };
        deliveries::enqueue(conn, org, channel.channel_id, subject, "comment", &payload).await?;
    }
    Ok(())
}

/// Error-issue notification and ticket operations.
#[derive(Default)]
pub struct IssueNoticesApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Alerts")]
impl IssueNoticesApi {
    /// Which channels hear of the project's new and regressed error issues, and the hourly
    /// cap (defaults when never set: both occasions, no channels, 20 an hour).
    #[oai(
        path = "/:org_id/projects/:project_id/issue-notifications",
        method = "get",
        operation_id = "get_issue_notifications"
    )]
    async fn get(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<IssueNotificationsOut>> {
        let (org, project) = (scope.org(), scope.project_id());
        let found = scope
            .run(async |conn| {
                Ok::<_, ApiError>(issue_notifications::find(conn, org, project).await?)
            })
            .await?;
        Ok(Json(settings_out(found, Utc::now())))
    }

    /// Set which channels hear of new and regressed error issues. Admins; the `alerts` plan
    /// feature.
    #[oai(
        path = "/:org_id/projects/:project_id/issue-notifications",
        method = "put",
        operation_id = "set_issue_notifications"
    )]
    async fn set(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<IssueNotificationsIn>,
        scope: ProjectScope<Admin>,
    ) -> ApiResult<Json<IssueNotificationsOut>> {
        scope.entitlements.require(Feature::Alerts)?;
        let (org, project) = (scope.org(), scope.project_id());
        let mut channel_ids = body.channel_ids.clone();
        channel_ids.sort();
        channel_ids.dedup();
        let chosen = Chosen {
            on_new: body.on_new.unwrap_or(true),
            on_regression: body.on_regression.unwrap_or(true),
            channel_ids: &channel_ids,
            hourly_cap: body.hourly_cap.unwrap_or(DEFAULT_HOURLY_CAP),
        };
        let saved = scope
            .run(async |conn| {
                crate::routes::alerts::check_channels(conn, org, &channel_ids).await?;
                let before = issue_notifications::find(conn, org, project).await?;
                let saved = issue_notifications::save(conn, org, project, &chosen).await?;
                let fields = |settings: Option<&Settings>| {
                    settings.map(|settings| {
                        json!({
                            "on_new": settings.on_new, "on_regression": settings.on_regression,
                            "channel_ids": settings.channel_ids, "hourly_cap": settings.hourly_cap,
                        })
                    })
                };
                let changes = match fields(before.as_ref()) {
                    Some(before) => {
                        Changes::diff(&before, &fields(Some(&saved)).unwrap_or_default())
                    }
                    None => Changes::created(fields(Some(&saved)).unwrap_or_default()),
                };
                let entry =
                    Entry::new(Action::IssueNotificationsUpdated, project.uuid()).with(changes);
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(saved)
            })
            .await?;
        Ok(Json(settings_out(Some(saved), Utc::now())))
    }

    /// The issue's tickets in Jira or GitHub, and the ones asked for that are pending or were
    /// refused (with the tracker's message).
    #[oai(
        path = "/:org_id/projects/:project_id/issues/:issue_id/tickets",
        method = "get",
        operation_id = "list_issue_tickets"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        issue_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<IssueTicketsOut>> {
        let (org, project) = (scope.org(), scope.project_id());
        let (tickets, asked) = scope
            .run(async |conn| {
                error_issues::find(conn, org, project, *issue_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("issue"))?;
                let tickets = issue_tickets::for_issue(conn, org, *issue_id).await?;
                let connectors: Vec<Uuid> = channels::list(conn, org)
                    .await?
                    .into_iter()
                    .filter(|channel| channels::is_connector(&channel.kind))
                    .map(|channel| channel.channel_id)
                    .collect();
                let asked = deliveries::for_issue(conn, org, *issue_id, &connectors, 20).await?;
                Ok::<_, ApiError>((tickets, asked))
            })
            .await?;
        let made: Vec<Uuid> = tickets.iter().map(|ticket| ticket.channel_id).collect();
        let requests = asked
            .into_iter()
            .filter(|asked| asked.status != "delivered" && !made.contains(&asked.channel_id))
            .map(|asked| TicketRequestOut {
                delivery_id: asked.delivery_id,
                channel_id: asked.channel_id,
                status: asked.status,
                last_error: asked.last_error,
                created_at: asked.created_at,
            })
            .collect();
        let tickets = tickets
            .into_iter()
            .map(|ticket| TicketOut {
                channel_id: ticket.channel_id,
                key: ticket.ticket_key,
                url: ticket.ticket_url,
                created_at: ticket.created_at,
            })
            .collect();
        Ok(Json(IssueTicketsOut { tickets, requests }))
    }

    /// Make a ticket for the issue in a Jira or GitHub connector (queued; one ticket per issue
    /// and connector). Members; the `alerts` plan feature.
    #[oai(
        path = "/:org_id/projects/:project_id/issues/:issue_id/tickets",
        method = "post",
        operation_id = "create_issue_ticket"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        issue_id: Path<Uuid>,
        body: Json<TicketIn>,
        state: Data<&AppState>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Queued> {
        scope.entitlements.require(Feature::Alerts)?;
        let (org, project) = (scope.org(), scope.project_id());
        let project_name = scope.project.name.clone();
        let public_url = state.public_url.clone().unwrap_or_default();
        let channel_id = body.channel_id;
        let delivery_id = scope
            .run(async |conn| {
                let issue = error_issues::find(conn, org, project, *issue_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("issue"))?;
                let channel = channels::find(conn, org, channel_id)
                    .await?
                    .filter(|channel| channels::is_connector(&channel.kind))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            ProblemKind::InvalidChannel,
                            "`channel_id` is not a Jira or GitHub connector of this organization",
                        )
                    })?;
                if !channel.enabled {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        "the connector is turned off: turn it on in the channel settings first",
                    ));
                }
                if let Some(ticket) =
                    issue_tickets::find(conn, org, issue.issue_id, channel_id).await?
                {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        format!(
                            "this issue already has a ticket there: {}",
                            ticket.ticket_url
                        ),
                    ));
                }
                if deliveries::pending_for_issue(conn, org, issue.issue_id, channel_id).await? {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        "a ticket for this issue is already being made there",
                    ));
                }
                let summary = format!("Error issue in {project_name}: {}.", issue.title);
                let payload = issue_payload(
                    "issue.ticket",
                    summary,
                    (org, project, &project_name),
                    &facts(&issue),
                    &public_url,
                    Utc::now(),
                );
                let subject = Subject {
                    alert: None,
                    issue: Some(issue.issue_id),
                };
                let id =
                    deliveries::enqueue(conn, org, channel_id, subject, "issue", &payload).await?;
                let changes = Changes::default().set(
                    "channel_id",
                    serde_json::Value::Null,
                    json!(channel_id),
                );
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::IssueTicketRequested, issue.issue_id).with(changes),
                )
                .await?;
                Ok::<_, ApiError>(id)
            })
            .await?;
        Ok(Queued::Accepted(Json(TicketQueued { delivery_id })))
    }
}
