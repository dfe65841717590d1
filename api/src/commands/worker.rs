//! `beacon worker` (and the in-process workers of `beacon serve`).

use std::future::Future;
use std::sync::Arc;

use tenant::Db;
use worker::{JobContext, MailConfig, Mailer, WorkerHealth};

use crate::config::{DatabaseArgs, MailArgs};

/// What the jobs are built from besides the database connection.
pub struct JobSettings<'a> {
    /// Where the mail outbox is (the data directory).
    pub database: &'a DatabaseArgs,
    /// How e-mail is sent.
    pub mail: &'a MailArgs,
    /// Base URL of the web app, for links in e-mails.
    pub public_url: String,
    /// Plans and Stripe.
    pub billing: Arc<billing::Billing>,
    /// Signs audit checkpoints (`BEACON_AUDIT_KEY`).
    pub audit_key: Option<tenant::audit::checkpoint::CheckpointKey>,
    /// Opens sealed secrets (`BEACON_SECRET_KEY`, or `<data>/secret.key`).
    pub sealing_key: Arc<tenant::sealed::SealingKey>,
}

/// Builds the job context and runs the workers until `shutdown`, keeping `health` up to date
/// (they reconnect by themselves when the database goes away).
pub async fn run(
    owner_url: &str,
    db: Db,
    settings: JobSettings<'_>,
    health: Arc<WorkerHealth>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let JobSettings {
        database,
        mail,
        public_url,
        billing,
        audit_key,
        sealing_key,
    } = settings;
    let mailer = Mailer::new(&MailConfig {
        smtp_url: mail.smtp_url.clone(),
        outbox: database.data_dir.join("mail"),
        from: mail.mail_from.clone(),
    })?;
    let sweeper = Db::connect_as(
        owner_url,
        tenant::AppRole::Sweeper,
        &tenant::db::PoolConfig {
            max_size: 2,
            statement_timeout: std::time::Duration::from_secs(600),
            ..Default::default()
        },
    )?;
    let audit_stream = worker::outbound::Outbound::new(
        mail.extra_ca_certs.as_deref(),
        mail.allow_private_outbound,
        worker::audit_stream::TIMEOUT,
    )?;
    let ctx = JobContext {
        db,
        sweeper,
        audit_stream,
        sealing_key,
        exports_dir: database.data_dir.join("exports"),
        dns: worker::dns::TxtChecker::new(mail.dns_server)?,
        audit_key,
        ai: mail.ai.client()?,
        blobs: database.blob_store()?,
        mailer: Arc::new(mailer),
        public_url,
        billing,
        clock: tenant::Clock::system(),
    };
    worker::run_until(owner_url, ctx, health, shutdown).await
}
