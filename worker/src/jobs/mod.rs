//! The jobs. One file per job; [`Job`] is the payload stored in the queue (ids only, tagged by
//! `type`), and [`Job::run`] dispatches to the job's file.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tenant::{Clock, Db};

use crate::mailer::Mailer;

pub mod erase_organizations;
pub mod export_organization;
pub mod maintain_events_all_tenants;
pub mod meter_usage_all_tenants;
pub mod prune_audit_all_tenants;
pub mod prune_replays_all_tenants;
pub mod remind_due_tasks_all_tenants;
pub mod render_dashboard_pdf;
pub mod rollup_all_tenants;
pub mod rotate_salts_all_tenants;
pub mod send_billing_notice;
pub mod send_channel_disabled_notice;
pub mod send_domain_lost_notice;
pub mod send_invitation;
pub mod send_notifications;
pub mod send_password_reset;
pub mod send_report;
pub mod send_verification_email;
pub mod verify_domains_all_tenants;

pub use erase_organizations::EraseOrganizations;
pub use export_organization::ExportOrganization;
pub use maintain_events_all_tenants::MaintainEventsAllTenants;
pub use meter_usage_all_tenants::MeterUsageAllTenants;
pub use prune_audit_all_tenants::PruneAuditAllTenants;
pub use prune_replays_all_tenants::PruneReplaysAllTenants;
pub use remind_due_tasks_all_tenants::RemindDueTasksAllTenants;
pub use render_dashboard_pdf::RenderDashboardPdf;
pub use rollup_all_tenants::RollupAllTenants;
pub use rotate_salts_all_tenants::RotateSaltsAllTenants;
pub use send_billing_notice::SendBillingNotice;
pub use send_channel_disabled_notice::SendChannelDisabledNotice;
pub use send_domain_lost_notice::SendDomainLostNotice;
pub use send_invitation::SendInvitation;
pub use send_notifications::SendNotifications;
pub use send_password_reset::SendPasswordReset;
pub use send_report::SendReport;
pub use send_verification_email::SendVerificationEmail;
pub use verify_domains_all_tenants::VerifyDomainsAllTenants;

/// What jobs need: the database (application role, scoped like the API), the mailer, the
/// public URL links in e-mails point to, and the clock.
#[derive(Clone)]
pub struct JobContext {
    /// Application pool.
    pub db: Db,
    /// Sweeper pool (`beacon_sweeper`), for the jobs that cover every tenant.
    pub sweeper: Db,
    /// E-mail sender.
    pub mailer: Arc<Mailer>,
    /// Base URL of the web app, without trailing slash (`https://beacon.example.com`).
    pub public_url: String,
    /// "Now" for the jobs that depend on it (salt rotation, rollups, retention); tests set it.
    pub clock: Clock,
    /// Plans, entitlements and Stripe (disabled without a Stripe key).
    pub billing: Arc<billing::Billing>,
    /// The client for customer-given URLs (audit streams, notification channels).
    pub audit_stream: crate::outbound::Outbound,
    /// Opens sealed secrets (notification channels' URLs and signing secrets).
    pub sealing_key: Arc<tenant::sealed::SealingKey>,
    /// Looks up the DNS TXT proofs of organizations' domains.
    pub dns: crate::dns::TxtChecker,
    /// Where organization exports are written (`<data>/exports`).
    pub exports_dir: std::path::PathBuf,
    /// Signs audit checkpoints (`BEACON_AUDIT_KEY`); none: audit records are not pruned.
    pub audit_key: Option<tenant::audit::checkpoint::CheckpointKey>,
    /// The AI endpoint (`BEACON_AI_*`); none: reports carry Beacon's statistical highlights.
    pub ai: Option<crate::ai::Ai>,
    /// Where session replay chunk bodies are kept.
    pub blobs: tenant::replay::store::BlobStore,
}

/// A queued job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    /// E-mail a verification link.
    SendVerificationEmail(SendVerificationEmail),
    /// E-mail a password reset link.
    SendPasswordReset(SendPasswordReset),
    /// E-mail an invitation.
    SendInvitation(SendInvitation),
    /// Rotate and expire visitor-id salts.
    RotateSaltsAllTenants(RotateSaltsAllTenants),
    /// Event partitions and retention.
    MaintainEventsAllTenants(MaintainEventsAllTenants),
    /// Hourly rollups.
    RollupAllTenants(RollupAllTenants),
    /// Usage per product, quotas, Stripe meter events.
    MeterUsageAllTenants(MeterUsageAllTenants),
    /// E-mail the owners about billing.
    SendBillingNotice(SendBillingNotice),
    /// Audit retention (signed checkpoints).
    PruneAuditAllTenants(PruneAuditAllTenants),
    /// Organizations whose erasure is due.
    EraseOrganizations(EraseOrganizations),
    /// Write an organization's data export and e-mail its link.
    ExportOrganization(ExportOrganization),
    /// Check unverified domain claims against DNS.
    VerifyDomainsAllTenants(VerifyDomainsAllTenants),
    /// Tell an organization a site domain of its project was taken over.
    SendDomainLostNotice(SendDomainLostNotice),
    /// Tell the owners a notification channel was turned off.
    SendChannelDisabledNotice(SendChannelDisabledNotice),
    /// A project's e-mail report for one slot, or a preview.
    SendReport(SendReport),
    /// A dashboard PDF made in the background.
    RenderDashboardPdf(RenderDashboardPdf),
    /// A member's batched notification e-mail.
    SendNotifications(SendNotifications),
    /// Remind assignees of tasks due soon.
    RemindDueTasksAllTenants(RemindDueTasksAllTenants),
    /// Hourly: delete recordings past their project's replay retention.
    PruneReplaysAllTenants(PruneReplaysAllTenants),
}

impl Job {
    /// Runs the job once. An error makes apalis retry it with backoff.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        match self {
            Self::SendVerificationEmail(job) => job.run(ctx).await,
            Self::SendPasswordReset(job) => job.run(ctx).await,
            Self::SendInvitation(job) => job.run(ctx).await,
            Self::RotateSaltsAllTenants(job) => job.run(ctx).await,
            Self::MaintainEventsAllTenants(job) => job.run(ctx).await,
            Self::RollupAllTenants(job) => job.run(ctx).await,
            Self::MeterUsageAllTenants(job) => job.run(ctx).await,
            Self::SendBillingNotice(job) => job.run(ctx).await,
            Self::PruneAuditAllTenants(job) => job.run(ctx).await,
            Self::EraseOrganizations(job) => job.run(ctx).await,
            Self::ExportOrganization(job) => job.run(ctx).await,
            Self::VerifyDomainsAllTenants(job) => job.run(ctx).await,
            Self::SendDomainLostNotice(job) => job.run(ctx).await,
            Self::SendChannelDisabledNotice(job) => job.run(ctx).await,
            Self::SendReport(job) => job.run(ctx).await,
            Self::RenderDashboardPdf(job) => job.run(ctx).await,
            Self::SendNotifications(job) => job.run(ctx).await,
            Self::RemindDueTasksAllTenants(job) => job.run(ctx).await,
            Self::PruneReplaysAllTenants(job) => job.run(ctx).await,
        }
    }
}
