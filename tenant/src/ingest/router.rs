//! Where an event goes: domain → (organization, project), and the project's current salt.
//! Both are cached briefly (a minute when found, ten seconds when not), so the hot path reads
//! memory, and a new project or a rotated salt is picked up within a minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::tables::{project_salts, projects};
use crate::{Db, DbError};
use uuid::Uuid;

const FOUND_TTL: Duration = Duration::from_secs(60);
const MISSING_TTL: Duration = Duration::from_secs(10);
const MAX_ENTRIES: usize = 100_000;

/// A project events may be written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Organization.
    pub org_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Its current visitor-id salt.
    pub salt: [u8; 16],
}

type Cache<K, V> = Mutex<HashMap<K, (Instant, V)>>;

fn cached<K: std::hash::Hash + Eq, V: Clone>(cache: &Cache<K, V>, key: &K) -> Option<V> {
    let map = cache.lock().unwrap_or_else(|poison| poison.into_inner());
    map.get(key)
        .filter(|(expires, _)| *expires > Instant::now())
        .map(|(_, value)| value.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(cache: &Cache<K, V>, key: K, value: V, ttl: Duration) {
    let mut map = cache.lock().unwrap_or_else(|poison| poison.into_inner());
    if map.len() >= MAX_ENTRIES {
        let now = Instant::now();
        map.retain(|_, (expires, _)| *expires > now);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
    }
    map.insert(key, (Instant::now() + ttl, value));
}

/// The project a Sentry DSN names, with the settings error ingestion needs (cached like the
/// rest: a change is picked up within a minute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnTarget {
    /// Organization.
    pub org_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// The DSN's public key.
    pub public_key: String,
    /// Error events accepted per minute.
    pub events_per_minute: i32,
    /// Extra key names to scrub.
    pub scrub_fields: Vec<String>,
    /// Key of the affected-users hash.
    pub user_key: Vec<u8>,
}

/// Resolves domains to targets through the ingest role.
pub struct Router {
    db: Db,
    domains: Cache<String, Option<(Uuid, Uuid)>>,
    salts: Cache<Uuid, Option<[u8; 16]>>,
    dsns: Cache<i64, Option<DsnTarget>>,
}

impl Router {
    /// A router reading through `db` (an ingest-role pool).
    pub fn new(db: Db) -> Self {
        Self {
            db,
            domains: Mutex::default(),
            salts: Mutex::default(),
            dsns: Mutex::default(),
        }
    }

    /// The project whose DSN id is `ingest_id`, if any.
    pub async fn route_dsn(&self, ingest_id: i64) -> Result<Option<DsnTarget>, DbError> {
        if let Some(target) = cached(&self.dsns, &ingest_id) {
            return Ok(target);
        }
        let mut conn = self.db.conn().await?;
        let target = projects::route_ingest_id(&mut conn, ingest_id)
            .await?
            .map(|project| DsnTarget {
                org_id: project.org_id,
                project_id: project.project_id,
                public_key: project.ingest_key,
                events_per_minute: project.error_events_per_minute,
                scrub_fields: project.scrub_fields,
                user_key: project.error_user_key,
            });
        let ttl = if target.is_some() {
            FOUND_TTL
        } else {
            MISSING_TTL
        };
        remember(&self.dsns, ingest_id, target.clone(), ttl);
        Ok(target)
    }

    /// The target for `domain`, if a project collects for it.
    pub async fn route(&self, domain: &str) -> Result<Option<Target>, DbError> {
        let key = domain.strip_prefix("www.").unwrap_or(domain).to_owned();
        let route = match cached(&self.domains, &key) {
            Some(route) => route,
            None => {
                let mut conn = self.db.conn().await?;
                let mut route = projects::route_domain(&mut conn, &key).await?;
                if route.is_none() && key != domain {
                    route = projects::route_domain(&mut conn, domain).await?;
                }
                let ttl = if route.is_some() {
                    FOUND_TTL
                } else {
                    MISSING_TTL
                };
                remember(&self.domains, key, route, ttl);
                route
            }
        };
        let Some((org_id, project_id)) = route else {
            return Ok(None);
        };
        let salt = match cached(&self.salts, &project_id) {
            Some(salt) => salt,
            None => {
                let mut conn = self.db.conn().await?;
                let salt = project_salts::current(&mut conn, project_id)
                    .await?
                    .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok());
                let ttl = if salt.is_some() {
                    FOUND_TTL
                } else {
                    MISSING_TTL
                };
                remember(&self.salts, project_id, salt, ttl);
                salt
            }
        };
        Ok(salt.map(|salt| Target {
            org_id,
            project_id,
            salt,
        }))
    }
}
