//! A project's e-mail reports: who receives the weekly (Monday) and monthly (1st) report,
//! subscribing oneself, an admin adding any address, removing a subscription, a preview sent
//! to oneself now, and the unsubscribe link of every report e-mail (no sign-in: its token names
//! the subscription). The worker composes and sends the reports (`worker/src/reports/`).
//! Subscribing needs the `reports` plan feature when billing is on.

use billing::Feature;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use tenant::ProjectId;
use tenant::actor::Actor;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::reports::unsubscribe;
use tenant::tables::projects;
use tenant::tables::reports::{self, Cadence, Recipient, Subscription};
use tenant::tables::schedules::REPORT_LOCAL_TIME;
use uuid::Uuid;
use worker::jobs::{Job, SendReport};

use crate::auth::Need;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{ProjectScope, Viewer};
use crate::state::AppState;

/// A subscription to ask for.
#[derive(Debug, Object)]
pub struct SubscriptionIn {
    /// `weekly` (Mondays, the previous week) or `monthly` (the 1st, the previous month).
    #[oai(validator(max_length = 10))]
    pub cadence: Text,
    /// Another address to send it to (admins). Absent: subscribe yourself.
    #[oai(validator(max_length = 254))]
    pub email: Option<Text>,
    /// Send nothing for a period without visitors or errors (default true).
    pub skip_empty: Option<bool>,
}

/// A subscription.
#[derive(Debug, Object)]
pub struct SubscriptionOut {
    /// Id.
    pub subscription_id: Uuid,
    /// `weekly` or `monthly`.
    pub cadence: String,
    /// Where it goes.
    pub email: String,
    /// The member who subscribed; absent for an address an admin added.
    pub user_id: Option<Uuid>,
    /// Whether it is the caller's own.
    pub mine: bool,
    /// Nothing is sent for a period without traffic.
    pub skip_empty: bool,
    /// When it was last sent.
    pub last_sent_at: Option<DateTime<Utc>>,
}

/// A project's report subscriptions.
#[derive(Debug, Object)]
pub struct ReportsOut {
    /// Local time the reports go out (Mondays and the 1st).
    pub send_time: String,
    /// The project's time zone (the reports' days and send time).
    pub timezone: String,
    /// Subscriptions, weekly first.
    pub subscriptions: Vec<SubscriptionOut>,
}

/// Ask for a preview.
#[derive(Debug, Object)]
pub struct PreviewIn {
    /// `weekly` or `monthly`.
    #[oai(validator(max_length = 10))]
    pub cadence: Text,
}

/// What the unsubscribe link stopped.
#[derive(Debug, Object)]
pub struct UnsubscribedOut {
    /// The project whose report stops (absent: the subscription was already gone).
    pub project: Option<String>,
    /// `weekly` or `monthly`.
    pub cadence: Option<String>,
}

#[derive(ApiResponse)]
enum PreviewQueued {
    /// Queued: the preview is on its way to your address.
    #[oai(status = 202)]
    Accepted,
}

fn cadence(text: &str) -> ApiResult<Cadence> {
    Cadence::parse(text).ok_or_else(|| {
        ApiError::invalid(
            ProblemKind::InvalidRequest,
            "`cadence` is `weekly` or `monthly`",
        )
    })
}

fn out(subscription: Subscription, me: Option<Uuid>) -> SubscriptionOut {
    SubscriptionOut {
        mine: subscription.user_id.is_some() && subscription.user_id == me,
        subscription_id: subscription.subscription_id,
        cadence: subscription.cadence,
        email: subscription.email,
        user_id: subscription.user_id,
        skip_empty: subscription.skip_empty,
        last_sent_at: subscription.last_sent_at,
    }
}

/// Report operations.
#[derive(Default)]
pub struct ReportsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Projects")]
impl ReportsApi {
    /// The project's report subscriptions, the send time and the time zone.
    #[oai(
        path = "/orgs/:org_id/projects/:project_id/reports",
        method = "get",
        operation_id = "list_report_subscriptions"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<ReportsOut>> {
        let (org, project) = (scope.org(), scope.project_id());
        let me = scope.access.user_id.map(|user| user.uuid());
        let timezone = scope.project.timezone.clone();
        let found = scope
            .run(async |conn| Ok::<_, ApiError>(reports::for_project(conn, org, project).await?))
            .await?;
        Ok(Json(ReportsOut {
            send_time: REPORT_LOCAL_TIME.to_owned(),
            timezone,
            subscriptions: found.into_iter().map(|s| out(s, me)).collect(),
        }))
    }

    /// Subscribe yourself to the weekly or monthly report, or (admins) add another address.
    /// Subscribing again changes `skip_empty` only. The `reports` plan feature.
    #[oai(
        path = "/orgs/:org_id/projects/:project_id/reports/subscriptions",
        method = "post",
        operation_id = "create_report_subscription"
    )]
    async fn subscribe(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<SubscriptionIn>,
        state: Data<&AppState>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Created<SubscriptionOut>> {
        scope.entitlements.require(Feature::Reports)?;
        let cadence = cadence(&body.cadence)?;
        let (org, project) = (scope.org(), scope.project_id());
        let me = scope.access.user_id.map(|user| user.uuid());
        let email = match &body.email {
            Some(email) => {
                scope.access.require(Need::Admin)?;
                Some(crate::routes::auth::normalize_email(email)?)
            }
            None => None,
        };
        let recipient = match (&email, me) {
            (Some(email), _) => Recipient::Address(email),
            (None, Some(user)) => Recipient::Member(user),
            (None, None) => {
                return Err(ApiError::invalid(
                    ProblemKind::InvalidRequest,
                    "an API key has no address of its own: give `email`",
                ));
            }
        };
        let skip_empty = body.skip_empty.unwrap_or(true);
        let now = state.clock.now();
        let saved = scope
            .run(async |conn| {
                let report = reports::ensure(conn, org, project, cadence, now).await?;
                let id = reports::subscribe(conn, org, report.report_id, recipient, skip_empty, me)
                    .await?;
                let saved = reports::find_subscription(conn, org, project, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("subscription"))?;
                let changes = Changes::created(json!({
                    "cadence": cadence.as_str(), "email": saved.email, "skip_empty": skip_empty,
                }));
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::ReportSubscribed, id).with(changes),
                )
                .await?;
                Ok::<_, ApiError>(saved)
            })
            .await?;
        Ok(Created::Created(Json(out(saved, me))))
    }

    /// Remove a subscription: your own, or any (admins).
    #[oai(
        path = "/orgs/:org_id/projects/:project_id/reports/subscriptions/:subscription_id",
        method = "delete",
        operation_id = "delete_report_subscription"
    )]
    async fn remove(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        subscription_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<NoContent> {
        let (org, project) = (scope.org(), scope.project_id());
        let me = scope.access.user_id.map(|user| user.uuid());
        let admin = scope.access.require(Need::Admin).is_ok();
        scope
            .run(async |conn| {
                let found = reports::find_subscription(conn, org, project, *subscription_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("subscription"))?;
                let own = found.user_id.is_some() && found.user_id == me;
                if !own && !admin {
                    return Err(ApiError::forbidden(
                        "only admins remove other people's subscriptions",
                    ));
                }
                reports::unsubscribe(conn, org, found.subscription_id).await?;
                record_removal(conn, org, &found).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Send the report of the last complete week or month to yourself now (a preview: nothing
    /// is marked as sent). The `reports` plan feature.
    #[oai(
        path = "/orgs/:org_id/projects/:project_id/reports/preview",
        method = "post",
        operation_id = "preview_report"
    )]
    async fn preview(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<PreviewIn>,
        state: Data<&AppState>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<PreviewQueued> {
        scope.entitlements.require(Feature::Reports)?;
        let cadence = cadence(&body.cadence)?;
        let user = scope.caller.user()?;
        let job = Job::SendReport(SendReport {
            org_id: scope.org_id(),
            project_id: scope.project.project_id,
            cadence: cadence.as_str().to_owned(),
            slot: state.clock.now(),
            preview_to: Some(user.uuid()),
        });
        scope
            .run(async |conn| {
                worker::queue::enqueue(conn, &job).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(PreviewQueued::Accepted)
    }

    /// The unsubscribe link of a report e-mail (no sign-in; also RFC 8058's one-click POST
    /// from mail clients, whatever its body). Stopping a subscription that is already gone
    /// succeeds.
    #[oai(
        path = "/reports/unsubscribe",
        method = "post",
        operation_id = "unsubscribe_report"
    )]
    async fn unsubscribe(
        &self,
        req: &poem::Request,
        #[oai(validator(max_length = 200))] token: Query<String>,
        state: Data<&AppState>,
    ) -> ApiResult<Json<UnsubscribedOut>> {
        let (org, subscription) =
            unsubscribe::open(&state.sealing_key, &token).ok_or_else(|| {
                ApiError::bad_request(
                    ProblemKind::TokenInvalid,
                    "this unsubscribe link is not valid: use the link of a report e-mail",
                )
            })?;
        let actor = Actor::System("report_unsubscribe_link");
        let context = crate::scope::request_context(req, &state);
        let stopped = state
            .db
            .scoped_as_for(org, &actor, &context, async |conn| {
                let Some(found) = reports::find_any_subscription(conn, org, subscription).await?
                else {
                    return Ok::<_, ApiError>(None);
                };
                let project = ProjectId::from_uuid(found.project_id);
                let name = projects::find(conn, org, project)
                    .await?
                    .map(|found| found.project.name)
                    .unwrap_or_default();
                reports::unsubscribe(conn, org, subscription).await?;
                record_removal(conn, org, &found).await?;
                Ok(Some((found, name)))
            })
            .await?;
        Ok(Json(match stopped {
            Some((subscription, project)) => UnsubscribedOut {
                project: Some(project),
                cadence: Some(subscription.cadence),
            },
            None => UnsubscribedOut {
                project: None,
                cadence: None,
            },
        }))
    }
}

async fn record_removal(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    org: tenant::OrgId,
    removed: &Subscription,
) -> Result<(), tenant::DbError> {
    let changes = Changes::default()
        .set("cadence", json!(removed.cadence), serde_json::Value::Null)
        .set("email", json!(removed.email), serde_json::Value::Null);
    audit::record(
        conn,
        org,
        Entry::new(Action::ReportUnsubscribed, removed.subscription_id).with(changes),
    )
    .await?;
    Ok(())
}
