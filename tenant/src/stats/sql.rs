//! The SQL planner of the Stats API: one statement per query, from hourly rollups plus the raw
//! tail when the rollups can answer it, else from raw events.
//!
//! The SQL is assembled from fixed fragments chosen by enums; every user value (project, dates,
//! time zone, property keys, filter values, the rollup watermark) is a bind parameter, written
//! into the text only as the placeholder [`Params::bind`] returns for it.

use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::params::{Params, Placeholder, Statement};
use super::query::{Dimension, Filter, Metric, Operator, OrderKey, StatsQuery, StatsRow};
use super::rollups;
use super::visits::{VisitScan, visits_cte};

fn metric_column(metric: Metric) -> &'static str {
    match metric {
        Metric::Visitors => "visitors",
        Metric::Visits => "visits",
        Metric::Pageviews => "pageviews",
        Metric::Events => "events",
        Metric::BounceRate => "bounce_rate",
        Metric::VisitDuration => "visit_duration",
        Metric::ViewsPerVisit => "views_per_visit",
        Metric::ConversionRate => "conversion_rate",
        Metric::TotalRevenue => "total_revenue",
        Metric::AverageRevenue => "average_revenue",
    }
}

/// The statement being written: its parameters, and the placeholder of the time zone the
/// dimension fragments refer to.
struct Plan {
    params: Params,
    /// The project's IANA time zone.
    timezone: Placeholder,
}

/// SQL expression of `dimension` over a `visits_ev` row: its column, the property under a
/// bound key, or the local time bucket of the visit's start (visits count in the hour, day, …
/// they started in).
fn dimension_sql(dimension: &Dimension, plan: &mut Plan) -> String {
    if let Dimension::Prop(key) = dimension {
        return format!("props ->> {}", plan.params.bind(key.clone()));
    }
    let local = format!("(v_start AT TIME ZONE {})", plan.timezone);
    dimension
        .column()
        .map(str::to_owned)
        .or_else(|| dimension.time_sql(&local))
        .unwrap_or_default()
}

fn filter_sql(filter: &Filter, plan: &mut Plan) -> String {
    filter_sql_with(filter, plan, &dimension_sql)
}

/// `filter` as SQL, each compared dimension written by `column` (its `visits_ev` column on raw
/// events, a rollup row's value on rollups).
fn filter_sql_with(
    filter: &Filter,
    plan: &mut Plan,
    column: &dyn Fn(&Dimension, &mut Plan) -> String,
) -> String {
    match filter {
        Filter::And(parts) if parts.is_empty() => "true".into(),
        Filter::And(parts) => format!(
            "({})",
            parts
                .iter()
                .map(|part| filter_sql_with(part, plan, column))
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
        Filter::Or(parts) if parts.is_empty() => "false".into(),
        Filter::Or(parts) => format!(
            "({})",
            parts
                .iter()
                .map(|part| filter_sql_with(part, plan, column))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
        Filter::Not(inner) => format!(
            "NOT coalesce({}, false)",
            filter_sql_with(inner, plan, column)
        ),
        Filter::Compare(operator, Dimension::Goal, values) => {
            let named = goal_name_test("fg", *operator, values, &mut plan.params, false);
            let exists = format!(
                "EXISTS (SELECT 1 FROM project_goals fg WHERE {named} \
                 AND beacon_goal_matches(fg.event_name, fg.page_regex, name, pathname))"
            );
            match operator {
                Operator::Is | Operator::Contains => exists,
                Operator::IsNot | Operator::ContainsNot => format!("NOT {exists}"),
            }
        }
        Filter::Compare(operator, dimension, values) => {
            let column = column(dimension, plan);
            match operator {
                Operator::Is => {
                    let values = plan.params.bind(values.clone());
                    format!("coalesce({column} = ANY({values}), false)")
                }
                Operator::IsNot => {
                    let values = plan.params.bind(values.clone());
                    format!("NOT coalesce({column} = ANY({values}), false)")
                }
                Operator::Contains | Operator::ContainsNot => {
                    let patterns = plan.params.bind(like_patterns(values));
                    let test = format!("coalesce({column} ILIKE ANY({patterns}), false)");
                    if *operator == Operator::Contains {
                        test
                    } else {
                        format!("NOT {test}")
                    }
                }
            }
        }
    }
}

/// `{alias}.goal_name` equals (or contains) one of `values`; negated for `is_not` and
/// `contains_not` when `negate` is set.
fn goal_name_test(
    alias: &str,
    operator: Operator,
    values: &[String],
    params: &mut Params,
    negate: bool,
) -> String {
    let (test, patterns) = match operator {
        Operator::Is | Operator::IsNot => ("=", values.to_vec()),
        Operator::Contains | Operator::ContainsNot => ("ILIKE", like_patterns(values)),
    };
    let positive = format!("{alias}.goal_name {test} ANY({})", params.bind(patterns));
    if negate && matches!(operator, Operator::IsNot | Operator::ContainsNot) {
        format!("NOT {positive}")
    } else {
        positive
    }
}

/// The goals a query's top-level `event:goal` comparisons select, as a condition on
/// `{alias}.goal_name` (`true` without any).
fn selected_goals(filter: &Filter, alias: &str, params: &mut Params) -> String {
    let Filter::And(parts) = filter else {
        return "true".into();
    };
    let tests: Vec<String> = parts
        .iter()
        .filter_map(|part| match part {
            Filter::Compare(operator, Dimension::Goal, values) => {
                Some(goal_name_test(alias, *operator, values, params, true))
            }
            _ => None,
        })
        .collect();
    if tests.is_empty() {
        "true".into()
    } else {
        tests.join(" AND ")
    }
}

/// `ILIKE` patterns matching values that contain any of `values`.
fn like_patterns(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| {
            format!(
                "%{}%",
                v.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        })
        .collect()
}

impl Filter {
    /// Whether an `event:goal` comparison appears anywhere in the tree.
    pub fn mentions_goal(&self) -> bool {
        self.mentions(&Dimension::Goal)
    }

    /// Whether every comparison in the tree is on `dimension` (true without any).
    pub fn only_on(&self, dimension: &Dimension) -> bool {
        match self {
            Self::Compare(_, compared, _) => compared == dimension,
            Self::And(parts) | Self::Or(parts) => parts.iter().all(|p| p.only_on(dimension)),
            Self::Not(inner) => inner.only_on(dimension),
        }
    }

    /// Whether a comparison on `dimension` appears anywhere in the tree.
    pub fn mentions(&self, dimension: &Dimension) -> bool {
        match self {
            Self::Compare(_, compared, _) => compared == dimension,
            Self::And(parts) | Self::Or(parts) => parts.iter().any(|p| p.mentions(dimension)),
            Self::Not(inner) => inner.mentions(dimension),
        }
    }

    /// The filter without its top-level `event:goal` comparisons: who the conversion rate
    /// divides by.
    fn without_goals(&self) -> Filter {
        match self {
            Self::And(parts) => Self::And(
                parts
                    .iter()
                    .filter(|part| !part.mentions_goal())
                    .cloned()
                    .collect(),
            ),
            other if other.mentions_goal() => Self::And(vec![]),
            other => other.clone(),
        }
    }
}

/// CTEs ending in `matching_visitors (visitor_id)`: the visitors with a visit in `query`'s
/// days (or instants) whose events pass its filter, as a Stats API query with the same filter
/// counts them. Placeholders come from `params`, so the caller's statement can use them
/// beside its own (the session replay list filtered by a segment).
pub fn matching_visitors_cte(query: &StatsQuery, params: &mut Params) -> String {
    let project = params.bind(query.project_id);
    let timezone = params.bind(query.timezone.clone());
    let (lo, hi) = match query.instants {
        Some((start, end)) => (
            format!("({}::timestamptz)", params.bind(start)),
            format!("({}::timestamptz)", params.bind(end)),
        ),
        None => {
            let from = params.bind(query.from.to_string());
            let end = params.bind((query.to + chrono::Days::new(1)).to_string());
            (
                format!("({from}::date::timestamp AT TIME ZONE {timezone})"),
                format!("({end}::date::timestamp AT TIME ZONE {timezone})"),
            )
        }
    };
    let exit_page = query.filter.mentions(&Dimension::ExitPage);
    let scan = VisitScan {
        exit_page,
        ..VisitScan::default()
    };
    let visits = visits_cte(project, &lo, &hi, &scan);
    let mut plan = Plan {
        params: std::mem::take(params),
        timezone,
    };
    let where_sql = filter_sql(&query.filter, &mut plan);
    *params = plan.params;
    format!(
        "{visits}, matching_visitors AS (SELECT DISTINCT visitor_id FROM visits_ev WHERE {where_sql})"
    )
}

/// A rollup group's unique visitors: the union of its sketches, capped at its visits (a
/// sketch's estimate may come out above them when most visitors came once; no group has more
/// visitors than visits).
const VISITORS_ESTIMATE: &str = "least(coalesce(hll_cardinality(hll_union_agg(sketch)), 0)::bigint, \
     coalesce(sum(visits), 0)::bigint)";

/// Runs `query` in the caller's tenant scope: from hourly rollups plus the raw tail when the
/// query is one they answer (see [`super::rollups`]), else from raw events.
pub async fn run(
    conn: &mut AsyncPgConnection,
    query: &StatsQuery,
) -> diesel::QueryResult<Vec<StatsRow>> {
    let rolled_until = rollups::usable_until(conn, query).await?;
    run_with(conn, query, rolled_until).await
}

/// Runs `query` from raw events only (what rollups are checked against).
pub async fn run_raw(
    conn: &mut AsyncPgConnection,
    query: &StatsQuery,
) -> diesel::QueryResult<Vec<StatsRow>> {
    run_with(conn, query, None).await
}

async fn run_with(
    conn: &mut AsyncPgConnection,
    query: &StatsQuery,
    rolled_until: Option<chrono::DateTime<chrono::Utc>>,
) -> diesel::QueryResult<Vec<StatsRow>> {
    plan(query, rolled_until).into_query().load(conn).await
}

/// The statement that answers `query`: from rollups up to `rolled_until` plus raw events after
/// it when given (see [`rollups::usable_until`]), else from raw events. Pure, so the generated
/// SQL can be reviewed without a database (`tenant/tests/stats_sql.rs`).
pub fn plan(query: &StatsQuery, rolled_until: Option<chrono::DateTime<chrono::Utc>>) -> Statement {
    let mut params = Params::default();
    let project = params.bind(query.project_id);
    let timezone = params.bind(query.timezone.clone());
    let from = params.bind(query.from.to_string());
    let end = params.bind((query.to + chrono::Days::new(1)).to_string());
    let mut plan = Plan { params, timezone };
    let dims: Vec<String> = query
        .dimensions
        .iter()
        .map(|dimension| dimension_sql(dimension, &mut plan))
        .collect();
    let where_sql = filter_sql(&query.filter, &mut plan);
    let wants = |metric: Metric| query.metrics.contains(&metric);
    // The exit page costs a descending sort per visit; only when asked for.
    let exit_page = query.dimensions.contains(&Dimension::ExitPage)
        || query.filter.mentions(&Dimension::ExitPage);
    let (lo, hi) = match query.instants {
        Some((start, end)) => {
            let start = plan.params.bind(start.to_rfc3339());
            let end = plan.params.bind(end.to_rfc3339());
            (
                format!("({start}::timestamptz)"),
                format!("({end}::timestamptz)"),
            )
        }
        None => (
            format!("({from}::date::timestamp AT TIME ZONE {timezone})"),
            format!("({end}::date::timestamp AT TIME ZONE {timezone})"),
        ),
    };
    // With rollups: they answer the visits before the watermark, raw events those after. The
    // watermark is read in this same statement (one snapshot): the rollup job may move it and
    // rebuild an hour between two statements.
    // Plan-time bounds for the scan: the value read earlier is a lower one (the watermark only
    // moves forward, and the scan starts at it: `rollup_last_seen` stands for the events
    // before); three UTC midnights after the last day an upper one (`hi` is the local midnight
    // after it, at most 12 hours after UTC's, and visits are followed 24 hours past it).
    let scan_bounds = rolled_until.map(|until| {
        let to = (query.to + chrono::Days::new(3))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc();
        (plan.params.bind(until), plan.params.bind(to))
    });
    let rolled = rolled_until
        .map(|_| format!("(SELECT rolled_until FROM rollup_state WHERE project_id = {project})"));
    let visits = match &rolled {
        // The rollup job keeps, for the watermark, each visitor's last event in the 30 minutes
        // before it (`rollups::usable_until` checks they are for the same watermark), so the
        // tail reads only the events after the watermark. The range starts before the
        // watermark (`usable_until` again), so the tail starts at it.
        Some(until) => visits_cte(
            project,
            &format!("greatest({lo}, {until})"),
            &hi,
            &VisitScan {
                exit_page,
                scan_bounds,
                last_seen: Some(&format!(
                    "SELECT visitor_id AS seen_visitor, last_ts FROM rollup_last_seen \
                     WHERE project_id = {project}"
                )),
                ..VisitScan::default()
            },
        ),
        None => visits_cte(
            project,
            &lo,
            &hi,
            &VisitScan {
                exit_page,
                ..VisitScan::default()
            },
        ),
    };
    let by_goal = query.dimensions.contains(&Dimension::Goal);
    let goal_join = if by_goal {
        "JOIN project_goals g ON beacon_goal_matches(g.event_name, g.page_regex, name, pathname)"
    } else {
        ""
    };
    // Revenue counts in a revenue goal's currency, and without the goal dimension only for the
    // goals the filter selects.
    let revenue = if !(wants(Metric::TotalRevenue) || wants(Metric::AverageRevenue)) {
        "NULL::numeric".to_owned()
    } else if by_goal {
        "CASE WHEN revenue_currency = g.currency THEN revenue_amount END".to_owned()
    } else {
        let selected = selected_goals(&query.filter, "rg", &mut plan.params);
        format!(
            "CASE WHEN EXISTS (SELECT 1 FROM project_goals rg WHERE rg.currency = revenue_currency \
               AND {selected} AND beacon_goal_matches(rg.event_name, rg.page_regex, name, pathname)) \
             THEN revenue_amount END"
        )
    };
    let conversion_rate = if wants(Metric::ConversionRate) {
        let everyone_where = filter_sql(&query.filter.without_goals(), &mut plan);
        format!(
            "coalesce(round(100.0 * count(DISTINCT visitor_id) / nullif((SELECT count(DISTINCT visitor_id) \
               FROM visits_ev WHERE {everyone_where}), 0), 2), 0)::float8"
        )
    } else {
        "0::float8".to_owned()
    };
    let group_keys: String = (0..dims.len()).map(|i| format!(", d{i}")).collect();
    let dim_columns: String = dims
        .iter()
        .enumerate()
        .map(|(i, sql)| format!(", {sql} AS d{i}"))
        .collect();
    let outer_dims = if dims.is_empty() {
        "ARRAY[]::text[]".to_owned()
    } else {
        format!(
            "ARRAY[{}]::text[]",
            (0..dims.len())
                .map(|i| format!("d{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    // Without dimensions there is exactly one row, zeros included (no GROUP BY).
    let grouping = if dims.is_empty() {
        String::new()
    } else {
        format!("GROUP BY 1{group_keys}")
    };
    let mut order: Vec<String> = query
        .order_by
        .iter()
        .map(|(key, descending)| {
            let column = match key {
                OrderKey::Dimension(i) => format!("d{i}"),
                OrderKey::Metric(metric) => metric_column(*metric).to_owned(),
            };
            format!(
                "{column} {} NULLS LAST",
                if *descending { "DESC" } else { "ASC" }
            )
        })
        .collect();
    order.push("visitors DESC".into());
    order.extend((0..dims.len()).map(|i| format!("d{i} ASC NULLS LAST")));
    let grouped = match &rolled {
        None => format!(
            "grouped AS (SELECT {outer_dims} AS dimensions{group_keys}, \
            count(DISTINCT visitor_id) AS visitors, count(*) AS visits, \
            coalesce(sum(pageviews), 0)::bigint AS pageviews, coalesce(sum(events), 0)::bigint AS events, \
            coalesce(round(100.0 * avg(CASE WHEN interactions <= 1 THEN 1 ELSE 0 END), 1), 0)::float8 AS bounce_rate, \
            coalesce(round(avg(duration)), 0)::float8 AS visit_duration, \
            coalesce(round(sum(pageviews)::numeric / nullif(count(*), 0), 2), 0)::float8 AS views_per_visit, \
            {conversion_rate} AS conversion_rate, \
            coalesce(sum(revenue), 0)::float8 AS total_revenue, \
            coalesce(round(sum(revenue) / nullif(sum(revenue_events), 0), 2), 0)::float8 AS average_revenue \
            FROM per_visit {grouping})"
        ),
        Some(_) => {
            let (kind, rollup_dims) = rollups::dimension_columns(&query.dimensions, timezone);
            let rollup_grouping = if dims.is_empty() {
                String::new()
            } else {
                format!(
                    "GROUP BY {}",
                    (1..=dims.len())
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let plain_dims: String = (0..dims.len()).map(|i| format!("d{i}, ")).collect();
            // The filter, if any, is on the breakdown's own dimension (`rollups::answerable`).
            let kept = filter_sql_with(&query.filter, &mut plan, &|dimension, _| {
                rollups::value_sql(dimension)
            });
            let rows = if by_goal {
                rollups::goal_rows(query, project, &lo, &hi)
            } else {
                rollups::rows(query, project, kind, &kept, &lo, &hi)
            };
            // The conversion rate's denominator: everyone's visitors in the range, as the
            // overview counts them (kind 0 rows and the raw tail, capped at their visits).
            let conversion_rate = if by_goal && wants(Metric::ConversionRate) {
                let everyone = rollups::rows(query, project, 0, "true", &lo, &hi);
                format!(
                    "coalesce(round(100.0 * {VISITORS_ESTIMATE} / nullif((\
                       SELECT least(hll_cardinality(hll_union_agg(sketch)), sum(visits)) FROM (\
                         SELECT hll_union_agg(visitors) AS sketch, sum(visits) AS visits FROM {everyone} \
                         UNION ALL \
                         SELECT hll_add_agg(hll_hash_bigint(visitor_id)), count(DISTINCT (visitor_id, visit_no)) \
                         FROM visits_ev) AS everyone), 0)::numeric, 2), 0)::float8"
                )
            } else {
                "0::float8".to_owned()
            };
            // Unique visitors: VISITORS_ESTIMATE (capped at visits: the demo once showed 1,326
            // visitors in 1,302 visits).
            format!(
                "parts AS (\
                   SELECT {rollup_dims}hll_union_agg(visitors) AS sketch, sum(visits)::bigint AS visits, \
                     sum(bounces)::bigint AS bounces, sum(duration_sum) AS duration, \
                     sum(pageviews)::bigint AS pageviews, sum(events)::bigint AS events \
                   FROM {rows} {rollup_grouping} \
                   UNION ALL \
                   SELECT {plain_dims}hll_add_agg(hll_hash_bigint(visitor_id)), count(*), \
                     count(*) FILTER (WHERE interactions <= 1), sum(duration), sum(pageviews), sum(events) \
                   FROM per_visit {grouping_plain}), \
                 grouped AS (SELECT {outer_dims} AS dimensions{group_keys}, \
                   {VISITORS_ESTIMATE} AS visitors, \
                   coalesce(sum(visits), 0)::bigint AS visits, \
                   coalesce(sum(pageviews), 0)::bigint AS pageviews, coalesce(sum(events), 0)::bigint AS events, \
                   coalesce(round(100.0 * sum(bounces) / nullif(sum(visits), 0), 1), 0)::float8 AS bounce_rate, \
                   coalesce(round(sum(duration) / nullif(sum(visits), 0)), 0)::float8 AS visit_duration, \
                   coalesce(round(sum(pageviews)::numeric / nullif(sum(visits), 0), 2), 0)::float8 AS views_per_visit, \
                   {conversion_rate} AS conversion_rate, 0::float8 AS total_revenue, 0::float8 AS average_revenue \
                 FROM parts {grouping})",
                grouping_plain = if dims.is_empty() {
                    String::new()
                } else {
                    format!(
                        "GROUP BY {}",
                        (0..dims.len())
                            .map(|i| format!("d{i}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            )
        }
    };
    let sql = format!(
        "WITH {visits}, \
         project_goals AS (SELECT name AS goal_name, event_name, page_regex, currency FROM goals \
            WHERE project_id = {project}), \
         per_visit AS (SELECT visitor_id, visit_no{dim_columns}, \
            count(*) FILTER (WHERE name = 'pageview') AS pageviews, count(*) AS events, \
            max(v_duration) AS duration, max(v_interactions) AS interactions, \
            sum({revenue}) AS revenue, count({revenue}) AS revenue_events \
            FROM visits_ev {goal_join} WHERE {where_sql} \
            GROUP BY visitor_id, visit_no{group_keys}), \
         {grouped} \
         SELECT dimensions, visitors, visits, pageviews, events, bounce_rate, visit_duration, views_per_visit, \
                conversion_rate, total_revenue, average_revenue, \
                count(*) OVER () AS total_rows \
         FROM grouped ORDER BY {} LIMIT {} OFFSET {}",
        order.join(", "),
        // The API's parser allows 10,000 a page; file exports read every row, up to their cap.
        query.limit.clamp(1, super::export::MAX_ROWS),
        query.offset.max(0),
    );
    plan.params.finish(sql)
}
