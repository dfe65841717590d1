//! Aggregate queries over `events` for the Stats API: metrics by dimensions, with filters,
//! over a date range in the project's time zone.
//!
//! Visits (sessions) are derived from events: a visitor's events belong to one visit until
//! they pause for more than 30 minutes. Visit dimensions (`visit:source`, `visit:utm_*`,
//! `visit:country`, `visit:device`, …) take the visit's first event's value, so a visit that
//! arrived from Google counts as Google on every page it saw.
//!
//! The SQL is assembled from fixed fragments chosen by enums; every user value (dates, time
//! zone, filter values) is a bind parameter.

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Double, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Gap that ends a visit.
pub const VISIT_GAP_MINUTES: i32 = 30;

/// A metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Unique visitors.
    Visitors,
    /// Visits (sessions).
    Visits,
    /// Pageview events.
    Pageviews,
    /// Pageviews per visit.
    ViewsPerVisit,
    /// Percentage of visits with at most one interactive event.
    BounceRate,
    /// Mean visit length in seconds.
    VisitDuration,
    /// All events.
    Events,
    /// Percentage of all visitors (matching the other filters) who completed the goal.
    ConversionRate,
    /// Sum of revenue of revenue-goal events, in the goal's currency.
    TotalRevenue,
    /// Mean revenue per revenue-goal event.
    AverageRevenue,
}

/// A dimension to group or filter by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dimension {
    /// `event:page`.
    Page,
    /// `event:name`.
    Name,
    /// `event:goal`: the project's goals an event completes (an event may complete several).
    Goal,
    /// `event:hostname`.
    Hostname,
    /// `event:props:<key>`.
    Prop(String),
    /// `visit:entry_page`.
    EntryPage,
    /// `visit:exit_page`: the visit's last page.
    ExitPage,
    /// `visit:source`.
    Source,
    /// `visit:referrer` (host).
    Referrer,
    /// `visit:utm_source`.
    UtmSource,
    /// `visit:utm_medium`.
    UtmMedium,
    /// `visit:utm_campaign`.
    UtmCampaign,
    /// `visit:utm_content`.
    UtmContent,
    /// `visit:utm_term`.
    UtmTerm,
    /// `visit:country`.
    Country,
    /// `visit:region`.
    Region,
    /// `visit:city`.
    City,
    /// `visit:device`.
    Device,
    /// `visit:browser`.
    Browser,
    /// `visit:os`.
    Os,
    /// `time:hour`.
    Hour,
    /// `time:day`.
    Day,
    /// `time:week`.
    Week,
    /// `time:month`.
    Month,
}

impl Dimension {
    /// Parses a Stats API dimension name.
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(key) = name.strip_prefix("event:props:") {
            return (!key.is_empty() && key.len() <= 300).then(|| Self::Prop(key.to_owned()));
        }
        Some(match name {
            "event:page" => Self::Page,
            "event:name" => Self::Name,
            "event:goal" => Self::Goal,
            "event:hostname" => Self::Hostname,
            "visit:entry_page" => Self::EntryPage,
            "visit:exit_page" => Self::ExitPage,
            "visit:source" => Self::Source,
            "visit:referrer" => Self::Referrer,
            "visit:utm_source" => Self::UtmSource,
            "visit:utm_medium" => Self::UtmMedium,
            "visit:utm_campaign" => Self::UtmCampaign,
            "visit:utm_content" => Self::UtmContent,
            "visit:utm_term" => Self::UtmTerm,
            "visit:country" => Self::Country,
            "visit:region" => Self::Region,
            "visit:city" => Self::City,
            "visit:device" => Self::Device,
            "visit:browser" => Self::Browser,
            "visit:os" => Self::Os,
            "time:hour" => Self::Hour,
            "time:day" | "time" => Self::Day,
            "time:week" => Self::Week,
            "time:month" => Self::Month,
            _ => return None,
        })
    }

    /// Whether this is a `time:*` dimension (not filterable).
    pub fn is_time(&self) -> bool {
        matches!(self, Self::Hour | Self::Day | Self::Week | Self::Month)
    }

    /// For `time:*` dimensions, the bucket label of the timestamp expression `at` (local time).
    pub(crate) fn time_sql(&self, at: &str) -> Option<String> {
        let (unit, format) = match self {
            Self::Hour => ("hour", "YYYY-MM-DD HH24:00:00"),
            Self::Day => ("day", "YYYY-MM-DD"),
            Self::Week => ("week", "YYYY-MM-DD"),
            Self::Month => ("month", "YYYY-MM-DD"),
            _ => return None,
        };
        Some(format!("to_char(date_trunc('{unit}', {at}), '{format}')"))
    }

    /// SQL expression over the `visits_ev` row; `$2` is the time zone. `Prop` keys are bound by
    /// the caller, so the fragment refers to a parameter index.
    pub(crate) fn sql(&self, prop_param: Option<usize>) -> String {
        // Visits count in the hour, day, … they started in.
        let local = "(v_start AT TIME ZONE $2)";
        match self {
            Self::Page => "pathname".into(),
            Self::Name => "name".into(),
            Self::Goal => "g.goal_name".into(),
            Self::Hostname => "hostname".into(),
            Self::Prop(_) => format!("props ->> ${}", prop_param.unwrap_or(0)),
            Self::EntryPage => "v_entry_page".into(),
            Self::ExitPage => "v_exit_page".into(),
            Self::Source => "v_source".into(),
            Self::Referrer => "v_referrer".into(),
            Self::UtmSource => "v_utm_source".into(),
            Self::UtmMedium => "v_utm_medium".into(),
            Self::UtmCampaign => "v_utm_campaign".into(),
            Self::UtmContent => "v_utm_content".into(),
            Self::UtmTerm => "v_utm_term".into(),
            Self::Country => "country::text".into(),
            Self::Region => "region".into(),
            Self::City => "city".into(),
            Self::Device => "device".into(),
            Self::Browser => "browser".into(),
            Self::Os => "os".into(),
            Self::Hour | Self::Day | Self::Week | Self::Month => {
                self.time_sql(local).unwrap_or_default()
            }
        }
    }
}

/// How a filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// Equals one of the values.
    Is,
    /// Equals none of the values (and is set).
    IsNot,
    /// Contains one of the values (case-insensitive).
    Contains,
    /// Contains none of the values.
    ContainsNot,
}

/// A filter tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// One comparison.
    Compare(Operator, Dimension, Vec<String>),
    /// All must hold.
    And(Vec<Filter>),
    /// One must hold.
    Or(Vec<Filter>),
    /// Must not hold.
    Not(Box<Filter>),
}

/// Whole days in a project's time zone, both inclusive.
#[derive(Debug, Clone, Copy)]
pub struct DayRange<'a> {
    /// IANA time zone.
    pub timezone: &'a str,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

/// A query.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    /// Project.
    pub project_id: Uuid,
    /// IANA time zone of the project.
    pub timezone: String,
    /// First day (in the time zone), inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Grouping.
    pub dimensions: Vec<Dimension>,
    /// Filters (`And(vec![])` for none). `event:goal` comparisons may only be items of the
    /// top-level `And` (the request parser refuses them elsewhere).
    pub filter: Filter,
    /// Metrics asked for (the costly ones are computed only when asked).
    pub metrics: Vec<Metric>,
    /// Order: (index into dimensions or metrics as listed by [`StatsRow`], descending).
    pub order_by: Vec<(OrderKey, bool)>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// What to order by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey {
    /// The n-th dimension.
    Dimension(usize),
    /// A metric.
    Metric(Metric),
}

/// One result row: the dimension values and every metric.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct StatsRow {
    /// Dimension values, in query order (NULL: none, e.g. a direct visit's source).
    #[diesel(sql_type = Array<Nullable<Text>>)]
    pub dimensions: Vec<Option<String>>,
    /// Unique visitors.
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
    /// Visits.
    #[diesel(sql_type = BigInt)]
    pub visits: i64,
    /// Pageviews.
    #[diesel(sql_type = BigInt)]
    pub pageviews: i64,
    /// Events.
    #[diesel(sql_type = BigInt)]
    pub events: i64,
    /// Bounce rate in percent.
    #[diesel(sql_type = Double)]
    pub bounce_rate: f64,
    /// Mean visit duration in seconds.
    #[diesel(sql_type = Double)]
    pub visit_duration: f64,
    /// Pageviews per visit.
    #[diesel(sql_type = Double)]
    pub views_per_visit: f64,
    /// Conversion rate in percent (0 unless asked).
    #[diesel(sql_type = Double)]
    pub conversion_rate: f64,
    /// Revenue (0 unless asked).
    #[diesel(sql_type = Double)]
    pub total_revenue: f64,
    /// Mean revenue per revenue event (0 unless asked).
    #[diesel(sql_type = Double)]
    pub average_revenue: f64,
    /// Rows in the whole result (before limit/offset).
    #[diesel(sql_type = BigInt)]
    pub total_rows: i64,
}

impl StatsRow {
    /// The value of `metric`.
    pub fn metric(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Visitors => self.visitors as f64,
            Metric::Visits => self.visits as f64,
            Metric::Pageviews => self.pageviews as f64,
            Metric::Events => self.events as f64,
            Metric::BounceRate => self.bounce_rate,
            Metric::VisitDuration => self.visit_duration,
            Metric::ViewsPerVisit => self.views_per_visit,
            Metric::ConversionRate => self.conversion_rate,
            Metric::TotalRevenue => self.total_revenue,
            Metric::AverageRevenue => self.average_revenue,
        }
    }
}

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

/// Collects bind values while SQL is assembled.
struct Binds {
    values: Vec<BindValue>,
}

enum BindValue {
    Text(String),
    TextArray(Vec<String>),
}

impl Binds {
    /// Adds a value; returns its `$n` (after the three fixed parameters).
    fn push(&mut self, value: BindValue) -> usize {
        self.values.push(value);
        self.values.len() + 3
    }
}

fn filter_sql(filter: &Filter, binds: &mut Binds) -> String {
    match filter {
        Filter::And(parts) if parts.is_empty() => "true".into(),
        Filter::And(parts) => format!(
            "({})",
            parts
                .iter()
                .map(|p| filter_sql(p, binds))
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
        Filter::Or(parts) if parts.is_empty() => "false".into(),
        Filter::Or(parts) => format!(
            "({})",
            parts
                .iter()
                .map(|p| filter_sql(p, binds))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
        Filter::Not(inner) => format!("NOT coalesce({}, false)", filter_sql(inner, binds)),
        Filter::Compare(operator, Dimension::Goal, values) => {
            let named = goal_name_test("fg", *operator, values, binds, false);
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
            let prop = match dimension {
                Dimension::Prop(key) => Some(binds.push(BindValue::Text(key.clone()))),
                _ => None,
            };
            let column = dimension.sql(prop);
            match operator {
                Operator::Is => {
                    let n = binds.push(BindValue::TextArray(values.clone()));
                    format!("coalesce({column} = ANY(${n}), false)")
                }
                Operator::IsNot => {
                    let n = binds.push(BindValue::TextArray(values.clone()));
                    format!("NOT coalesce({column} = ANY(${n}), false)")
                }
                Operator::Contains | Operator::ContainsNot => {
                    let patterns = like_patterns(values);
                    let n = binds.push(BindValue::TextArray(patterns));
                    let test = format!("coalesce({column} ILIKE ANY(${n}), false)");
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
    binds: &mut Binds,
    negate: bool,
) -> String {
    let (test, patterns) = match operator {
        Operator::Is | Operator::IsNot => ("=", values.to_vec()),
        Operator::Contains | Operator::ContainsNot => ("ILIKE", like_patterns(values)),
    };
    let n = binds.push(BindValue::TextArray(patterns));
    let positive = format!("{alias}.goal_name {test} ANY(${n})");
    if negate && matches!(operator, Operator::IsNot | Operator::ContainsNot) {
        format!("NOT {positive}")
    } else {
        positive
    }
}

/// The goals a query's top-level `event:goal` comparisons select, as a condition on
/// `{alias}.goal_name` (`true` without any).
fn selected_goals(filter: &Filter, alias: &str, binds: &mut Binds) -> String {
    let Filter::And(parts) = filter else {
        return "true".into();
    };
    let tests: Vec<String> = parts
        .iter()
        .filter_map(|part| match part {
            Filter::Compare(operator, Dimension::Goal, values) => {
                Some(goal_name_test(alias, *operator, values, binds, true))
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

/// How long after a range's end a visit that started in it is followed (visits end at
/// midnight UTC at the latest, so a day is always enough).
pub const VISIT_LOOKAHEAD_HOURS: i32 = 24;

/// The CTEs `base`, `numbered`, `visits_all` and `visits_ev` over the events of project `$1`:
/// `visits_ev` has one row per event of every visit that started in `[lo, hi)`, each with its
/// visit's attributes (`v_start`, entry and exit page, source and UTM of the first event,
/// duration, interactive events). `lo` and `hi` are SQL timestamptz expressions.
///
/// The 30 minutes before `lo` only decide which events start a visit; visits are then
/// numbered from `lo` on, and events before the first start from `lo` (the rest of a visit
/// that began earlier) get number 0 and are dropped before the costly per-visit windows.
///
/// A visit is a visitor's run of events without a pause over 30 minutes, ending at midnight
/// UTC at the latest (as Google Analytics ends sessions at midnight), so no visit is longer
/// than a day and every visit that may still grow started today. The scan starts 30 minutes
/// before `lo`, which is exactly enough to tell whether an event continues an earlier visit,
/// and follows visits 24 hours past `hi`, which is enough to see them end. The Stats API's raw
/// queries and the rollup job both use this, so rollups and raw events agree.
///
/// `scan_from`, when given, is a plan-time bound no later than `lo` (which may only be known at
/// run time): it lets PostgreSQL choose an index range scan.
pub(crate) fn visits_cte(lo: &str, hi: &str, exit_page: bool, scan_from: Option<&str>) -> String {
    let hint = scan_from
        .map(|from| format!("AND e.ts >= {from} - make_interval(mins => {VISIT_GAP_MINUTES}) "))
        .unwrap_or_default();
    let exit_page = if exit_page {
        "first_value(pathname) OVER (PARTITION BY visitor_id, visit_no ORDER BY ts DESC, event_id DESC)"
    } else {
        "NULL::text"
    };
    format!(
        "base AS (\
            SELECT e.*, CASE WHEN lag(ts) OVER w IS NULL \
                OR ts - lag(ts) OVER w > make_interval(mins => {VISIT_GAP_MINUTES}) \
                OR (lag(ts) OVER w AT TIME ZONE 'UTC')::date <> (ts AT TIME ZONE 'UTC')::date \
                THEN 1 ELSE 0 END AS starts_visit \
            FROM events e \
            WHERE e.project_id = $1 \
              AND e.ts >= {lo} - make_interval(mins => {VISIT_GAP_MINUTES}) \
              AND e.ts < {hi} + make_interval(hours => {VISIT_LOOKAHEAD_HOURS}) {hint}\
            WINDOW w AS (PARTITION BY visitor_id ORDER BY ts, event_id)), \
         numbered AS (SELECT * FROM (\
            SELECT *, sum(starts_visit) OVER (PARTITION BY visitor_id ORDER BY ts, event_id ROWS UNBOUNDED PRECEDING) AS visit_no \
            FROM base WHERE ts >= {lo}) counted \
            WHERE visit_no > 0), \
         visits_all AS (SELECT *, min(ts) OVER v_all AS v_start, \
            first_value(pathname) OVER v AS v_entry_page, {exit_page} AS v_exit_page, \
            first_value(source) OVER v AS v_source, \
            first_value(referrer_host) OVER v AS v_referrer, first_value(utm_source) OVER v AS v_utm_source, \
            first_value(utm_medium) OVER v AS v_utm_medium, first_value(utm_campaign) OVER v AS v_utm_campaign, \
            first_value(utm_content) OVER v AS v_utm_content, first_value(utm_term) OVER v AS v_utm_term, \
            extract(epoch FROM max(ts) OVER v_all - min(ts) OVER v_all) AS v_duration, \
            count(*) FILTER (WHERE interactive) OVER v_all AS v_interactions \
            FROM numbered \
            WINDOW v AS (PARTITION BY visitor_id, visit_no ORDER BY ts, event_id), \
                   v_all AS (PARTITION BY visitor_id, visit_no)), \
         visits_ev AS (SELECT * FROM visits_all WHERE v_start >= {lo} AND v_start < {hi})"
    )
}

/// Runs `query` in the caller's tenant scope: from hourly rollups plus the raw tail when the
/// query is one they answer (see [`crate::rollups`]), else from raw events.
pub async fn run(
    conn: &mut AsyncPgConnection,
    query: &StatsQuery,
) -> diesel::QueryResult<Vec<StatsRow>> {
    let rolled_until = crate::rollups::usable_until(conn, query).await?;
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
    let mut binds = Binds { values: Vec::new() };
    let end = binds.push(BindValue::Text(
        (query.to + chrono::Days::new(1)).to_string(),
    ));
    let dims: Vec<String> = query
        .dimensions
        .iter()
        .map(|dimension| match dimension {
            Dimension::Prop(key) => {
                let n = binds.push(BindValue::Text(key.clone()));
                dimension.sql(Some(n))
            }
            other => other.sql(None),
        })
        .collect();
    let where_sql = filter_sql(&query.filter, &mut binds);
    let wants = |metric: Metric| query.metrics.contains(&metric);
    // The exit page costs a descending sort per visit; only when asked for.
    let exit_page = query.dimensions.contains(&Dimension::ExitPage)
        || query.filter.mentions(&Dimension::ExitPage);
    let lo = "($3::date::timestamp AT TIME ZONE $2)".to_owned();
    let hi = format!("(${end}::date::timestamp AT TIME ZONE $2)");
    // With rollups: they answer the visits before the watermark, raw events those after. The
    // watermark is read in this same statement (one snapshot): the rollup job may move it and
    // rebuild an hour between two statements.
    // The value read earlier is a plan-time lower bound for the scan (the watermark only
    // moves forward).
    let scan_from = rolled_until.map(|until| {
        let n = binds.push(BindValue::Text(until.to_rfc3339()));
        format!("greatest({lo}, ${n}::timestamptz)")
    });
    let rolled = rolled_until
        .map(|_| "(SELECT rolled_until FROM rollup_state WHERE project_id = $1)".to_owned());
    let visits = match &rolled {
        Some(until) => visits_cte(
            &format!("greatest({lo}, {until})"),
            &hi,
            exit_page,
            scan_from.as_deref(),
        ),
        None => visits_cte(&lo, &hi, exit_page, None),
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
        let selected = selected_goals(&query.filter, "rg", &mut binds);
        format!(
            "CASE WHEN EXISTS (SELECT 1 FROM project_goals rg WHERE rg.currency = revenue_currency \
               AND {selected} AND beacon_goal_matches(rg.event_name, rg.page_regex, name, pathname)) \
             THEN revenue_amount END"
        )
    };
    let conversion_rate = if wants(Metric::ConversionRate) {
        let everyone_where = filter_sql(&query.filter.without_goals(), &mut binds);
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
        Some(until) => {
            let (kind, rollup_dims) = crate::rollups::dimension_columns(&query.dimensions);
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
            format!(
                "parts AS (\
                   SELECT {rollup_dims}hll_union_agg(visitors) AS sketch, sum(visits)::bigint AS visits, \
                     sum(bounces)::bigint AS bounces, sum(duration_sum) AS duration, \
                     sum(pageviews)::bigint AS pageviews, sum(events)::bigint AS events \
                   FROM rollups_hourly WHERE project_id = $1 AND kind = {kind} \
                     AND hour >= {lo} AND hour < least({hi}, {until}) {rollup_grouping} \
                   UNION ALL \
                   SELECT {plain_dims}hll_add_agg(hll_hash_bigint(visitor_id)), count(*), \
                     count(*) FILTER (WHERE interactions <= 1), sum(duration), sum(pageviews), sum(events) \
                   FROM per_visit {grouping_plain}), \
                 grouped AS (SELECT {outer_dims} AS dimensions{group_keys}, \
                   coalesce(hll_cardinality(hll_union_agg(sketch)), 0)::bigint AS visitors, \
                   coalesce(sum(visits), 0)::bigint AS visits, \
                   coalesce(sum(pageviews), 0)::bigint AS pageviews, coalesce(sum(events), 0)::bigint AS events, \
                   coalesce(round(100.0 * sum(bounces) / nullif(sum(visits), 0), 1), 0)::float8 AS bounce_rate, \
                   coalesce(round(sum(duration) / nullif(sum(visits), 0)), 0)::float8 AS visit_duration, \
                   coalesce(round(sum(pageviews)::numeric / nullif(sum(visits), 0), 2), 0)::float8 AS views_per_visit, \
                   0::float8 AS conversion_rate, 0::float8 AS total_revenue, 0::float8 AS average_revenue \
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
            WHERE project_id = $1), \
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
        query.limit.clamp(1, 10_000),
        query.offset.max(0),
    );
    let mut statement = diesel::sql_query(sql)
        .into_boxed()
        .bind::<SqlUuid, _>(query.project_id)
        .bind::<Text, _>(query.timezone.clone())
        .bind::<Text, _>(query.from.to_string());
    for value in binds.values {
        statement = match value {
            BindValue::Text(text) => statement.bind::<Text, _>(text),
            BindValue::TextArray(values) => statement.bind::<Array<Text>, _>(values),
        };
    }
    statement.load(conn).await
}

#[derive(QueryableByName)]
struct Today {
    #[diesel(sql_type = diesel::sql_types::Date)]
    today: NaiveDate,
}

/// Today's date in `timezone`, by PostgreSQL's time zone data (the same the queries use).
pub async fn today(conn: &mut AsyncPgConnection, timezone: &str) -> diesel::QueryResult<NaiveDate> {
    let row: Today = diesel::sql_query("SELECT (now() AT TIME ZONE $1)::date AS today")
        .bind::<Text, _>(timezone)
        .get_result(conn)
        .await?;
    Ok(row.today)
}

/// Visitors on a page in the last minutes.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CurrentPage {
    /// Path.
    #[diesel(sql_type = Text)]
    pub page: String,
    /// Distinct visitors whose latest event was on it.
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Window that counts as "now".
pub const REALTIME_MINUTES: i32 = 5;

/// Distinct visitors in the last five minutes, and the pages they are on (each visitor counted
/// on the page of their latest event), most visited first.
pub async fn realtime(
    conn: &mut AsyncPgConnection,
    project_id: Uuid,
    pages: i64,
) -> diesel::QueryResult<(i64, Vec<CurrentPage>)> {
    let visitors: Count = diesel::sql_query(
        "SELECT count(DISTINCT visitor_id) AS n FROM events \
         WHERE project_id = $1 AND ts > now() - make_interval(mins => $2)",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<diesel::sql_types::Integer, _>(REALTIME_MINUTES)
    .get_result(conn)
    .await?;
    let current: Vec<CurrentPage> = diesel::sql_query(
        "SELECT pathname AS page, count(*) AS visitors FROM (\
             SELECT DISTINCT ON (visitor_id) visitor_id, pathname FROM events \
             WHERE project_id = $1 AND ts > now() - make_interval(mins => $2) \
             ORDER BY visitor_id, ts DESC) latest \
         GROUP BY pathname ORDER BY visitors DESC, page LIMIT $3",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<diesel::sql_types::Integer, _>(REALTIME_MINUTES)
    .bind::<BigInt, _>(pages)
    .load(conn)
    .await?;
    Ok((visitors.n, current))
}
