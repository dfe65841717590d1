//! Alerts: rules on a project's numbers that tell a team when traffic drops, errors spike or
//! a Web Vital regresses.
//!
//! [`rule`] says what a valid rule is, [`state`] is the state machine (pure), [`measure`]
//! reads a metric over a window of instants through the Stats API's planner, and [`evaluate`]
//! runs one scheduled evaluation in one transaction. The worker drives the schedule and sends
//! the queued deliveries; the API edits rules.

pub mod anomaly;
pub mod evaluate;
pub mod measure;
pub mod rule;
pub mod state;
