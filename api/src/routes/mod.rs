//! The HTTP API, one file per resource. Paths nest by organization:
//! `/api/v1/orgs/{org_id}/projects/{project_id}`.

pub mod account;
pub mod activity;
pub mod admin;
pub mod ai;
pub mod alerts;
pub mod annotations;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod channels;
pub mod comments;
pub mod connectors;
pub mod dashboards;
pub mod domains;
pub mod events;
pub mod exports;
pub mod file_exports;
pub mod funnels;
pub mod goals;
pub mod heatmaps;
pub mod invitations;
pub mod issue_notices;
pub mod issues;
pub mod members;
pub mod notifications;
pub mod ops;
pub mod orgs;
pub mod pagination;
pub mod pdf_jobs;
pub mod projects;
pub mod realtime;
pub mod releases;
pub mod replay;
pub mod reports;
pub mod responses;
pub mod saml;
pub mod saml_login;
pub mod scim_tokens;
pub mod segments;
pub mod sentry;
pub mod shared;
pub mod shared_links;
pub mod site_json;
pub mod sso;
pub mod sso_login;
pub mod stats;
pub mod stats_contract;
pub mod tasks;
pub mod text;
pub mod vitals;

use poem_openapi::Tags;

/// OpenAPI tags.
#[derive(Tags)]
pub enum ApiTags {
    /// Accounts and sessions.
    Auth,
    /// Organizations.
    Organizations,
    /// Members and invitations.
    Members,
    /// Projects.
    Projects,
    /// API keys.
    ApiKeys,
    /// Event ingestion (Plausible-compatible).
    Ingestion,
    /// Aggregate statistics (Plausible Stats API v2).
    Stats,
    /// JS errors: issues, events, release files for source maps.
    Errors,
    /// Plans, usage, Stripe Checkout, the Customer Portal and Stripe's webhook.
    Billing,
    /// The audit log: records, verification, export and streaming.
    Audit,
    /// Alerts on a project's metrics, and the channels they notify.
    Alerts,
    /// Instance operation: jobs.
    Admin,
    /// Health, readiness and metrics.
    Operations,
    /// Session replay: recordings from sites' pages, their player data and settings.
    Replays,
}
