//! Funnels: 2 to 8 goals in order, and how many visitors got through each step; and weekly
//! retention cohorts. Both read the project's events in its organization's scope.

use chrono::{DateTime, Datelike, Days, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::json;
use tenant::DbError;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::stats::DayRange;
use tenant::tables::funnels::{self, CreateError, Funnel, MAX_STEPS, MIN_STEPS};
use tenant::tables::is_unique_violation;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Member, ProjectScope, Viewer};
use crate::state::AppState;

/// A new funnel.
#[derive(Debug, Object)]
pub struct FunnelIn {
    /// Name, unique in the project.
    #[oai(validator(min_length = 1, max_length = 120))]
    pub name: Text,
    /// Goal ids of the steps, in order: 2 to 8 different goals of the project.
    pub steps: Vec<Uuid>,
}

/// One step of a funnel.
#[derive(Debug, Object)]
pub struct FunnelStepOut {
    /// The goal.
    pub goal_id: Uuid,
    /// Its name.
    pub name: String,
}

/// A funnel.
#[derive(Debug, Object)]
pub struct FunnelOut {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Steps in order.
    pub steps: Vec<FunnelStepOut>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// How many visitors reached one step.
#[derive(Debug, Object)]
pub struct StepReport {
    /// 1-based position.
    pub position: u32,
    /// The goal.
    pub goal_id: Uuid,
    /// Its name.
    pub name: String,
    /// Visitors who completed this step and every one before it, in order.
    pub visitors: i64,
    /// Percentage of the visitors who entered the funnel (step 1) who got this far.
    pub conversion_rate: f64,
    /// Visitors lost since the previous step (0 for step 1).
    pub dropoff: i64,
    /// `dropoff` as a percentage of the previous step's visitors.
    pub dropoff_rate: f64,
}

/// A funnel evaluated over a date range.
#[derive(Debug, Object)]
pub struct FunnelReport {
    /// The funnel.
    pub funnel: FunnelOut,
    /// First day (project time zone).
    pub from: String,
    /// Last day.
    pub to: String,
    /// Distinct visitors in the range.
    pub total_visitors: i64,
    /// Percentage of them who completed step 1.
    pub entered_rate: f64,
    /// Per step.
    pub steps: Vec<StepReport>,
}

/// One cohort: the visitors first seen in a week.
#[derive(Debug, Object)]
pub struct Cohort {
    /// Monday of the week (project time zone).
    pub week: String,
    /// Visitors first seen that week.
    pub visitors: i64,
    /// Per week since (index 0: the cohort week itself, always 100): the percentage of the
    /// cohort seen again. Weeks not yet over are included; weeks still to come are not.
    pub retention: Vec<f64>,
    /// The same as visitor counts.
    pub returning: Vec<i64>,
}

/// Weekly retention.
#[derive(Debug, Object)]
pub struct RetentionReport {
    /// Cohorts, oldest first.
    pub cohorts: Vec<Cohort>,
    /// The project's visitor-id salt rotation period. A visitor is recognized only while their
    /// id stays the same, so with periods shorter than a week, later weeks read near zero by
    /// design, not churn; raise `salt_rotation_hours` on the project to measure retention.
    pub salt_rotation_hours: i32,
    /// Whether the rotation period is shorter than the cohort table spans.
    pub limited_by_rotation: bool,
}

fn funnel_out(funnel: Funnel) -> FunnelOut {
    FunnelOut {
        id: funnel.funnel_id,
        name: funnel.name,
        steps: funnel
            .steps
            .into_iter()
            .map(|(goal_id, name)| FunnelStepOut { goal_id, name })
            .collect(),
        created_at: funnel.created_at,
    }
}

fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (1000.0 * part as f64 / whole as f64).round() / 10.0
    }
}

/// Funnel and retention operations.
#[derive(Default)]
pub struct FunnelsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl FunnelsApi {
    /// Funnels of a project.
    #[oai(
        path = "/:org_id/projects/:project_id/funnels",
        method = "get",
        operation_id = "list_funnels"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<FunnelOut>>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let list = scope
            .run(async |conn| {
                Ok::<_, DbError>(funnels::list(conn, org_id, project_id, None).await?)
            })
            .await?;
        Ok(Json(list.into_iter().map(funnel_out).collect()))
    }

    /// Create a funnel from 2 to 8 of the project's goals.
    #[oai(
        path = "/:org_id/projects/:project_id/funnels",
        method = "post",
        operation_id = "create_funnel"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<FunnelIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<FunnelOut>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let name = crate::routes::orgs::clean_name(&body.name)?;
        if !(MIN_STEPS..=MAX_STEPS).contains(&body.steps.len()) {
            return Err(ApiError::invalid(
                ProblemKind::InvalidFunnel,
                format!("a funnel has {MIN_STEPS} to {MAX_STEPS} steps"),
            ));
        }
        if body
            .steps
            .iter()
            .enumerate()
            .any(|(i, goal)| body.steps[..i].contains(goal))
        {
            return Err(ApiError::invalid(
                ProblemKind::InvalidFunnel,
                "each goal may appear once in a funnel",
            ));
        }
        let funnel = scope
            .run(async |conn| {
                match funnels::create(conn, org_id, project_id, &name, &body.steps).await {
                    Ok(funnel) => {
                        let entry = Entry::new(Action::FunnelCreated, funnel.funnel_id).with(
                            Changes::created(json!({
                                "project_id": funnel.project_id,
                                "name": funnel.name,
                                "steps": funnel.steps.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                            })),
                        );
                        audit::record(conn, org_id, entry).await?;
                        Ok(funnel)
                    }
                    Err(CreateError::UnknownGoal(goal)) => Err(ApiError::invalid(
                        ProblemKind::InvalidFunnel,
                        format!("{goal} is not a goal of this project"),
                    )),
                    Err(CreateError::Db(error)) if is_unique_violation(&error) => {
                        Err(ApiError::conflict(
                            ProblemKind::FunnelExists,
                            "the project already has a funnel with this name",
                        ))
                    }
                    Err(CreateError::Db(error)) => Err(error.into()),
                }
            })
            .await?;
        Ok(Created::Created(Json(funnel_out(funnel))))
    }

    /// Delete a funnel.
    #[oai(
        path = "/:org_id/projects/:project_id/funnels/:funnel_id",
        method = "delete",
        operation_id = "delete_funnel"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        funnel_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let deleted = scope
            .run(async |conn| {
                let deleted = funnels::delete(conn, org_id, project_id, *funnel_id).await?;
                if deleted {
                    let about = funnel_id.to_string();
                    tenant::tables::comments::forget(
                        conn,
                        org_id,
                        project_id,
                        (tenant::tables::comments::TargetKind::Funnel, &about),
                    )
                    .await?;
                    let entry = Entry::new(Action::FunnelDeleted, *funnel_id)
                        .with(Changes::deleted(json!({ "project_id": project_id })));
                    audit::record(conn, org_id, entry).await?;
                }
                Ok::<_, DbError>(deleted)
            })
            .await?;
        if !deleted {
            return Err(ApiError::not_found("funnel"));
        }
        Ok(NoContent::NoContent)
    }

    /// A funnel's conversion and drop-off per step over `period` (as the goals' conversions:
    /// `7d`, `30d`, `month`, …, or `YYYY-MM-DD,YYYY-MM-DD`; default `30d`). Steps count in
    /// order, one per event, per visitor within the range.
    #[oai(
        path = "/:org_id/projects/:project_id/funnels/:funnel_id/report",
        method = "get",
        operation_id = "get_funnel_report"
    )]
    async fn report(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        funnel_id: Path<Uuid>,
        period: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<FunnelReport>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let project = scope.project.clone();
        let range = tenant::stats::request::parse_period(period.as_deref())?;
        let timezone = project.timezone.clone();
        let (funnel, from, to, progress) = scope
            .run(async |conn| {
                let funnel = funnels::list(conn, org_id, project_id, Some(*funnel_id))
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| ApiError::not_found("funnel"))?;
                let today = tenant::stats::today(conn, &timezone, state.clock.now()).await?;
                let (from, to) = range.resolve(today, project.created_at.date_naive());
                let days = DayRange {
                    timezone: &timezone,
                    from,
                    to,
                };
                let progress = funnels::progress(conn, org_id, &funnel, &days).await?;
                Ok::<_, ApiError>((funnel, from, to, progress))
            })
            .await?;
        let entered = progress.reached.first().copied().unwrap_or(0);
        let steps = funnel
            .steps
            .iter()
            .zip(&progress.reached)
            .enumerate()
            .map(|(i, ((goal_id, name), visitors))| {
                let previous = if i == 0 {
                    *visitors
                } else {
                    progress.reached[i - 1]
                };
                StepReport {
                    position: i as u32 + 1,
                    goal_id: *goal_id,
                    name: name.clone(),
                    visitors: *visitors,
                    conversion_rate: percent(*visitors, entered),
                    dropoff: previous - visitors,
                    dropoff_rate: percent(previous - visitors, previous),
                }
            })
            .collect();
        Ok(Json(FunnelReport {
            funnel: funnel_out(funnel),
            from: from.to_string(),
            to: to.to_string(),
            total_visitors: progress.total_visitors,
            entered_rate: percent(entered, progress.total_visitors),
            steps,
        }))
    }

    /// Weekly retention cohorts for the last `weeks` weeks (1 to 26, default 8), this week
    /// included, in the project's time zone.
    #[oai(
        path = "/:org_id/projects/:project_id/retention",
        method = "get",
        operation_id = "get_retention"
    )]
    async fn retention(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        project_id: Path<Uuid>,
        weeks: Query<Option<u32>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<RetentionReport>> {
        let weeks = weeks.unwrap_or(8);
        if !(1..=26).contains(&weeks) {
            return Err(ApiError::bad_request(
                ProblemKind::InvalidWeeks,
                "weeks is 1 to 26",
            ));
        }
        let project = scope.project.clone();
        let timezone = project.timezone.clone();
        let rotation = project.salt_rotation_hours;
        let (cells, this_monday) = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &timezone, state.clock.now()).await?;
                let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
                let range = DayRange {
                    timezone: &timezone,
                    from: monday - Days::new(7 * u64::from(weeks - 1)),
                    to: today,
                };
                let cells = tenant::stats::retention::weekly(conn, *project_id, &range).await?;
                Ok::<_, DbError>((cells, monday))
            })
            .await?;
        let mut cohorts: Vec<Cohort> = Vec::new();
        for cell in cells {
            if cohorts.last().map(|c| c.week.as_str()) != Some(&cell.cohort.to_string()) {
                let span = (this_monday - cell.cohort).num_days() / 7 + 1;
                cohorts.push(Cohort {
                    week: cell.cohort.to_string(),
                    visitors: 0,
                    retention: vec![0.0; span.max(1) as usize],
                    returning: vec![0; span.max(1) as usize],
                });
            }
            if let Some(cohort) = cohorts.last_mut()
                && let Some(slot) = cohort.returning.get_mut(cell.week as usize)
            {
                *slot = cell.visitors;
            }
        }
        for cohort in &mut cohorts {
            cohort.visitors = cohort.returning.first().copied().unwrap_or(0);
            cohort.retention = cohort
                .returning
                .iter()
                .map(|n| percent(*n, cohort.visitors))
                .collect();
        }
        Ok(Json(RetentionReport {
            cohorts,
            salt_rotation_hours: rotation,
            limited_by_rotation: i64::from(rotation) < 7 * 24 * i64::from(weeks),
        }))
    }
}
