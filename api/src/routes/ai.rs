//! AI insights over HTTP: an organization's switch, budget and usage (owners change them), and
//! the three insights streamed as server-sent events: a period's highlights, an error issue's
//! explanation and Web Vitals bottleneck hints (`worker/src/ai/`).
//!
//! Refusals come before the stream, as problem+json: the plan (`ai_summaries`), the switch
//! (`ai_disabled`), no endpoint (`ai_not_configured`), the budget (`ai_budget_exhausted`) and an
//! endpoint that does not answer (`ai_unavailable`). The highlights never refuse for those:
//! they fall back to Beacon's own statistical summary, labelled, with a notice saying why.

use billing::Feature;
use chrono::NaiveDate;
use futures::StreamExt;
use futures::stream::BoxStream;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::{Object, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::reports::Period;
use tenant::tables::ai::{self as ai_rows, BUDGET_RANGE};
use tenant::{DbError, OrgId};
use uuid::Uuid;
use worker::ai::service::{self, Answered, Author, Streamed, Unanswered};
use worker::ai::{AiError, highlights, issue, vitals};

use crate::auth::Need;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::scope::{OrgScope, ProjectScope, Viewer};
use crate::state::AppState;

/// Tokens one feature used this month.
#[derive(Debug, Object)]
pub struct FeatureUsageOut {
    /// `highlights`, `issue_explanation` or `vitals_hints`.
    pub feature: String,
    /// Answers asked of the endpoint (cached ones not counted).
    pub requests: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Answer tokens.
    pub completion_tokens: i64,
}

/// An organization's AI insights.
#[derive(Debug, Object)]
pub struct AiSettingsOut {
    /// Whether the installation has an AI endpoint (`BEACON_AI_BASE_URL`).
    pub configured: bool,
    /// The endpoint's model, when configured.
    pub model: Option<String>,
    /// Whether the plan includes AI summaries.
    pub plan_allows: bool,
    /// Switched on by an owner.
    pub enabled: bool,
    /// Tokens per calendar month (UTC).
    pub monthly_token_budget: i64,
    /// Tokens used this month.
    pub used_this_month: i64,
    /// The first day of the month counted.
    pub month: NaiveDate,
    /// By feature.
    pub usage: Vec<FeatureUsageOut>,
}

/// New AI settings.
#[derive(Debug, Object)]
pub struct AiSettingsIn {
    /// Switch AI insights on or off.
    pub enabled: bool,
    /// Tokens per calendar month (1 to 1,000,000,000); absent: unchanged.
    pub monthly_token_budget: Option<i64>,
}

/// A fact an answer may cite.
#[derive(Debug, Object)]
pub struct FactOut {
    /// `F3` (cited in the text as `[F3]`).
    pub id: String,
    /// The statement with its figures.
    pub text: String,
    /// Where it lives in the dashboard (a path of the web app).
    pub link: Option<String>,
}

/// A finished answer.
#[derive(Debug, Object)]
pub struct AnswerOut {
    /// The text; `[F3]` cites fact `F3`.
    pub text: String,
    /// `ai` or `statistical` (Beacon's own summary, no AI involved).
    pub author: String,
    /// The model, for an AI answer.
    pub model: Option<String>,
    /// How to label it (`Written by AI (gpt-4o-mini) from Beacon's figures`).
    pub label: String,
    /// Every fact the answer could cite.
    pub facts: Vec<FactOut>,
    /// Figures in the text found in none of the facts (they are not Beacon's numbers).
    pub unverified: Vec<String>,
    /// Served from the cache (no tokens used).
    pub cached: bool,
    /// Prompt tokens used.
    pub prompt_tokens: i64,
    /// Answer tokens used.
    pub completion_tokens: i64,
    /// Why the answer is not the AI's, for a statistical answer when AI was asked for.
    pub notice: Option<String>,
}

/// One server-sent event of an answer: `text` (more of it), then `done` (the whole answer)
/// or `error` (the endpoint stopped midway).
#[derive(Debug, Object)]
pub struct AiEventOut {
    /// `text`, `done` or `error`.
    pub kind: String,
    /// More text (`text`).
    pub text: Option<String>,
    /// The whole answer (`done`).
    pub answer: Option<AnswerOut>,
    /// What went wrong (`error`).
    pub error: Option<String>,
}

type AiStream = EventStream<BoxStream<'static, AiEventOut>>;

fn answer_out(answered: Answered, notice: Option<String>) -> AnswerOut {
    let (author, model, label) = match &answered.author {
        Author::Ai { model } => (
            "ai",
            Some(model.clone()),
            format!("Written by AI ({model}) from Beacon's figures"),
        ),
        Author::Statistical => (
            "statistical",
            None,
            "Statistical summary computed by Beacon (no AI)".to_owned(),
        ),
    };
    AnswerOut {
        text: answered.text,
        author: author.to_owned(),
        model,
        label,
        facts: answered
            .facts
            .into_iter()
            .map(|fact| FactOut {
                id: fact.id,
                text: fact.text,
                link: fact.link,
            })
            .collect(),
        unverified: answered.unverified,
        cached: answered.cached,
        prompt_tokens: answered.tokens.0,
        completion_tokens: answered.tokens.1,
        notice,
    }
}

fn event(kind: &str) -> AiEventOut {
    AiEventOut {
        kind: kind.to_owned(),
        text: None,
        answer: None,
        error: None,
    }
}

fn events(streamed: BoxStream<'static, Streamed>) -> AiStream {
    let stream = streamed.map(|item| match item {
        Streamed::Text(text) => AiEventOut {
            text: Some(text),
            ..event("text")
        },
        Streamed::Done(answered) => AiEventOut {
            answer: Some(answer_out(*answered, None)),
            ..event("done")
        },
        Streamed::Failed(error) => AiEventOut {
            error: Some(format!("{error}; try again later")),
            ..event("error")
        },
    });
    EventStream::new(stream.boxed()).keep_alive(std::time::Duration::from_secs(15))
}

/// A statistical answer as a stream: all its text, then the answer.
fn at_once(answered: Answered, notice: Option<String>) -> AiStream {
    let text = answered.text.clone();
    let items = vec![
        AiEventOut {
            text: Some(text),
            ..event("text")
        },
        AiEventOut {
            answer: Some(answer_out(answered, notice)),
            ..event("done")
        },
    ];
    EventStream::new(futures::stream::iter(items).boxed())
}

impl From<Unanswered> for ApiError {
    fn from(refusal: Unanswered) -> Self {
        let detail = refusal.to_string();
        match refusal {
            Unanswered::NotConfigured => Self::conflict(ProblemKind::AiNotConfigured, detail),
            Unanswered::Disabled => Self::conflict(ProblemKind::AiDisabled, detail),
            Unanswered::OverBudget { .. } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ProblemKind::AiBudgetExhausted,
                detail,
            ),
            Unanswered::Endpoint(AiError::Refused(_)) => Self::new(
                StatusCode::BAD_GATEWAY,
                ProblemKind::AiUnavailable,
                format!("{detail}; an operator should check BEACON_AI_MODEL and BEACON_AI_API_KEY"),
            ),
            Unanswered::Endpoint(_) => Self {
                retry_after: Some(30),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ProblemKind::AiUnavailable,
                    format!("{detail}; try again in a minute"),
                )
            },
            Unanswered::Db(error) => error.into(),
        }
    }
}

/// The project's path in the web app.
fn project_path(org: OrgId, project: Uuid) -> String {
    format!("/orgs/{org}/projects/{project}")
}

/// AI operations.
#[derive(Default)]
pub struct AiApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Organizations")]
impl AiApi {
    /// The organization's AI insights: whether an endpoint is configured and the plan allows
    /// them, the owner's switch, the monthly token budget and this month's usage.
    #[oai(path = "/:org_id/ai", method = "get", operation_id = "get_ai_settings")]
    async fn settings(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<AiSettingsOut>> {
        let org = scope.org();
        let plan_allows = scope.entitlements.require(Feature::AiSummaries).is_ok();
        let month = ai_rows::month_of(state.clock.now());
        let read = scope
            .run(async |conn| Ok::<_, DbError>(read(conn, org, month).await?))
            .await?;
        Ok(Json(settings_out(&state, plan_allows, read, month)))
    }

    /// Switches AI insights on or off and sets the monthly token budget (owners). Switching on
    /// needs the `ai_summaries` plan feature when billing is on.
    #[oai(
        path = "/:org_id/ai",
        method = "put",
        operation_id = "update_ai_settings"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<AiSettingsIn>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<AiSettingsOut>> {
        scope.access.require(Need::Owner)?;
        let plan_allows = scope.entitlements.require(Feature::AiSummaries).is_ok();
        if body.enabled {
            scope.entitlements.require(Feature::AiSummaries)?;
        }
        if let Some(budget) = body.monthly_token_budget
            && !(BUDGET_RANGE.0..=BUDGET_RANGE.1).contains(&budget)
        {
            return Err(ApiError::invalid(
                ProblemKind::InvalidRequest,
                format!(
                    "`monthly_token_budget` is between {} and {} tokens",
                    BUDGET_RANGE.0, BUDGET_RANGE.1
                ),
            ));
        }
        let org = scope.org();
        let by = scope.access.user_id.map(|user| user.uuid());
        let month = ai_rows::month_of(state.clock.now());
        let read = scope
            .run(async |conn| {
                let before = ai_rows::settings(conn, org).await?;
                let budget = body
                    .monthly_token_budget
                    .unwrap_or(before.monthly_token_budget);
                ai_rows::save(conn, org, body.enabled, budget, by).await?;
                let changes = Changes::default()
                    .set("enabled", json!(before.enabled), json!(body.enabled))
                    .set(
                        "monthly_token_budget",
                        json!(before.monthly_token_budget),
                        json!(budget),
                    );
                let entry = Entry::new(Action::AiSettingsUpdated, org.uuid()).with(changes);
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(read(conn, org, month).await?)
            })
            .await?;
        Ok(Json(settings_out(&state, plan_allows, read, month)))
    }

    /// The highlights of a period (`period` as the dashboard's; default `7d`) against the
    /// period before, streamed as server-sent events. Written by AI when the organization has
    /// it on; otherwise (or when the endpoint fails or the budget is spent) Beacon's own
    /// statistical summary, labelled, with a `notice` saying why.
    #[oai(
        path = "/:org_id/projects/:project_id/ai/highlights",
        method = "post",
        operation_id = "stream_ai_highlights",
        tag = "ApiTags::Stats"
    )]
    async fn highlights(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        #[oai(validator(max_length = 30))] period: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<AiStream> {
        let range =
            tenant::stats::request::parse_period(Some(period.0.as_deref().unwrap_or("7d")))?;
        let org = scope.org();
        let plan_allows = scope.entitlements.require(Feature::AiSummaries).is_ok();
        let project = scope.project.clone();
        let path = project_path(org, project.project_id);
        let now = state.clock.now();
        let data = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &project.timezone, now).await?;
                let (from, to) = range.resolve(today, project.created_at.date_naive());
                let period = Period { from, to };
                let periods = (period, period.before());
                Ok::<_, ApiError>(highlights::load(conn, &project, periods).await?)
            })
            .await?;
        let statistical = || {
            Answered::statistical(
                highlights::statistical(&data, &path),
                highlights::facts(&data, &path),
            )
        };
        let Some(ai) = state.ai.as_ref() else {
            return Ok(at_once(
                statistical(),
                Some(Unanswered::NotConfigured.to_string()),
            ));
        };
        if !plan_allows {
            let notice = "AI highlights need a plan with AI summaries".to_owned();
            return Ok(at_once(statistical(), Some(notice)));
        }
        let prepared = worker::ai::highlights_prompt(&data, project.project_id, &path)
            .map_err(ApiError::internal)?;
        match service::stream(&state.db, org, ai, &prepared, now).await {
            Ok(streamed) => Ok(events(streamed)),
            Err(Unanswered::Db(error)) => Err(error.into()),
            Err(refusal) => Ok(at_once(statistical(), Some(refusal.to_string()))),
        }
    }

    /// An error issue explained by AI: the likely cause and where to look, from the grouped
    /// issue, its counts by release, environment, browser and OS, and the latest stack.
    /// Streamed as server-sent events.
    #[oai(
        path = "/:org_id/projects/:project_id/issues/:issue_id/ai/explanation",
        method = "post",
        operation_id = "stream_ai_issue_explanation",
        tag = "ApiTags::Errors"
    )]
    async fn explain_issue(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        issue_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<AiStream> {
        scope.entitlements.require(Feature::AiSummaries)?;
        let ai = state.ai.as_ref().ok_or(Unanswered::NotConfigured)?;
        let (org, project_id) = (scope.org(), scope.project_id());
        let project = scope.project.clone();
        let data = scope
            .run(async |conn| {
                Ok::<_, ApiError>(issue::load(conn, (org, project_id), *issue_id).await?)
            })
            .await?
            .ok_or_else(|| ApiError::not_found("issue"))?;
        let path = project_path(org, project.project_id);
        let prepared =
            worker::ai::issue_prompt(&data, &project.name, &path).map_err(ApiError::internal)?;
        Ok(events(
            service::stream(&state.db, org, ai, &prepared, state.clock.now()).await?,
        ))
    }

    /// Web Vitals bottleneck hints by AI: which pages and elements drive a poor p75 of LCP,
    /// INP and CLS over `period` (default `30d`), from web-vitals' attribution. Streamed as
    /// server-sent events.
    #[oai(
        path = "/:org_id/projects/:project_id/ai/vitals-hints",
        method = "post",
        operation_id = "stream_ai_vitals_hints",
        tag = "ApiTags::Stats"
    )]
    async fn vitals_hints(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        #[oai(validator(max_length = 30))] period: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<AiStream> {
        scope.entitlements.require(Feature::AiSummaries)?;
        let ai = state.ai.as_ref().ok_or(Unanswered::NotConfigured)?;
        let range = tenant::stats::request::parse_period(period.0.as_deref())?;
        let (org, project_id) = (scope.org(), scope.project_id());
        let project = scope.project.clone();
        let now = state.clock.now();
        let (data, from, to) = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &project.timezone, now).await?;
                let (from, to) = range.resolve(today, project.created_at.date_naive());
                let data = vitals::load(conn, (project_id, &project.timezone), from, to).await?;
                Ok::<_, ApiError>((data, from, to))
            })
            .await?;
        if data.is_empty() {
            return Err(ApiError::invalid(
                ProblemKind::InvalidRequest,
                format!("the project has no Web Vitals samples from {from} to {to}"),
            ));
        }
        let path = project_path(org, project.project_id);
        let period = Period { from, to };
        let prepared =
            worker::ai::vitals_prompt(&data, (project.project_id, &project.name), &period, &path)
                .map_err(ApiError::internal)?;
        Ok(events(
            service::stream(&state.db, org, ai, &prepared, now).await?,
        ))
    }
}

/// The organization's settings and its usage in `month`.
async fn read(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrgId,
    month: NaiveDate,
) -> diesel::QueryResult<(ai_rows::AiSettings, Vec<ai_rows::FeatureUsage>)> {
    Ok((
        ai_rows::settings(conn, org).await?,
        ai_rows::usage(conn, org, month).await?,
    ))
}

fn settings_out(
    state: &AppState,
    plan_allows: bool,
    (settings, usage): (ai_rows::AiSettings, Vec<ai_rows::FeatureUsage>),
    month: NaiveDate,
) -> AiSettingsOut {
    AiSettingsOut {
        configured: state.ai.is_some(),
        model: state.ai.as_ref().map(|ai| ai.model().to_owned()),
        plan_allows,
        enabled: settings.enabled,
        monthly_token_budget: settings.monthly_token_budget,
        used_this_month: usage
            .iter()
            .map(|u| u.prompt_tokens + u.completion_tokens)
            .sum(),
        month,
        usage: usage
            .into_iter()
            .map(|u| FeatureUsageOut {
                feature: u.feature,
                requests: u.requests,
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
            })
            .collect(),
    }
}
