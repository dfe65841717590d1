//! Web analytics queries: the typed query, its parser, the SQL planner (hourly rollups plus the
//! raw tail, or raw events), funnels' and retention's readers, and [`answer`], the service both
//! the Stats API and the worker call.
//!
//! Visits (sessions) are derived from events: a visitor's events belong to one visit until
//! they pause for more than 30 minutes. Visit dimensions (`visit:source`, `visit:utm_*`,
//! `visit:country`, `visit:device`, …) take the visit's first event's value, so a visit that
//! arrived from Google counts as Google on every page it saw.
//!
//! Layering inside this module, one way: [`query`] (types) ← [`visits`] (what a visit is, in
//! SQL) ← [`rollups`] ← [`sql`] (the planner) ← [`answer`]; [`request`] parses into [`query`].
//! The SQL writers bind every value through [`params`].

pub mod answer;
pub mod export;
pub mod params;
pub mod query;
pub mod realtime;
pub mod request;
pub mod retention;
pub mod rollups;
pub mod segments;
pub mod sql;
pub mod visits;

pub use answer::{StatsError, answer};
pub use query::{DayRange, Dimension, Filter, Metric, Operator, OrderKey, StatsQuery, StatsRow};
pub use realtime::{CurrentPage, REALTIME_MINUTES, realtime, today};
pub use request::{DateRange, StatsRequest};
pub use sql::{run, run_raw};
pub use visits::{VISIT_GAP_MINUTES, VISIT_LOOKAHEAD_HOURS};
