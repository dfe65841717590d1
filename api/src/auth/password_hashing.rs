//! Password hashing, bounded: argon2id takes about 19 MiB and tens of milliseconds of one core
//! per check, so unbounded concurrent logins (even to unknown addresses) can exhaust memory.
//! Every hash or verification (sign-up, login, password change, reset) goes through one
//! [`PasswordHashing`]: at most `concurrency` run at once, at most `queue` more wait (each for
//! at most `max_wait`), and anything beyond answers 503 with `Retry-After` at once.
//!
//! The hashes run on `concurrency` threads of their own, not on tokio's blocking pool: the
//! allocator keeps a freed 19 MiB block in the arena of the thread that used it, so hashes
//! spread over many pool threads left hundreds of MiB resident after a burst (measured: 414 MiB
//! after 20 logins), while a few dedicated threads reuse their own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tenant::problem::ProblemKind;

use poem::http::StatusCode;
use tokio::sync::Semaphore;

use crate::error::ApiError;

type Work = Box<dyn FnOnce() + Send>;

/// The bound on concurrent password hashing, and the threads the hashes run on.
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    max_wait: Duration,
    /// Work for the hashing threads (they stop when this is dropped).
    work: mpsc::Sender<Work>,
}

impl PasswordHashing {
    /// At most `concurrency` (at least 1) hashes at once, `queue` waiting, each waiting at most
    /// `max_wait`.
    pub fn new(concurrency: usize, queue: usize, max_wait: Duration) -> Self {
        let concurrency = concurrency.max(1);
        let (sender, receiver) = mpsc::channel::<Work>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..concurrency {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        let next = receiver
                            .lock()
                            .unwrap_or_else(|poison| poison.into_inner())
                            .recv();
                        match next {
                            Ok(work) => work(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a password-hashing thread");
            }
        }
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            waiting: AtomicUsize::new(0),
            queue,
            max_wait,
            work: sender,
        }
    }

    /// Runs `work` (a hash or a verification) on a hashing thread once a slot is free; 503
    /// with `Retry-After` when the queue is full or the wait is too long.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(busy());
                }
                let acquired =
                    tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await;
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(busy()),
                }
            }
        };
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Work = Box::new(move || {
            let _ = done.send(work());
            drop(permit);
        });
        self.work
            .send(job)
            .map_err(|_| ApiError::internal("the password-hashing threads are gone"))?;
        result
            .await
            .map_err(|_| ApiError::internal("a password check was dropped"))
    }
}

/// One hash at a time per core.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn busy() -> ApiError {
    ApiError {
        retry_after: Some(1),
        ..ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::Unavailable,
            "too many sign-ins are being checked at once; retry in a second",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_at_most_the_bound_at_once_and_refuses_beyond_the_queue() {
        let hashing = Arc::new(PasswordHashing::new(2, 3, Duration::from_secs(5)));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let (hashing, running, peak) = (hashing.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    hashing
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(100));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        // Wait until two run and three wait: the sixth is refused at once.
        while hashing.waiting.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let refused = hashing.run(|| ()).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.retry_after, Some(1));
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(
            peak.load(Ordering::SeqCst),
            2,
            "never more than the bound at once"
        );
        assert!(hashing.run(|| ()).await.is_ok(), "free again afterwards");
    }

    #[tokio::test]
    async fn a_wait_longer_than_the_limit_is_refused() {
        let hashing = Arc::new(PasswordHashing::new(1, 10, Duration::from_millis(50)));
        let slow = {
            let hashing = hashing.clone();
            tokio::spawn(async move {
                hashing
                    .run(|| std::thread::sleep(Duration::from_millis(500)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(hashing.run(|| ()).await.is_err());
        slow.await.unwrap().unwrap();
    }
}
