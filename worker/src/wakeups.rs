//! Wake-ups for the workers from LISTEN/NOTIFY that outlive a lost connection.
//!
//! apalis' [`Pubsub`] ends for good when its listening connection breaks and cannot be opened
//! again at once (a database restart): after that, a worker would only find new jobs on its
//! polling interval. [`Wakeups`] starts a fresh listener instead, after a pause so that a
//! database that is down is not asked again and again.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use apalis_postgres::{PgPool, Pubsub};
use futures::Stream;

/// How long to wait before listening again after the listener ended.
const PAUSE: Duration = Duration::from_secs(1);

/// A stream yielding `()` whenever a job may be waiting.
pub(crate) struct Wakeups {
    pool: PgPool,
    queue: String,
    listener: Pubsub,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Wakeups {
    /// Listens for jobs inserted into `queue`.
    pub(crate) fn new(pool: PgPool, queue: &str) -> Self {
        Self {
            listener: Pubsub::new(pool.clone(), queue.to_owned()),
            pool,
            queue: queue.to_owned(),
            pause: None,
        }
    }
}

impl Stream for Wakeups {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let this = self.get_mut();
        loop {
            if let Some(pause) = this.pause.as_mut() {
                ready!(pause.as_mut().poll(cx));
                this.pause = None;
                this.listener = Pubsub::new(this.pool.clone(), this.queue.clone());
                tracing::debug!("listening for new jobs again");
            }
            match ready!(Pin::new(&mut this.listener).poll_next(cx)) {
                // A notification, or an error (the worker's next fetch will tell).
                Some(_) => return Poll::Ready(Some(())),
                None => this.pause = Some(Box::pin(tokio::time::sleep(PAUSE))),
            }
        }
    }
}
