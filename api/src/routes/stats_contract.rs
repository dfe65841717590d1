//! The Stats API's request and response shapes as the OpenAPI document describes them.
//!
//! The handler keeps parsing the body itself (Plausible's filters are nested, mixed-type
//! arrays, and its error kinds are part of the contract), so these types are never
//! deserialized into. [`Described`] carries the raw JSON while lending its schema to the
//! spec, which is what the dashboard's generated client is typed from.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{Object, Union};
use serde_json::Value;

/// JSON passed through unchanged, documented in the spec as `S`.
pub struct Described<S>(pub Value, PhantomData<S>);

impl<S> Described<S> {
    /// Wraps `value`, which must have the shape `S` documents.
    pub fn new(value: Value) -> Self {
        Self(value, PhantomData)
    }
}

impl<S> std::ops::Deref for Described<S> {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0
    }
}

impl<S: Type> Type for Described<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Value;
    type RawElementValueType = Value;

    fn name() -> Cow<'static, str> {
        S::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        S::schema_ref()
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Value> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl<S: Type> ParseFromJSON for Described<S> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(Self::new(value.unwrap_or_default()))
    }
}

impl<S: Type> ToJSON for Described<S> {
    fn to_json(&self) -> Option<Value> {
        Some(self.0.clone())
    }
}

/// A date range: a name (`day`, `7d`, `28d`, `30d`, `91d`, `month`, `6mo`, `12mo`, `year`,
/// `all`) or two dates `["YYYY-MM-DD", "YYYY-MM-DD"]`, in the project's time zone.
#[derive(Union)]
#[oai(rename = "StatsDateRange")]
pub enum DateRangeDoc {
    /// A named range.
    Named(String),
    /// First and last day, inclusive.
    Dates(Vec<String>),
}

/// `pagination`.
#[derive(Object)]
#[oai(rename = "StatsPagination")]
pub struct PaginationDoc {
    /// Rows per page, 1–10,000 (default 10,000).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// `include.comparisons`.
#[derive(Object)]
#[oai(rename = "StatsComparisons")]
pub struct ComparisonsDoc {
    /// `previous_period`: the same number of days just before the range.
    pub mode: String,
}

/// `include`.
#[derive(Object)]
#[oai(rename = "StatsInclude")]
pub struct IncludeDoc {
    /// Adds a `comparison` to every result row.
    pub comparisons: Option<ComparisonsDoc>,
}

/// A Stats API v2 query, in Plausible's shape.
#[derive(Object)]
#[oai(rename = "StatsQuery")]
pub struct StatsQueryDoc {
    /// The project's domain.
    pub site_id: String,
    /// `visitors`, `visits`, `pageviews`, `views_per_visit`, `bounce_rate`,
    /// `visit_duration`, `events`; with goals `conversion_rate`, `total_revenue`,
    /// `average_revenue`.
    pub metrics: Vec<String>,
    /// The range.
    pub date_range: DateRangeDoc,
    /// `event:*`, `visit:*` or `time:*` dimensions to group by.
    pub dimensions: Option<Vec<String>>,
    /// Filter expressions: `[operator, dimension, [values]]` with `is`, `is_not`,
    /// `contains`, `contains_not`, or `["and" | "or", [filters]]`, `["not", filter]`.
    pub filters: Option<Vec<Value>>,
    /// `[[metric or dimension, "asc" | "desc"]]`.
    pub order_by: Option<Vec<Vec<String>>>,
    /// Paging.
    pub pagination: Option<PaginationDoc>,
    /// Extras.
    pub include: Option<IncludeDoc>,
}

/// The same row in the previous period.
#[derive(Object)]
#[oai(rename = "StatsComparison")]
pub struct ComparisonDoc {
    /// Dimension values of the matched row.
    pub dimensions: Vec<Option<String>>,
    /// Metric values in the previous period, in the order asked for.
    pub metrics: Vec<f64>,
    /// Change per metric: percent, or percentage points for `bounce_rate`.
    pub change: Vec<f64>,
}

/// One result row.
#[derive(Object)]
#[oai(rename = "StatsRow")]
pub struct RowDoc {
    /// Dimension values, in the order asked for; `null` where unknown (no country, say).
    pub dimensions: Vec<Option<String>>,
    /// Metric values, in the order asked for.
    pub metrics: Vec<f64>,
    /// With `include.comparisons`.
    pub comparison: Option<ComparisonDoc>,
}

/// About the answer.
#[derive(Object)]
#[oai(rename = "StatsMeta")]
pub struct MetaDoc {
    /// Rows before pagination.
    pub total_rows: i64,
    /// The project's time zone, which dates are in.
    pub time_zone: String,
    /// Revenue currency, when one applies.
    pub currency: Option<String>,
    /// Goal → currency, when grouped by `event:goal`.
    pub currencies: Option<std::collections::BTreeMap<String, String>>,
}

/// The query as understood, with the resolved dates.
#[derive(Object)]
#[oai(rename = "StatsQueryEcho")]
pub struct QueryEchoDoc {
    /// The project's domain.
    pub site_id: String,
    /// Metrics.
    pub metrics: Vec<String>,
    /// First and last day.
    pub date_range: Vec<String>,
    /// Dimensions.
    pub dimensions: Vec<String>,
    /// Filters as sent.
    pub filters: Vec<Value>,
    /// Paging.
    pub pagination: PaginationDoc,
    /// The previous period's days, with comparisons.
    pub comparison_date_range: Option<Vec<String>>,
}

/// A Stats API v2 answer.
#[derive(Object)]
#[oai(rename = "StatsResult")]
pub struct StatsResultDoc {
    /// Rows.
    pub results: Vec<RowDoc>,
    /// About the answer.
    pub meta: MetaDoc,
    /// The query as understood.
    pub query: QueryEchoDoc,
}
