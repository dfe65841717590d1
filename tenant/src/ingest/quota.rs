//! The quota gate of every ingest pipeline: which organizations are over a product's quota past
//! the grace period (so their new events of that product are dropped), and how many were.
//!
//! The hot path never queries the database for this: the blocked set is read whole from
//! `quota_state` every [`QuotaGate::REFRESH`] by a background task, and a check is one hash
//! lookup under a read lock. Drops are counted in memory and added to `dropped_daily` by the
//! same task, so a burst of refused events costs no write each.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use chrono::NaiveDate;

use crate::tables::usage::{self, Product};
use crate::{Db, DbError, OrgId};

/// Blocked products and the drops not yet written.
#[derive(Default)]
pub struct QuotaGate {
    blocked: RwLock<HashSet<(OrgId, Product)>>,
    dropped: Mutex<HashMap<(OrgId, Product, NaiveDate), i64>>,
}

impl QuotaGate {
    /// How often the blocked set is re-read and drops are written.
    pub const REFRESH: Duration = Duration::from_secs(10);

    /// A gate refreshed from `db` (an ingest-role pool) every [`Self::REFRESH`] until dropped.
    /// Must be called inside a Tokio runtime.
    pub fn start(db: Db) -> Arc<Self> {
        let gate = Arc::new(Self::default());
        let weak: Weak<Self> = Arc::downgrade(&gate);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Self::REFRESH);
            loop {
                tick.tick().await;
                let Some(gate) = weak.upgrade() else { return };
                if let Err(error) = gate.refresh(&db).await {
                    tracing::warn!(%error, "refreshing the quota gate failed; will retry");
                }
            }
        });
        gate
    }

    /// Whether new events of `product` from `org` are stored.
    pub fn admits(&self, org: OrgId, product: Product) -> bool {
        match self.blocked.read() {
            Ok(blocked) => !blocked.contains(&(org, product)),
            // A panic elsewhere poisoned the lock: keep accepting rather than lose events.
            Err(_) => true,
        }
    }

    /// Counts `count` events of `product` from `org` refused on `day`.
    pub fn count_dropped(&self, org: OrgId, product: Product, day: NaiveDate, count: i64) {
        if let Ok(mut dropped) = self.dropped.lock() {
            *dropped.entry((org, product, day)).or_default() += count;
        }
    }

    /// Re-reads the blocked set and writes the drops counted so far (kept for the next try
    /// when writing fails). `db` is an ingest-role pool.
    pub async fn refresh(&self, db: &Db) -> Result<(), DbError> {
        let mut conn = db.conn().await?;
        let blocked: HashSet<_> = usage::blocked(&mut conn).await?.into_iter().collect();
        if let Ok(mut current) = self.blocked.write() {
            *current = blocked;
        }
        let pending: Vec<_> = match self.dropped.lock() {
            Ok(mut dropped) => dropped.drain().collect(),
            Err(_) => Vec::new(),
        };
        let mut failed = None;
        for ((org, product, day), count) in pending {
            if failed.is_none()
                && let Err(error) = usage::add_dropped(&mut conn, org, product, day, count).await
            {
                failed = Some(error);
            }
            if failed.is_some() {
                self.count_dropped(org, product, day, count);
            }
        }
        match failed {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }
}
