//! Group commit, the way every ingest pipeline that must answer after the commit writes: a
//! request queues its rows and waits; writer tasks take whatever has queued (up to a batch),
//! write it in one transaction, and only then answer every request in the batch. Under load a
//! batch holds every request that arrived while the previous one committed, so the cost of a
//! commit (its fsync above all) is shared instead of paid per request.
//!
//! The writers run on a thread and runtime of their own, with connections they open
//! themselves ([`crate::Db::dedicated`]): on the request handlers' runtime, each of a batch's
//! round trips waited behind hundreds of busy request tasks (a profile of error ingestion
//! showed 20 ms gaps between a batch's statements and a fifth of the CPU idle).
//!
//! The queue is bounded: when it is full, a request is refused at once (the API answers 503
//! with `Retry-After`) instead of growing memory. A batch that fails is retried request by
//! request, so one bad request cannot sink the others; writers must therefore make a retried
//! request a no-op for what a failed batch may already have stored (the pageview batch is one
//! transaction; error events are keyed by their SDK id).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Queue and batch sizes, and writer tasks.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Requests that may wait in the queue.
    pub queue_capacity: usize,
    /// Most rows in one batch.
    pub max_batch: usize,
    /// Writer tasks (batches in flight at once).
    pub writers: usize,
}

impl WriterConfig {
    /// Default queue: requests that may wait before new ones get 503.
    pub const QUEUE_CAPACITY: usize = 2048;
    /// Default batch: rows in one transaction at most.
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

/// What a pipeline writes: one request's rows, and how a batch of them is stored.
pub trait BatchWrite: Send + Sync + 'static {
    /// One request's rows.
    type Item: Send + 'static;
    /// Why a request's rows were not stored.
    type Error: Send + 'static;

    /// Rows in `item` (a batch holds at most `max_batch` rows, or one larger request).
    fn rows(item: &Self::Item) -> usize;

    /// Stores `items` together: all of them, or (on an error) possibly some of them, in
    /// which case each is then written again on its own.
    fn write(&self, items: &[Self::Item]) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Why a request's rows were not stored.
#[derive(Debug)]
pub enum Refused<E> {
    /// The queue is full: retry shortly.
    Overloaded,
    /// The writer stopped before answering (the server is shutting down).
    Stopped,
    /// Writing failed.
    Failed(E),
}

struct Pending<W: BatchWrite> {
    item: W::Item,
    done: oneshot::Sender<Result<(), W::Error>>,
}

/// The queue and its writer tasks.
pub struct GroupCommit<W: BatchWrite> {
    tx: mpsc::Sender<Pending<W>>,
    stop: watch::Sender<bool>,
    /// Fires when the writers' thread has written everything and ended.
    finished: std::sync::Mutex<Option<oneshot::Receiver<()>>>,
}

impl<W: BatchWrite> GroupCommit<W> {
    /// Starts `config.writers` tasks writing through `write`, on a thread named `name` with a
    /// runtime of its own. Fails only when the thread or runtime cannot be made.
    pub fn start(name: &str, write: W, config: WriterConfig) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let (stop, stopped) = watch::channel(false);
        let (done, finished) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let writers = config.writers.max(1);
        let max_batch = config.max_batch;
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let rx = Arc::new(Mutex::new(rx));
                let write = Arc::new(write);
                runtime.block_on(async move {
                    let tasks: Vec<JoinHandle<()>> = (0..writers)
                        .map(|_| {
                            tokio::spawn(run(write.clone(), rx.clone(), stopped.clone(), max_batch))
                        })
                        .collect();
                    for task in tasks {
                        let _ = task.await;
                    }
                });
                let _ = done.send(());
            })?;
        Ok(Self {
            tx,
            stop,
            finished: std::sync::Mutex::new(Some(finished)),
        })
    }

    /// Queues `item` and waits until it is stored.
    pub async fn submit(&self, item: W::Item) -> Result<(), Refused<W::Error>> {
        let (done, wait) = oneshot::channel();
        self.tx
            .try_send(Pending { item, done })
            .map_err(|_| Refused::Overloaded)?;
        match wait.await {
            Ok(result) => result.map_err(Refused::Failed),
            Err(_) => Err(Refused::Stopped),
        }
    }

    /// Requests waiting right now.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Writes what is queued, then stops the tasks.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let finished = self
            .finished
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take();
        if let Some(finished) = finished {
            let _ = finished.await;
        }
    }
}

async fn run<W: BatchWrite>(
    write: Arc<W>,
    rx: Arc<Mutex<mpsc::Receiver<Pending<W>>>>,
    mut stopped: watch::Receiver<bool>,
    max_batch: usize,
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
            let mut size = W::rows(&first.item);
            let mut batch = vec![first];
            while size < max_batch {
                match rx.try_recv() {
                    Ok(pending) => {
                        size += W::rows(&pending.item);
                        batch.push(pending);
                    }
                    Err(_) => break,
                }
            }
            batch
        };
        write_batch(write.as_ref(), batch).await;
    }
}

async fn write_batch<W: BatchWrite>(write: &W, batch: Vec<Pending<W>>) {
    let (items, dones): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.item, p.done)).unzip();
    let error = match write.write(&items).await {
        Ok(()) => {
            for done in dones {
                let _ = done.send(Ok(()));
            }
            return;
        }
        Err(error) => error,
    };
    let mut dones = dones;
    if dones.len() == 1
        && let Some(done) = dones.pop()
    {
        let _ = done.send(Err(error));
        return;
    }
    // One request's rows may have made the whole batch fail: retry each on its own.
    for (item, done) in items.into_iter().zip(dones) {
        let result = write.write(std::slice::from_ref(&item)).await;
        let _ = done.send(result);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Records the batches it is given; a batch holding `bad` fails; the first write waits
    /// for `gate`, so what is submitted meanwhile queues into the next batch.
    struct Recorder {
        batches: std::sync::Mutex<Vec<Vec<u32>>>,
        gate: Mutex<Option<oneshot::Receiver<()>>>,
    }

    const BAD: u32 = 13;

    impl BatchWrite for Arc<Recorder> {
        type Item = u32;
        type Error = &'static str;

        fn rows(_: &u32) -> usize {
            1
        }

        async fn write(&self, items: &[u32]) -> Result<(), &'static str> {
            let gate = self.gate.lock().await.take();
            if let Some(gate) = gate {
                let _ = gate.await;
            }
            self.batches.lock().unwrap().push(items.to_vec());
            if items.contains(&BAD) {
                Err("bad row")
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn a_failed_batch_is_retried_request_by_request() {
        let (open, gate) = oneshot::channel();
        let recorder = Arc::new(Recorder {
            batches: Default::default(),
            gate: Mutex::new(Some(gate)),
        });
        let queue =
            GroupCommit::start("test-writer", recorder.clone(), WriterConfig::default()).unwrap();
        let queue = Arc::new(queue);
        // The first request holds the writer at its gate…
        let first = tokio::spawn({
            let queue = queue.clone();
            async move { queue.submit(1).await }
        });
        while recorder.gate.try_lock().map_or(true, |gate| gate.is_some()) {
            tokio::task::yield_now().await;
        }
        // …while three more queue: they become one batch, which fails because of one.
        let rest: Vec<_> = [2, BAD, 3]
            .into_iter()
            .map(|item| {
                let queue = queue.clone();
                tokio::spawn(async move { queue.submit(item).await })
            })
            .collect();
        while queue.queued() < 3 {
            tokio::task::yield_now().await;
        }
        open.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        let mut results = Vec::new();
        for task in rest {
            results.push(task.await.unwrap());
        }
        assert!(results[0].is_ok() && results[2].is_ok());
        assert!(matches!(results[1], Err(Refused::Failed("bad row"))));
        let batches = recorder.batches.lock().unwrap().clone();
        assert_eq!(
            batches,
            vec![vec![1], vec![2, BAD, 3], vec![2], vec![BAD], vec![3]]
        );
        queue.shutdown().await;
    }
}
