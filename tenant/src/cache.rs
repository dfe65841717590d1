//! The one kind of in-memory cache Beacon keeps: bounded by the bytes it holds (keys and values
//! weighed by the caller), with a time to live per entry.
//!
//! Every cache on a path an untrusted client reaches (domains, DSNs, salts, user agents,
//! source maps, throttle windows) is one of these, so no sequence of requests can grow memory
//! without bound: when the budget is reached, moka evicts the entries least likely to be used
//! again (TinyLFU), never the whole cache at once.

use std::hash::Hash;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::ops::compute::Op;

/// A value and how long it may be served.
#[derive(Clone)]
struct Timed<V> {
    value: V,
    ttl: Duration,
}

struct PerEntry;

impl<K, V> Expiry<K, Timed<V>> for PerEntry {
    fn expire_after_create(&self, _: &K, timed: &Timed<V>, _: Instant) -> Option<Duration> {
        Some(timed.ttl)
    }

    fn expire_after_update(
        &self,
        _: &K,
        timed: &Timed<V>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(timed.ttl)
    }
}

/// A cache holding at most `max_bytes` (as weighed by `weigh`), each entry for its own time.
pub struct BoundedCache<K, V> {
    inner: moka::sync::Cache<K, Timed<V>>,
}

/// The bytes an entry costs: its key and value as the caller weighs them, plus the fixed
/// overhead of an entry in the cache's tables.
const ENTRY_OVERHEAD: usize = 128;

impl<K, V> BoundedCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `max_bytes`; `weigh` tells the bytes a key and value hold on the heap
    /// beyond their inline size.
    pub fn new(max_bytes: u64, weigh: fn(&K, &V) -> usize) -> Self {
        let inner = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(move |key: &K, timed: &Timed<V>| {
                let bytes = weigh(key, &timed.value)
                    + std::mem::size_of::<K>()
                    + std::mem::size_of::<V>()
                    + ENTRY_OVERHEAD;
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .expire_after(PerEntry)
            .build();
        Self { inner }
    }

    /// The value for `key` (or a borrowed form of it, so a hit allocates nothing), while its
    /// time to live lasts.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.get(key).map(|timed| timed.value)
    }

    /// Remembers `value` for `key` during `ttl`.
    pub fn insert(&self, key: K, value: V, ttl: Duration) {
        self.inner.insert(key, Timed { value, ttl });
    }

    /// Replaces the value for `key` with what `update` makes of the current one, atomically for
    /// that key (no other update of the key runs in between), keeping it for `ttl`; returns what
    /// `update` returned besides the new value.
    pub fn update<T: Default>(
        &self,
        key: K,
        ttl: Duration,
        update: impl FnOnce(Option<V>) -> (V, T),
    ) -> T {
        let mut out = None;
        self.inner.entry(key).and_compute_with(|current| {
            let (value, result) = update(current.map(|entry| entry.into_value().value));
            out = Some(result);
            Op::Put(Timed { value, ttl })
        });
        // moka runs the closure exactly once per call, so `out` is always set.
        out.unwrap_or_default()
    }

    /// Forgets `key` (its next read goes to the source).
    pub fn invalidate<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.invalidate(key);
    }

    /// Bytes held, as weighed (after pending maintenance).
    pub fn weighted_size(&self) -> u64 {
        self.inner.run_pending_tasks();
        self.inner.weighted_size()
    }

    /// Entries held (after pending maintenance).
    pub fn entry_count(&self) -> u64 {
        self.inner.run_pending_tasks();
        self.inner.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::ptr_arg)] // the weigher's signature is the cache's key and value types
    fn weigh(key: &String, value: &String) -> usize {
        key.len() + value.len()
    }

    #[test]
    fn stays_under_its_byte_budget_whatever_is_inserted() {
        let cache = BoundedCache::new(1_000_000, weigh);
        for i in 0..2_000 {
            cache.insert(
                format!("{i:060000}"),
                String::new(),
                Duration::from_secs(60),
            );
        }
        assert!(
            cache.weighted_size() <= 1_000_000,
            "{}",
            cache.weighted_size()
        );
        assert!(cache.entry_count() > 0, "it still caches");
    }

    #[test]
    fn entries_expire_after_their_own_time() {
        let cache = BoundedCache::new(1_000_000, weigh);
        cache.insert("short".into(), "a".into(), Duration::from_millis(50));
        cache.insert("long".into(), "b".into(), Duration::from_secs(60));
        assert_eq!(cache.get(&"short".to_owned()).as_deref(), Some("a"));
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(cache.get(&"short".to_owned()), None);
        assert_eq!(cache.get(&"long".to_owned()).as_deref(), Some("b"));
    }

    #[test]
    fn updates_are_atomic_per_key() {
        let cache = std::sync::Arc::new(BoundedCache::new(1_000_000, |_: &u8, _: &u32| 0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    for _ in 0..1_000 {
                        cache.update(1, Duration::from_secs(60), |n| (n.unwrap_or(0) + 1, ()));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(cache.get(&1), Some(8_000));
    }
}
