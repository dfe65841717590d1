//! The SQL the stats planner generates, as reviewed snapshots: a change in the SQL of any
//! representative query (aggregate, breakdowns, filters, goals, properties, time buckets, the
//! rollup-plus-raw-tail path) fails here until its new snapshot is accepted
//! (`cargo insta review`), so generated SQL changes are read by a person, not only run.
//! No database needed: [`tenant::stats::sql::plan`] is pure.
//!
//! Snapshots are re-wrapped for reading (a line per clause, whitespace collapsed); the SQL sent
//! is the same text on one line. The test command sets `INSTA_UPDATE=no`, so a run never
//! writes or accepts a snapshot by itself.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{NaiveDate, TimeZone, Utc};
use regex::Regex;
use tenant::stats::params::{Param, Statement};
use tenant::stats::sql::plan;
use tenant::stats::{Dimension, Filter, Metric, Operator, OrderKey, StatsQuery};
use uuid::Uuid;

fn query(dimensions: Vec<Dimension>, metrics: Vec<Metric>, filter: Filter) -> StatsQuery {
    StatsQuery {
        project_id: Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
        timezone: "UTC".into(),
        from: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 3, 16).unwrap(),
        instants: None,
        dimensions,
        filter,
        metrics,
        order_by: vec![],
        limit: 100,
        offset: 0,
    }
}

fn none() -> Filter {
    Filter::And(vec![])
}

fn compare(operator: Operator, dimension: Dimension, values: &[&str]) -> Filter {
    Filter::Compare(
        operator,
        dimension,
        values.iter().map(|v| (*v).to_owned()).collect(),
    )
}

/// Clause keywords that start a line when they belong to a CTE or to the outer statement.
const CLAUSES: [&str; 10] = [
    "INSERT INTO",
    "CROSS JOIN",
    "UNION ALL",
    "GROUP BY",
    "ORDER BY",
    "SELECT",
    "WINDOW",
    "WHERE",
    "LIMIT",
    "FROM",
];

/// The SQL for reading: whitespace collapsed, a blank line between CTEs, and a line per clause
/// of each CTE and of the outer statement (subqueries, windows and function calls stay on
/// their line). Then the parameters.
fn render(statement: &Statement) -> String {
    let sql = Regex::new(r"\s+")
        .unwrap()
        .replace_all(statement.sql.trim(), " ")
        .into_owned();
    let next_cte = Regex::new(r"^\w+ AS \(").unwrap();
    let mut out = String::with_capacity(sql.len() * 2);
    let (mut depth, mut quoted) = (0_usize, false);
    for (at, c) in sql.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ' ' if !quoted && depth <= 1 => {
                let rest = &sql[at + 1..];
                let starts_clause = CLAUSES.iter().any(|clause| {
                    rest.starts_with(clause)
                        && !rest[clause.len()..]
                            .starts_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if depth == 0 && out.ends_with("),") && next_cte.is_match(rest) {
                    out.push_str("\n\n");
                    continue;
                }
                if starts_clause {
                    out.push('\n');
                    out.push_str(&"  ".repeat(depth));
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
    }
    let params: Vec<String> = statement
        .params
        .iter()
        .enumerate()
        .map(|(i, param)| format!("${} = {param:?}", i + 1))
        .collect();
    format!("{out}\n\n-- parameters\n{}\n", params.join("\n"))
}

fn snapshot(name: &str, query: &StatsQuery) {
    insta::assert_snapshot!(name, render(&plan(query, None)));
}

const COUNTING: [Metric; 7] = [
    Metric::Visitors,
    Metric::Visits,
    Metric::Pageviews,
    Metric::Events,
    Metric::BounceRate,
    Metric::VisitDuration,
    Metric::ViewsPerVisit,
];

#[test]
fn aggregate() {
    snapshot("aggregate", &query(vec![], COUNTING.to_vec(), none()));
}

#[test]
fn breakdown_by_page_ordered_and_paginated() {
    let mut q = query(
        vec![Dimension::Page],
        vec![Metric::Visitors, Metric::Pageviews],
        none(),
    );
    q.order_by = vec![
        (OrderKey::Metric(Metric::Pageviews), true),
        (OrderKey::Dimension(0), false),
    ];
    q.limit = 10;
    q.offset = 20;
    snapshot("breakdown_by_page", &q);
}

#[test]
fn visit_dimension_with_or_not_and_contains_filters() {
    let filter = Filter::And(vec![
        Filter::Or(vec![
            compare(Operator::Is, Dimension::Country, &["DE", "FR"]),
            compare(Operator::Contains, Dimension::Page, &["/blog", "50%_off"]),
        ]),
        Filter::Not(Box::new(compare(
            Operator::ContainsNot,
            Dimension::Referrer,
            &["spam"],
        ))),
        compare(Operator::IsNot, Dimension::Browser, &["Chrome"]),
    ]);
    let mut q = query(
        vec![Dimension::Source, Dimension::ExitPage],
        vec![Metric::Visits, Metric::BounceRate],
        filter,
    );
    q.timezone = "Europe/Berlin".into();
    snapshot("visit_dimension_filtered", &q);
}

#[test]
fn goal_dimension_with_goal_filter_and_revenue() {
    let filter = Filter::And(vec![
        compare(Operator::Is, Dimension::Goal, &["Signup", "Sales"]),
        compare(Operator::Is, Dimension::Country, &["DE"]),
    ]);
    let q = query(
        vec![Dimension::Goal],
        vec![
            Metric::Visitors,
            Metric::Events,
            Metric::ConversionRate,
            Metric::TotalRevenue,
            Metric::AverageRevenue,
        ],
        filter,
    );
    snapshot("goal_dimension", &q);
}

#[test]
fn goal_filter_without_goal_dimension() {
    let filter = Filter::And(vec![
        compare(Operator::Contains, Dimension::Goal, &["sale"]),
        compare(Operator::IsNot, Dimension::Goal, &["Refund"]),
    ]);
    let q = query(
        vec![],
        vec![
            Metric::Visitors,
            Metric::ConversionRate,
            Metric::TotalRevenue,
        ],
        filter,
    );
    snapshot("goal_filter", &q);
}

#[test]
fn props_dimension_with_a_props_filter() {
    let q = query(
        vec![Dimension::Prop("plan".into())],
        vec![Metric::Visitors, Metric::Events],
        compare(Operator::IsNot, Dimension::Prop("author".into()), &["bot"]),
    );
    snapshot("props_dimension", &q);
}

#[test]
fn time_day_in_a_time_zone() {
    let mut q = query(
        vec![Dimension::Day],
        vec![Metric::Visitors, Metric::Pageviews],
        none(),
    );
    q.timezone = "America/New_York".into();
    q.order_by = vec![(OrderKey::Dimension(0), false)];
    snapshot("time_day", &q);
}

#[test]
fn rollups_plus_the_raw_tail() {
    let rolled_until = Utc.with_ymd_and_hms(2026, 3, 12, 9, 23, 0).unwrap();
    let q = query(
        vec![Dimension::Day, Dimension::Page],
        COUNTING.to_vec(),
        none(),
    );
    insta::assert_snapshot!("rollups_and_tail", render(&plan(&q, Some(rolled_until))));
}

/// A breakdown without time buckets reads whole UTC days from the daily layer and only the
/// hours at the range's ends from the hourly one; a filter on its own dimension applies to
/// the rollup rows' values (and to the raw tail's events).
#[test]
fn daily_and_hourly_rollups_with_a_filter_on_the_breakdown() {
    let rolled_until = Utc.with_ymd_and_hms(2026, 3, 12, 9, 23, 0).unwrap();
    let q = query(
        vec![Dimension::Name],
        vec![Metric::Visitors, Metric::Events],
        compare(Operator::IsNot, Dimension::Name, &["pageview"]),
    );
    insta::assert_snapshot!("rollups_daily", render(&plan(&q, Some(rolled_until))));
}

/// A breakdown by goal from rollups: event goals read the event-name rows, page goals the page
/// rows their pattern matches; the conversion rate divides by everyone's visitors (kind 0
/// rows and the raw tail).
#[test]
fn goals_from_rollups_with_the_conversion_rate() {
    let rolled_until = Utc.with_ymd_and_hms(2026, 3, 12, 9, 23, 0).unwrap();
    let q = query(
        vec![Dimension::Goal],
        vec![Metric::Visitors, Metric::Events, Metric::ConversionRate],
        none(),
    );
    insta::assert_snapshot!("rollups_goals", render(&plan(&q, Some(rolled_until))));
}

/// Every user value is a parameter: none appears in the SQL text, each appears among the
/// parameters (the positive control that the check can find them).
#[test]
fn user_values_are_parameters_never_sql_text() {
    let hostile = "x'); DROP TABLE events; --";
    let mut q = query(
        vec![Dimension::Prop(format!("{hostile}key"))],
        vec![
            Metric::Visitors,
            Metric::ConversionRate,
            Metric::TotalRevenue,
        ],
        Filter::And(vec![
            compare(Operator::Is, Dimension::Goal, &[&format!("{hostile}goal")]),
            Filter::Or(vec![
                compare(
                    Operator::Contains,
                    Dimension::Page,
                    &[&format!("{hostile}page")],
                ),
                compare(
                    Operator::Is,
                    Dimension::Prop(format!("{hostile}prop")),
                    &[&format!("{hostile}value")],
                ),
            ]),
        ]),
    );
    q.timezone = format!("{hostile}zone");
    let statement = plan(&q, None);
    assert!(!statement.sql.contains("DROP TABLE"), "{}", statement.sql);
    let bound: Vec<String> = statement
        .params
        .iter()
        .flat_map(|param| match param {
            Param::Text(text) => vec![text.clone()],
            Param::TextArray(values) => values.clone(),
            _ => vec![],
        })
        .collect();
    for suffix in ["key", "goal", "page", "prop", "value", "zone"] {
        assert!(
            bound
                .iter()
                .any(|value| value.contains(&format!("{hostile}{suffix}"))),
            "{suffix} is not among the parameters: {bound:?}"
        );
    }
}

/// The rollup job's statement: every rolled-up dimension per visit and hour.
#[test]
fn rollup_build() {
    let statement = tenant::stats::rollups::build_statement(
        Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0002),
        Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
        Utc.with_ymd_and_hms(2026, 3, 12, 8, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 12, 9, 23, 0).unwrap(),
    );
    insta::assert_snapshot!("rollup_build", render(&statement));
}
