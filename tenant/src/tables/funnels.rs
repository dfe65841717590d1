//! `funnels` and `funnel_steps`: ordered goals, and how far visitors got through them.
//!
//! A visitor completes step *k* when, within the date range, they completed steps 1 … *k* in
//! that order; one event completes at most one step, and other events in between do not
//! matter. "Visitor" is the salted visitor id, so a funnel spanning a salt rotation counts the
//! visitor again after it (see docs/privacy.md).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{OrgId, ProjectId};

use crate::schema::{funnel_steps, funnels, goals};
use crate::stats::DayRange;

/// Fewest steps in a funnel.
pub const MIN_STEPS: usize = 2;
/// Most steps in a funnel.
pub const MAX_STEPS: usize = 8;

/// A funnel with its steps.
#[derive(Debug, Clone)]
pub struct Funnel {
    /// Id.
    pub funnel_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Name.
    pub name: String,
    /// Steps in order: (goal id, goal name).
    pub steps: Vec<(Uuid, String)>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Why a funnel could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// A step names a goal that is not one of the project's.
    #[error("goal {0} is not a goal of this project")]
    UnknownGoal(Uuid),
    /// The database refused.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Creates a funnel whose steps are `goal_ids`, in order (the caller checks count and
/// duplicates); every goal must belong to `project_id`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    name: &str,
    goal_ids: &[Uuid],
) -> Result<Funnel, CreateError> {
    let found: Vec<(Uuid, String)> = goals::table
        .filter(goals::org_id.eq(org_id))
        .filter(goals::project_id.eq(project_id))
        .filter(goals::goal_id.eq_any(goal_ids))
        .select((goals::goal_id, goals::name))
        .load(conn)
        .await?;
    let mut steps = Vec::with_capacity(goal_ids.len());
    for goal_id in goal_ids {
        let name = found
            .iter()
            .find(|(id, _)| id == goal_id)
            .map(|(_, name)| name.clone())
            .ok_or(CreateError::UnknownGoal(*goal_id))?;
        steps.push((*goal_id, name));
    }
    let funnel_id = Uuid::now_v7();
    let created_at: DateTime<Utc> = diesel::insert_into(funnels::table)
        .values((
            funnels::org_id.eq(org_id),
            funnels::funnel_id.eq(funnel_id),
            funnels::project_id.eq(project_id),
            funnels::name.eq(name),
        ))
        .returning(funnels::created_at)
        .get_result(conn)
        .await?;
    let rows: Vec<_> = goal_ids
        .iter()
        .enumerate()
        .map(|(i, goal_id)| {
            (
                funnel_steps::org_id.eq(org_id),
                funnel_steps::funnel_id.eq(funnel_id),
                funnel_steps::position.eq(i as i16 + 1),
                funnel_steps::goal_id.eq(*goal_id),
            )
        })
        .collect();
    diesel::insert_into(funnel_steps::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(Funnel {
        funnel_id,
        project_id: project_id.uuid(),
        name: name.to_owned(),
        steps,
        created_at,
    })
}

/// Funnels of a project (or the one `funnel_id`), by name.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    funnel_id: Option<Uuid>,
) -> QueryResult<Vec<Funnel>> {
    let mut query = funnels::table
        .filter(funnels::org_id.eq(org_id))
        .filter(funnels::project_id.eq(project_id))
        .into_boxed();
    if let Some(funnel_id) = funnel_id {
        query = query.filter(funnels::funnel_id.eq(funnel_id));
    }
    let heads: Vec<(Uuid, String, DateTime<Utc>)> = query
        .select((funnels::funnel_id, funnels::name, funnels::created_at))
        .order(funnels::name)
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = heads.iter().map(|(id, _, _)| *id).collect();
    let steps: Vec<(Uuid, Uuid, String)> = funnel_steps::table
        .inner_join(
            goals::table.on(goals::org_id
                .eq(funnel_steps::org_id)
                .and(goals::goal_id.eq(funnel_steps::goal_id))),
        )
        .filter(funnel_steps::org_id.eq(org_id))
        .filter(funnel_steps::funnel_id.eq_any(&ids))
        .order((funnel_steps::funnel_id, funnel_steps::position))
        .select((funnel_steps::funnel_id, goals::goal_id, goals::name))
        .load(conn)
        .await?;
    Ok(heads
        .into_iter()
        .map(|(funnel_id, name, created_at)| Funnel {
            funnel_id,
            project_id: project_id.uuid(),
            name,
            steps: steps
                .iter()
                .filter(|(id, _, _)| *id == funnel_id)
                .map(|(_, goal, name)| (*goal, name.clone()))
                .collect(),
            created_at,
        })
        .collect())
}

/// Deletes a funnel of a project.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    funnel_id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(
        funnels::table
            .find((org_id, funnel_id))
            .filter(funnels::project_id.eq(project_id)),
    )
    .execute(conn)
    .await
    .map(|rows| rows > 0)
}

/// The funnel names that use a goal.
pub async fn names_using_goal(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    goal_id: Uuid,
) -> QueryResult<Vec<String>> {
    funnels::table
        .inner_join(
            funnel_steps::table.on(funnel_steps::org_id
                .eq(funnels::org_id)
                .and(funnel_steps::funnel_id.eq(funnels::funnel_id))),
        )
        .filter(funnel_steps::org_id.eq(org_id))
        .filter(funnel_steps::goal_id.eq(goal_id))
        .select(funnels::name)
        .distinct()
        .load(conn)
        .await
}

#[derive(QueryableByName)]
struct Path {
    /// Per matching event, in time order: `event ordinal * 16 + step position`.
    #[diesel(sql_type = Array<Integer>)]
    codes: Vec<i32>,
    #[diesel(sql_type = BigInt)]
    visitors: i64,
}

/// Visitors who reached each step (index 0 is step 1), and the range's visitors in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Visitors who completed steps 1 … k, per k.
    pub reached: Vec<i64>,
    /// Distinct visitors in the range.
    pub total_visitors: i64,
}

/// How far a sequence of step completions gets: steps must come in order, one per event.
/// `codes` are `event ordinal * 16 + position`, ordered.
pub fn steps_reached(codes: &[i32]) -> usize {
    let mut reached = 0;
    let mut last_event = None;
    for code in codes {
        let (event, position) = (code / 16, (code % 16) as usize);
        if position == reached + 1 && last_event != Some(event) {
            reached += 1;
            last_event = Some(event);
        }
    }
    reached
}

/// Each visitor's matched steps in `range` (`paths`: `visitor_id`, `codes`); binds: org,
/// funnel, project, time zone, first and last day.
const PATHS: &str = "WITH steps AS (SELECT s.position, g.event_name, g.page_regex FROM funnel_steps s \
                        JOIN goals g ON g.org_id = s.org_id AND g.goal_id = s.goal_id \
                        WHERE s.org_id = $1 AND s.funnel_id = $2), \
              ranged AS (SELECT e.visitor_id, e.ts, e.event_id, e.name, e.pathname FROM events e \
                         WHERE e.project_id = $3 \
                           AND e.ts >= ($5::date::timestamp AT TIME ZONE $4) \
                           AND e.ts < (($6::date + 1)::timestamp AT TIME ZONE $4)), \
              matched AS (SELECT r.visitor_id, s.position, \
                            dense_rank() OVER (PARTITION BY r.visitor_id ORDER BY r.ts, r.event_id) AS ordinal \
                          FROM ranged r JOIN steps s \
                            ON beacon_goal_matches(s.event_name, s.page_regex, r.name, r.pathname)), \
              paths AS (SELECT visitor_id, \
                               array_agg((ordinal * 16 + position)::int ORDER BY ordinal, position) AS codes \
                        FROM matched GROUP BY visitor_id)";

/// Most visitors' paths read to find who dropped off at a step.
const DROPPED_SCAN: i64 = 20_000;

/// Up to `limit` visitors (salted ids) who completed steps 1 … `step - 1` of `funnel` in
/// `range` but not step `step` (2 or more): who dropped off there. Reads at most
/// [`DROPPED_SCAN`] visitors' paths.
pub async fn dropped_visitors(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    funnel: &Funnel,
    range: &DayRange<'_>,
    step: usize,
    limit: usize,
) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct VisitorPath {
        #[diesel(sql_type = BigInt)]
        visitor_id: i64,
        #[diesel(sql_type = Array<Integer>)]
        codes: Vec<i32>,
    }
    let paths: Vec<VisitorPath> = diesel::sql_query(format!(
        "{PATHS} SELECT visitor_id, codes FROM paths LIMIT $7"
    ))
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(funnel.funnel_id)
    .bind::<SqlUuid, _>(funnel.project_id)
    .bind::<Text, _>(range.timezone)
    .bind::<Text, _>(range.from.to_string())
    .bind::<Text, _>(range.to.to_string())
    .bind::<BigInt, _>(DROPPED_SCAN)
    .load(conn)
    .await?;
    Ok(paths
        .into_iter()
        .filter(|path| step >= 2 && steps_reached(&path.codes) == step - 1)
        .map(|path| path.visitor_id)
        .take(limit)
        .collect())
}

/// Evaluates `funnel` over `range`.
pub async fn progress(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    funnel: &Funnel,
    range: &DayRange<'_>,
) -> QueryResult<Progress> {
    let paths: Vec<Path> = diesel::sql_query(format!(
        "{PATHS} SELECT codes, count(*) AS visitors FROM paths GROUP BY codes"
    ))
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(funnel.funnel_id)
    .bind::<SqlUuid, _>(funnel.project_id)
    .bind::<Text, _>(range.timezone)
    .bind::<Text, _>(range.from.to_string())
    .bind::<Text, _>(range.to.to_string())
    .load(conn)
    .await?;
    let steps = funnel.steps.len();
    let mut reached = vec![0; steps];
    for path in paths {
        for count in reached.iter_mut().take(steps_reached(&path.codes)) {
            *count += path.visitors;
        }
    }
    #[derive(QueryableByName)]
    struct Total {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let total: Total = diesel::sql_query(
        "SELECT count(DISTINCT visitor_id) AS n FROM events WHERE project_id = $1 \
           AND ts >= ($3::date::timestamp AT TIME ZONE $2) \
           AND ts < (($4::date + 1)::timestamp AT TIME ZONE $2)",
    )
    .bind::<SqlUuid, _>(funnel.project_id)
    .bind::<Text, _>(range.timezone)
    .bind::<Text, _>(range.from.to_string())
    .bind::<Text, _>(range.to.to_string())
    .get_result(conn)
    .await?;
    Ok(Progress {
        reached,
        total_visitors: total.n,
    })
}

#[cfg(test)]
mod tests {
    use super::steps_reached;

    fn codes(events: &[&[i32]]) -> Vec<i32> {
        events
            .iter()
            .enumerate()
            .flat_map(|(i, steps)| steps.iter().map(move |s| (i as i32 + 1) * 16 + s))
            .collect()
    }

    #[test]
    fn steps_count_in_order_one_per_event() {
        assert_eq!(steps_reached(&codes(&[&[1], &[2], &[3]])), 3);
        assert_eq!(
            steps_reached(&codes(&[&[2], &[1], &[3]])),
            1,
            "2 before 1 does not count"
        );
        assert_eq!(steps_reached(&codes(&[&[2], &[1], &[2]])), 2);
        assert_eq!(steps_reached(&codes(&[&[1, 2]])), 1, "one event, one step");
        assert_eq!(steps_reached(&codes(&[&[1, 2], &[2]])), 2);
        assert_eq!(steps_reached(&codes(&[&[1], &[1], &[3], &[2]])), 2);
        assert_eq!(steps_reached(&[]), 0);
    }
}
