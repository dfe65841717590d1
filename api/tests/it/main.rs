//! API integration tests: one binary, one fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod ai;
mod alert_plans;
mod alerts;
mod audit;
mod billing;
mod cli;
mod conversions;
mod dashboard;
mod deletion;
mod domains;
mod durability;
mod email_flows;
mod errors;
mod exports;
mod fake_stripe;
mod file_exports;
mod ingest;
mod isolation;
mod jobs;
mod maintenance;
mod ops;
mod outage;
mod reports;
mod roles;
mod saml;
mod scim;
mod spec;
mod sso;
mod stats;
mod support;
mod tracker;
mod trackers;
mod vitals;
