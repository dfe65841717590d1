//! Beacon's HTTP API and command line.
//!
//! A request goes: socket → [`middleware`] (request id, body limit, problem+json, metrics) →
//! poem-openapi route → [`auth::Auth`] (session cookie or API key) → handler → the tenant scope
//! of the `tenant` crate → PostgreSQL under row-level security.

pub mod app;
pub mod auth;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod database;
pub mod error;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod scim;
pub mod scope;
pub mod spec;
pub mod sso;
pub mod state;
pub mod static_files;
pub mod tracker;
