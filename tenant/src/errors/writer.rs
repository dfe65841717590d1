//! The error event writer: group commit ([`crate::ingest::group_commit`]) of prepared error
//! events. A batch is one transaction per organization in it, in which every issue its events
//! touch takes one counter update ([`crate::tables::error_issues::record_batch`]), instead of
//! a transaction and three statements per event. An SDK sees 200 only after the commit.
//!
//! A batch that fails is retried request by request; what a failed batch may already have
//! committed (another organization's transaction) is then a duplicate of the same event ids,
//! which changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::record::{self, NoticeContext, RecordError};
use crate::ingest::group_commit::{BatchWrite, GroupCommit, Refused, WriterConfig};
use crate::tables::error_issues::NewErrorEvent;
use crate::{Db, DbError, OrgId};

/// Most error events in one batch: an event is a few kilobytes of JSON (up to a megabyte), so
/// fewer than the pageview writer's.
pub const MAX_BATCH: usize = 500;

/// One request's prepared events (all of one project), with what its notices need.
#[derive(Debug)]
pub struct ErrorEvents {
    /// The events, from `record::prepare`.
    pub events: Vec<NewErrorEvent>,
    /// Base URL of the web app for notices' links, without trailing slash.
    pub public_url: String,
    /// When the request arrived (the hourly cap of notices counts from it).
    pub now: DateTime<Utc>,
}

/// A batch of requests' events, stored per organization.
struct ErrorRows {
    db: Db,
}

impl BatchWrite for ErrorRows {
    type Item = ErrorEvents;
    type Error = RecordError;

    fn rows(item: &Self::Item) -> usize {
        item.events.len()
    }

    async fn write(&self, items: &[Self::Item]) -> Result<(), RecordError> {
        let mut by_org: BTreeMap<Uuid, Vec<&ErrorEvents>> = BTreeMap::new();
        for item in items {
            if let Some(first) = item.events.first() {
                by_org.entry(first.org_id).or_default().push(item);
            }
        }
        for (org, items) in by_org {
            let events: Vec<&NewErrorEvent> =
                items.iter().flat_map(|item| item.events.iter()).collect();
            let Some(last) = items.iter().max_by_key(|item| item.now) else {
                continue;
            };
            let notices = NoticeContext {
                public_url: &last.public_url,
                now: last.now,
            };
            self.db
                .scoped(OrgId::from_uuid(org), async |conn| {
                    record::store(conn, &events, notices).await
                })
                .await?;
        }
        Ok(())
    }
}

/// Why a request's error events were not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The queue is full, or the server is stopping: retry shortly.
    #[error("error ingestion is at capacity")]
    Overloaded,
    /// Recording failed.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// Handle for submitting error events.
pub struct ErrorWriter {
    queue: GroupCommit<ErrorRows>,
}

impl ErrorWriter {
    /// Starts the writer, with connections of their own to `db`'s database (the
    /// application-role pool: recording reads settings and queues notices), with `config`'s
    /// queue and writers and at most [`MAX_BATCH`] events a batch.
    pub fn start(db: &Db, config: WriterConfig) -> Result<Arc<Self>, DbError> {
        let config = WriterConfig {
            max_batch: config.max_batch.min(MAX_BATCH),
            ..config
        };
        let rows = ErrorRows {
            db: db.dedicated(config.writers)?,
        };
        let queue = GroupCommit::start("beacon-errors", rows, config)
            .map_err(|error| DbError::Pool(format!("starting the error writer: {error}")))?;
        Ok(Arc::new(Self { queue }))
    }

    /// Queues `events` and waits until they are committed.
    pub async fn write(&self, events: ErrorEvents) -> Result<(), StoreError> {
        if events.events.is_empty() {
            return Ok(());
        }
        self.queue
            .submit(events)
            .await
            .map_err(|refused| match refused {
                Refused::Overloaded | Refused::Stopped => StoreError::Overloaded,
                Refused::Failed(error) => StoreError::Record(error),
            })
    }

    /// Requests waiting right now.
    pub fn queued(&self) -> usize {
        self.queue.queued()
    }

    /// Writes what is queued, then stops the tasks.
    pub async fn shutdown(&self) {
        self.queue.shutdown().await;
    }
}
