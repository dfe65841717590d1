//! Goals: pageview path patterns (with `*` and `**` wildcards), custom events, and revenue
//! goals with a currency; and how many visitors converted.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::json;
use tenant::DbError;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::funnels;
use tenant::tables::goals::{self, Goal, Matcher};
use tenant::tables::{is_foreign_key_violation, is_unique_violation};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Member, ProjectScope, Viewer};
use crate::state::AppState;

/// A new goal: exactly one of `event_name` and `page_path`.
#[derive(Debug, Object)]
pub struct GoalIn {
    /// Display name; defaults to the event name or path.
    #[oai(validator(max_length = 120))]
    pub name: Option<Text>,
    /// Custom event name to count.
    #[oai(validator(max_length = 120))]
    pub event_name: Option<Text>,
    /// Path pattern of pageviews to count, e.g. `/signup/thanks` or `/blog/*`.
    #[oai(validator(max_length = 2000))]
    pub page_path: Option<Text>,
    /// For revenue goals: the ISO 4217 currency to sum.
    #[oai(validator(max_length = 3))]
    pub currency: Option<Text>,
}

/// A goal.
#[derive(Debug, Object)]
pub struct GoalOut {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Custom event name.
    pub event_name: Option<String>,
    /// Path pattern.
    pub page_path: Option<String>,
    /// Revenue currency.
    pub currency: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A goal's conversions.
#[derive(Debug, Object)]
pub struct ConversionOut {
    /// Goal id.
    pub goal_id: Uuid,
    /// Goal name.
    pub name: String,
    /// Distinct visitors who converted.
    pub visitors: i64,
    /// Matching events.
    pub events: i64,
    /// Converted visitors as a percentage of all visitors in the range.
    pub conversion_rate: f64,
    /// Revenue (decimal string) in the goal's currency, for revenue goals.
    pub revenue: Option<String>,
}

/// Conversions over a date range.
#[derive(Debug, Object)]
pub struct ConversionsOut {
    /// First day (project time zone).
    pub from: String,
    /// Last day.
    pub to: String,
    /// One entry per goal, most converting first.
    pub goals: Vec<ConversionOut>,
}

fn goal_out(goal: Goal) -> GoalOut {
    GoalOut {
        id: goal.goal_id,
        name: goal.name,
        event_name: goal.event_name,
        page_path: goal.page_pattern,
        currency: goal.currency,
        created_at: goal.created_at,
    }
}

fn clean(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Goal operations.
#[derive(Default)]
pub struct GoalsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl GoalsApi {
    /// Goals of a project.
    #[oai(
        path = "/:org_id/projects/:project_id/goals",
        method = "get",
        operation_id = "list_goals"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<GoalOut>>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let goals = scope
            .run(async |conn| Ok::<_, DbError>(goals::list(conn, org_id, project_id).await?))
            .await?;
        Ok(Json(goals.into_iter().map(goal_out).collect()))
    }

    /// Create a goal.
    #[oai(
        path = "/:org_id/projects/:project_id/goals",
        method = "post",
        operation_id = "create_goal"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<GoalIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<GoalOut>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let matcher = match (
            clean(body.event_name.as_deref()),
            clean(body.page_path.as_deref()),
        ) {
            (Some(event), None) if !event.chars().any(char::is_control) => Matcher::Event(event),
            (Some(_), None) => {
                return Err(ApiError::invalid(
                    ProblemKind::InvalidGoal,
                    "event_name has control characters",
                ));
            }
            (None, Some(path)) if path.starts_with('/') && !path.chars().any(char::is_control) => {
                Matcher::Page(path)
            }
            (None, Some(_)) => {
                return Err(ApiError::invalid(
                    ProblemKind::InvalidGoal,
                    "page_path must start with / and have no control characters",
                ));
            }
            _ => {
                return Err(ApiError::invalid(
                    ProblemKind::InvalidGoal,
                    "give exactly one of event_name and page_path",
                ));
            }
        };
        let name = clean(body.name.as_deref()).unwrap_or_else(|| match &matcher {
            Matcher::Event(event) => event.clone(),
            Matcher::Page(path) => format!("Visit {path}"),
        });
        let name = crate::routes::orgs::clean_name(&name.chars().take(100).collect::<String>())?;
        let currency = match clean(body.currency.as_deref()).map(|c| c.to_uppercase()) {
            Some(code) if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) => {
                Some(code)
            }
            Some(_) => {
                return Err(ApiError::invalid(
                    ProblemKind::InvalidGoal,
                    "currency must be an ISO 4217 code such as EUR",
                ));
            }
            None => None,
        };
        let goal = scope
            .run(async |conn| {
                match goals::create(
                    conn,
                    org_id,
                    project_id,
                    &name,
                    &matcher,
                    currency.as_deref(),
                )
                .await
                {
                    Err(error) if is_unique_violation(&error) => Err(ApiError::conflict(
                        ProblemKind::GoalExists,
                        "the project already has a goal with this name",
                    )),
                    Err(error) => Err(error.into()),
                    Ok(goal) => {
                        let entry = Entry::new(Action::GoalCreated, goal.goal_id)
                            .with(Changes::created(audited_fields(&goal)));
                        audit::record(conn, org_id, entry).await?;
                        Ok(goal)
                    }
                }
            })
            .await?;
        Ok(Created::Created(Json(goal_out(goal))))
    }

    /// Delete a goal.
    #[oai(
        path = "/:org_id/projects/:project_id/goals/:goal_id",
        method = "delete",
        operation_id = "delete_goal"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        goal_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let deleted = scope
            .run(async |conn| {
                let in_use = |names: &[String]| {
                    ApiError::conflict(
                        ProblemKind::GoalInUse,
                        if names.is_empty() {
                            "a funnel uses this goal: delete the funnel first".to_owned()
                        } else {
                            format!(
                                "funnels use this goal ({}): delete them first",
                                names.join(", ")
                            )
                        },
                    )
                };
                let funnels = funnels::names_using_goal(conn, org_id, *goal_id).await?;
                if !funnels.is_empty() {
                    return Err(in_use(&funnels));
                }
                let before = goals::list(conn, org_id, project_id)
                    .await?
                    .into_iter()
                    .find(|goal| goal.goal_id == *goal_id);
                // A funnel created meanwhile still cannot lose its step: the key refuses.
                let deleted = match goals::delete(conn, org_id, project_id, *goal_id).await {
                    Err(error) if is_foreign_key_violation(&error) => return Err(in_use(&[])),
                    other => other?,
                };
                if let Some(goal) = before.filter(|_| deleted) {
                    let entry = Entry::new(Action::GoalDeleted, goal.goal_id)
                        .with(Changes::deleted(audited_fields(&goal)));
                    audit::record(conn, org_id, entry).await?;
                }
                Ok(deleted)
            })
            .await?;
        if !deleted {
            return Err(ApiError::not_found("goal"));
        }
        Ok(NoContent::NoContent)
    }

    /// Conversions of every goal over `period` (as the Stats API's `date_range`: `day`, `7d`,
    /// `30d`, `month`, `6mo`, `12mo`, `all`, or `YYYY-MM-DD,YYYY-MM-DD`; default `30d`).
    #[oai(
        path = "/:org_id/projects/:project_id/goals/conversions",
        method = "get",
        operation_id = "get_goal_conversions"
    )]
    async fn conversions(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        period: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<ConversionsOut>> {
        let project_id = scope.project_id();
        let project = scope.project.clone();
        let range = tenant::stats::request::parse_period(period.as_deref())?;
        let timezone = project.timezone.clone();
        let rows = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &timezone, state.clock.now()).await?;
                let (from, to) = range.resolve(today, project.created_at.date_naive());
                let rows = goals::conversions(conn, project_id, &timezone, from, to).await?;
                Ok::<_, DbError>((from, to, rows))
            })
            .await?;
        let (from, to, rows) = rows;
        Ok(Json(ConversionsOut {
            from: from.to_string(),
            to: to.to_string(),
            goals: rows
                .into_iter()
                .map(|row| ConversionOut {
                    goal_id: row.goal_id,
                    name: row.name,
                    visitors: row.visitors,
                    events: row.events,
                    conversion_rate: if row.total_visitors == 0 {
                        0.0
                    } else {
                        (1000.0 * row.visitors as f64 / row.total_visitors as f64).round() / 10.0
                    },
                    revenue: row.revenue,
                })
                .collect(),
        }))
    }
}

/// A goal's fields as its audit records show them.
fn audited_fields(goal: &Goal) -> serde_json::Value {
    json!({
        "project_id": goal.project_id,
        "name": goal.name,
        "event_name": goal.event_name,
        "page_pattern": goal.page_pattern,
        "currency": goal.currency,
    })
}
