//! The group-commit writer: requests queue their events, a few writer tasks take whatever has
//! queued (up to a batch), insert it in one statement, and only then answer every request in
//! the batch. An acknowledged event is committed (and, with PostgreSQL's default
//! `synchronous_commit`, on disk), so a SIGKILL loses only unacknowledged ones.
//!
//! The queue is bounded: when it is full, requests are refused at once with 503 and
//! `Retry-After` instead of growing memory. A batch that fails is retried request by request,
//! so one bad request cannot sink the others.

use std::sync::Arc;

use crate::Db;
use crate::tables::events::{NewEvent, insert_batch};
use tokio::sync::{Mutex, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Writer sizing.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Requests that may wait in the queue.
    pub queue_capacity: usize,
    /// Most events in one INSERT.
    pub max_batch: usize,
    /// Writer tasks (batches in flight at once).
    pub writers: usize,
}

impl WriterConfig {
    /// Default queue: requests that may wait before new ones get 503.
    pub const QUEUE_CAPACITY: usize = 2048;
    /// Default batch: events in one INSERT at most.
    pub const MAX_BATCH: usize = 2000;
    /// Default writer tasks: one, so each batch takes every request that queued while the
    /// previous one committed (on 2 cores, three writers made batches of about five events
    /// and 16,500 events/s became 13,100; see docs/benchmarks.md).
    pub const WRITERS: usize = 1;
}

/// The defaults, which are also `beacon serve`'s (`BEACON_INGEST_*`).
impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            queue_capacity: Self::QUEUE_CAPACITY,
            max_batch: Self::MAX_BATCH,
            writers: Self::WRITERS,
        }
    }
}

/// Why events were not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The queue is full: retry shortly.
    Overloaded,
    /// The database refused or failed: retry shortly.
    Failed,
}

struct Pending {
    events: Vec<NewEvent>,
    done: oneshot::Sender<Result<(), WriteError>>,
}

/// Events announced to live subscribers after they are committed.
const LIVE_BUFFER: usize = 4096;

/// Handle for submitting events.
pub struct Writer {
    tx: mpsc::Sender<Pending>,
    live: broadcast::Sender<Arc<NewEvent>>,
    stop: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer tasks on `db` (an ingest-role pool).
    pub fn start(db: Db, config: WriterConfig) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let (stop, stopped) = watch::channel(false);
        let rx = Arc::new(Mutex::new(rx));
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let tasks = (0..config.writers.max(1))
            .map(|_| {
                tokio::spawn(run(
                    db.clone(),
                    rx.clone(),
                    stopped.clone(),
                    config.max_batch,
                    live.clone(),
                ))
            })
            .collect();
        Arc::new(Self {
            tx,
            live,
            stop,
            tasks: std::sync::Mutex::new(tasks),
        })
    }

    /// Queues `events` and waits until they are committed.
    pub async fn write(&self, events: Vec<NewEvent>) -> Result<(), WriteError> {
        if events.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .try_send(Pending { events, done })
            .map_err(|_| WriteError::Overloaded)?;
        wait.await.unwrap_or(Err(WriteError::Failed))
    }

    /// Committed events from now on (a slow subscriber misses events rather than holding
    /// memory: the buffer is bounded).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<NewEvent>> {
        self.live.subscribe()
    }

    /// Requests waiting right now.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Writes what is queued, then stops the tasks.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let tasks: Vec<_> = std::mem::take(
            &mut *self
                .tasks
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
        for task in tasks {
            let _ = task.await;
        }
    }
}

async fn run(
    db: Db,
    rx: Arc<Mutex<mpsc::Receiver<Pending>>>,
    mut stopped: watch::Receiver<bool>,
    max_batch: usize,
    live: broadcast::Sender<Arc<NewEvent>>,
) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let first = if *stopped.borrow() {
                rx.try_recv().ok()
            } else {
                tokio::select! {
                    pending = rx.recv() => pending,
                    _ = stopped.changed() => rx.try_recv().ok(),
                }
            };
            let Some(first) = first else {
                return;
            };
            let mut size = first.events.len();
            let mut batch = vec![first];
            while size < max_batch {
                match rx.try_recv() {
                    Ok(pending) => {
                        size += pending.events.len();
                        batch.push(pending);
                    }
                    Err(_) => break,
                }
            }
            batch
        };
        write_batch(&db, batch, &live).await;
    }
}

async fn insert(db: &Db, events: &[NewEvent]) -> Result<(), WriteError> {
    let mut conn = db.conn().await.map_err(|error| {
        tracing::error!(%error, "ingest: no database connection");
        WriteError::Failed
    })?;
    insert_batch(&mut conn, events)
        .await
        .map(drop)
        .map_err(|error| {
            tracing::error!(%error, "ingest: insert failed");
            WriteError::Failed
        })
}

fn announce(live: &broadcast::Sender<Arc<NewEvent>>, events: &[NewEvent]) {
    if live.receiver_count() > 0 {
        for event in events {
            let _ = live.send(Arc::new(event.clone()));
        }
    }
}

async fn write_batch(db: &Db, batch: Vec<Pending>, live: &broadcast::Sender<Arc<NewEvent>>) {
    let events: Vec<NewEvent> = batch
        .iter()
        .flat_map(|p| p.events.iter().cloned())
        .collect();
    if insert(db, &events).await.is_ok() {
        announce(live, &events);
        for pending in batch {
            let _ = pending.done.send(Ok(()));
        }
        return;
    }
    // One request's rows may have made the whole batch fail: retry each on its own.
    for pending in batch {
        let result = insert(db, &pending.events).await;
        if result.is_ok() {
            announce(live, &pending.events);
        }
        let _ = pending.done.send(result);
    }
}
