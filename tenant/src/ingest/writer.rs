//! The pageview and custom-event writer: group commit ([`super::group_commit`]) of event rows
//! in one `INSERT` per batch, announced to live subscribers once committed. An acknowledged
//! event is committed (and, with PostgreSQL's default `synchronous_commit`, on disk), so a
//! SIGKILL loses only unacknowledged ones.

use std::sync::Arc;

use tokio::sync::broadcast;

pub use super::group_commit::WriterConfig;
use super::group_commit::{BatchWrite, GroupCommit, Refused};
use crate::tables::events::{NewEvent, insert_batch};
use crate::{Db, DbError};

/// Why events were not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The queue is full: retry shortly.
    Overloaded,
    /// The database refused or failed: retry shortly.
    Failed,
}

/// Events announced to live subscribers after they are committed.
const LIVE_BUFFER: usize = 4096;

/// A batch of requests' events in one `INSERT`.
struct EventRows {
    db: Db,
    live: broadcast::Sender<Arc<NewEvent>>,
}

impl BatchWrite for EventRows {
    type Item = Vec<NewEvent>;
    type Error = ();

    fn rows(item: &Self::Item) -> usize {
        item.len()
    }

    async fn write(&self, items: &[Self::Item]) -> Result<(), ()> {
        let mut conn = self.db.conn().await.map_err(|error| {
            tracing::error!(%error, "ingest: no database connection");
        })?;
        insert_batch(&mut conn, items.iter().flatten())
            .await
            .map_err(|error| {
                tracing::error!(%error, "ingest: insert failed");
            })?;
        if self.live.receiver_count() > 0 {
            for event in items.iter().flatten() {
                let _ = self.live.send(Arc::new(event.clone()));
            }
        }
        Ok(())
    }
}

/// Handle for submitting events.
pub struct Writer {
    queue: GroupCommit<EventRows>,
    live: broadcast::Sender<Arc<NewEvent>>,
}

impl Writer {
    /// Starts the writer tasks, with connections of their own to `db`'s database (an
    /// ingest-role pool).
    pub fn start(db: &Db, config: WriterConfig) -> Result<Arc<Self>, DbError> {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let rows = EventRows {
            db: db.dedicated(config.writers)?,
            live: live.clone(),
        };
        let queue = GroupCommit::start("beacon-events", rows, config)
            .map_err(|error| DbError::Pool(format!("starting the event writer: {error}")))?;
        Ok(Arc::new(Self { queue, live }))
    }

    /// Queues `events` and waits until they are committed.
    pub async fn write(&self, events: Vec<NewEvent>) -> Result<(), WriteError> {
        if events.is_empty() {
            return Ok(());
        }
        self.queue
            .submit(events)
            .await
            .map_err(|refused| match refused {
                Refused::Overloaded => WriteError::Overloaded,
                Refused::Stopped | Refused::Failed(()) => WriteError::Failed,
            })
    }

    /// Committed events from now on (a slow subscriber misses events rather than holding
    /// memory: the buffer is bounded).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<NewEvent>> {
        self.live.subscribe()
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
