//! `goals`: what a project counts as a conversion, and how many visitors converted.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{OrgId, ProjectId};

use crate::schema::goals;

/// A goal.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = goals)]
pub struct Goal {
    /// Organization.
    pub org_id: Uuid,
    /// Id.
    pub goal_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Display name.
    pub name: String,
    /// Custom event name (event goals).
    pub event_name: Option<String>,
    /// Path pattern (page goals).
    pub page_pattern: Option<String>,
    /// Currency summed (revenue goals).
    pub currency: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// What a new goal matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// A custom event by name.
    Event(String),
    /// Pageviews whose path matches the pattern.
    Page(String),
}

/// Compiles a path pattern to an anchored regular expression: `**` matches anything, `*`
/// anything but `/`, everything else literally.
pub fn page_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str(".*");
            }
            '*' => out.push_str("[^/]*"),
            c if c.is_ascii_alphanumeric() || c == '/' || c == '-' || c == '_' => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out.push('$');
    out
}

/// Creates a goal; a duplicate name in the project is a unique violation.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    name: &str,
    matcher: &Matcher,
    currency: Option<&str>,
) -> QueryResult<Goal> {
    let (event_name, page_pattern, regex) = match matcher {
        Matcher::Event(event) => (Some(event.as_str()), None, None),
        Matcher::Page(pattern) => (None, Some(pattern.as_str()), Some(page_regex(pattern))),
    };
    diesel::insert_into(goals::table)
        .values((
            goals::org_id.eq(org_id),
            goals::goal_id.eq(Uuid::now_v7()),
            goals::project_id.eq(project_id),
            goals::name.eq(name),
            goals::event_name.eq(event_name),
            goals::page_pattern.eq(page_pattern),
            goals::page_regex.eq(regex),
            goals::currency.eq(currency),
        ))
        .returning(Goal::as_returning())
        .get_result(conn)
        .await
}

/// Goals of a project, by name.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
) -> QueryResult<Vec<Goal>> {
    goals::table
        .filter(goals::org_id.eq(org_id))
        .filter(goals::project_id.eq(project_id))
        .select(Goal::as_select())
        .order(goals::name)
        .load(conn)
        .await
}

/// Deletes a goal of a project.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    goal_id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(
        goals::table
            .find((org_id, goal_id))
            .filter(goals::project_id.eq(project_id)),
    )
    .execute(conn)
    .await
    .map(|rows| rows > 0)
}

/// Conversions of one goal over a date range.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Conversions {
    /// The goal.
    #[diesel(sql_type = SqlUuid)]
    pub goal_id: Uuid,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Distinct visitors who converted.
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
    /// Matching events.
    #[diesel(sql_type = BigInt)]
    pub events: i64,
    /// Distinct visitors of the project in the range.
    #[diesel(sql_type = BigInt)]
    pub total_visitors: i64,
    /// Revenue in the goal's currency (decimal string), for revenue goals.
    #[diesel(sql_type = Nullable<Text>)]
    pub revenue: Option<String>,
}

/// Conversions of every goal of a project between two days (inclusive) in `timezone`.
pub async fn conversions(
    conn: &mut AsyncPgConnection,
    project_id: ProjectId,
    timezone: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<Conversions>> {
    diesel::sql_query(
        "WITH range AS (SELECT ($3::date::timestamp AT TIME ZONE $2) AS lo, \
                               (($4::date + 1)::timestamp AT TIME ZONE $2) AS hi), \
              scoped AS (SELECT e.* FROM events e, range r \
                         WHERE e.project_id = $1 AND e.ts >= r.lo AND e.ts < r.hi), \
              total AS (SELECT count(DISTINCT visitor_id) AS n FROM scoped) \
         SELECT g.goal_id, g.name, count(DISTINCT e.visitor_id) AS visitors, count(e.event_id) AS events, \
                (SELECT n FROM total) AS total_visitors, \
                CASE WHEN g.currency IS NULL THEN NULL ELSE \
                  coalesce(sum(e.revenue_amount) FILTER (WHERE e.revenue_currency = g.currency), 0)::text END AS revenue \
         FROM goals g LEFT JOIN scoped e \
           ON beacon_goal_matches(g.event_name, g.page_regex, e.name, e.pathname) \
         WHERE g.project_id = $1 \
         GROUP BY g.goal_id, g.name, g.currency ORDER BY visitors DESC, g.name",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<Text, _>(timezone)
    .bind::<Text, _>(from.to_string())
    .bind::<Text, _>(to.to_string())
    .load(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::page_regex;

    #[test]
    fn patterns_compile_to_anchored_regexes() {
        assert_eq!(page_regex("/blog/*"), "^/blog/[^/]*$");
        assert_eq!(page_regex("/docs/**"), "^/docs/.*$");
        assert_eq!(page_regex("/a.b?c"), "^/a\\.b\\?c$");
    }
}
