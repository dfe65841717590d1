//! The typed stats query: metrics, dimensions, filters, order and the result row.
//!
//! These are the values the Stats API request parser produces and every reader (the SQL
//! planner, rollups, the worker's alerts and reports) consumes, so they hold no HTTP and no
//! SQL beyond each dimension's fixed column name and time-bucket expression: one meaning of
//! "visitors on /pricing from Germany" for every caller.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Double, Nullable, Text};
use uuid::Uuid;

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

    /// The Stats API name of a dimension without a parameter (the inverse of [`Self::parse`]);
    /// `None` for `event:props:*`.
    pub fn name(&self) -> Option<&'static str> {
        Some(match self {
            Self::Page => "event:page",
            Self::Name => "event:name",
            Self::Goal => "event:goal",
            Self::Hostname => "event:hostname",
            Self::EntryPage => "visit:entry_page",
            Self::ExitPage => "visit:exit_page",
            Self::Source => "visit:source",
            Self::Referrer => "visit:referrer",
            Self::UtmSource => "visit:utm_source",
            Self::UtmMedium => "visit:utm_medium",
            Self::UtmCampaign => "visit:utm_campaign",
            Self::UtmContent => "visit:utm_content",
            Self::UtmTerm => "visit:utm_term",
            Self::Country => "visit:country",
            Self::Region => "visit:region",
            Self::City => "visit:city",
            Self::Device => "visit:device",
            Self::Browser => "visit:browser",
            Self::Os => "visit:os",
            Self::Hour => "time:hour",
            Self::Day => "time:day",
            Self::Week => "time:week",
            Self::Month => "time:month",
            Self::Prop(_) => return None,
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

    /// The column of a `visits_ev` row that holds this dimension, for every dimension but
    /// `event:props:*` (a bound key, see the planner) and `time:*` ([`Self::time_sql`]).
    pub(crate) fn column(&self) -> Option<&'static str> {
        Some(match self {
            Self::Page => "pathname",
            Self::Name => "name",
            Self::Goal => "g.goal_name",
            Self::Hostname => "hostname",
            Self::EntryPage => "v_entry_page",
            Self::ExitPage => "v_exit_page",
            Self::Source => "coalesce(v_source, 'Direct / None')",
            Self::Referrer => "v_referrer",
            Self::UtmSource => "v_utm_source",
            Self::UtmMedium => "v_utm_medium",
            Self::UtmCampaign => "v_utm_campaign",
            Self::UtmContent => "v_utm_content",
            Self::UtmTerm => "v_utm_term",
            Self::Country => "country::text",
            Self::Region => "region",
            Self::City => "city",
            Self::Device => "device",
            Self::Browser => "browser",
            Self::Os => "os",
            Self::Prop(_) | Self::Hour | Self::Day | Self::Week | Self::Month => return None,
        })
    }
}

/// The source of a visit with neither a referrer nor a `utm_source`, as Plausible names it (in
/// answers and in filters; stored as NULL).
pub const DIRECT_SOURCE: &str = "Direct / None";

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
    /// Instead of the days: the instants `[start, end)` (an alert's last 15 minutes). Such a
    /// query reads raw events only (rollups are whole hours).
    pub instants: Option<(DateTime<Utc>, DateTime<Utc>)>,
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
