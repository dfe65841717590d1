//! Beacon's background jobs: apalis on PostgreSQL storage, so the queue lives in the same
//! database (and the same backups) as the data.
//!
//! A job is enqueued in the same transaction as the write that caused it ([`queue::enqueue`]),
//! so a rolled-back write leaves no job behind and a committed one always has its job. Payloads
//! carry ids only; each job reloads what it needs and succeeds quietly when its row is gone.

pub mod ai;
pub mod alerts;
pub mod archive;
pub mod audit_stream;
pub mod dns;
pub mod health;
pub mod jobs;
pub mod mailer;
pub mod notify;
pub mod outbound;
pub mod pdf;
pub mod queue;
pub mod reports;
pub mod run;
pub mod schedule;
pub mod stats;
mod wakeups;

pub use health::{WorkerHealth, WorkerState};
pub use jobs::{Job, JobContext};
pub use mailer::{MailConfig, Mailer};
pub use run::run_until;
