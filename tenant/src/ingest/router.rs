//! Where an event goes: domain → (organization, project), the project's current salt, and its
//! replay settings (what `/js/replay.js` asks before recording).
//! All are cached briefly, in bounded caches ([`crate::cache`]) (a minute when found, ten
//! seconds when not), so the hot path reads memory, and a new project, a rotated salt or changed
//! replay settings are picked up within a minute.

use std::time::Duration;

use crate::cache::BoundedCache;
use crate::tables::replays::{self, ReplaySettings};
use crate::tables::{project_salts, projects};
use crate::{Db, DbError};
use uuid::Uuid;

const FOUND_TTL: Duration = Duration::from_secs(60);
const MISSING_TTL: Duration = Duration::from_secs(10);
/// Bytes each of the router's caches may hold: tens of thousands of projects' routes, while a
/// flood of unknown domains or DSNs cannot grow memory past it.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

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

fn ttl<T>(found: &Option<T>) -> Duration {
    if found.is_some() {
        FOUND_TTL
    } else {
        MISSING_TTL
    }
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
    domains: BoundedCache<String, Option<(Uuid, Uuid)>>,
    salts: BoundedCache<Uuid, Option<[u8; 16]>>,
    dsns: BoundedCache<i64, Option<DsnTarget>>,
    replays: BoundedCache<Uuid, Option<ReplaySettings>>,
}

impl Router {
    /// A router reading through `db` (an ingest-role pool).
    pub fn new(db: Db) -> Self {
        Self {
            db,
            domains: BoundedCache::new(CACHE_BYTES, |domain, _| domain.len()),
            salts: BoundedCache::new(CACHE_BYTES, |_, _| 0),
            replays: BoundedCache::new(CACHE_BYTES, |_, settings| {
                settings.as_ref().map_or(0, |settings| {
                    settings.unmask_selector.as_ref().map_or(0, String::len)
                        + settings.block_selector.as_ref().map_or(0, String::len)
                })
            }),
            dsns: BoundedCache::new(CACHE_BYTES, |_, target| {
                target.as_ref().map_or(0, |target| {
                    target.public_key.len()
                        + target.user_key.len()
                        + target
                            .scrub_fields
                            .iter()
                            .map(|f| f.len() + 24)
                            .sum::<usize>()
                })
            }),
        }
    }

    /// The project whose DSN id is `ingest_id`, if any.
    pub async fn route_dsn(&self, ingest_id: i64) -> Result<Option<DsnTarget>, DbError> {
        if let Some(target) = self.dsns.get(&ingest_id) {
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
        self.dsns.insert(ingest_id, target.clone(), ttl(&target));
        Ok(target)
    }

    /// The target for `domain`, if a project collects for it.
    pub async fn route(&self, domain: &str) -> Result<Option<Target>, DbError> {
        let key = domain.strip_prefix("www.").unwrap_or(domain);
        let route = match self.domains.get(key) {
            Some(route) => route,
            None => {
                let mut conn = self.db.conn().await?;
                let mut route = projects::route_domain(&mut conn, key).await?;
                if route.is_none() && key != domain {
                    route = projects::route_domain(&mut conn, domain).await?;
                }
                self.domains.insert(key.to_owned(), route, ttl(&route));
                route
            }
        };
        let Some((org_id, project_id)) = route else {
            return Ok(None);
        };
        Ok(self.salt(project_id).await?.map(|salt| Target {
            org_id,
            project_id,
            salt,
        }))
    }

    /// The current visitor-id salt of `project_id`, if it has one.
    pub async fn salt(&self, project_id: Uuid) -> Result<Option<[u8; 16]>, DbError> {
        if let Some(salt) = self.salts.get(&project_id) {
            return Ok(salt);
        }
        let mut conn = self.db.conn().await?;
        let salt = project_salts::current(&mut conn, crate::ProjectId::from_uuid(project_id))
            .await?
            .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok());
        self.salts.insert(project_id, salt, ttl(&salt));
        Ok(salt)
    }

    /// Forgets the cached replay settings of `project_id` (changed on this server: read at
    /// once here; other servers pick the change up within a minute).
    pub fn forget_replay_settings(&self, project_id: Uuid) {
        self.replays.invalidate(&project_id);
    }

    /// The replay settings of `project_id` (`None`: the project is gone).
    pub async fn replay_settings(
        &self,
        project_id: Uuid,
    ) -> Result<Option<ReplaySettings>, DbError> {
        if let Some(settings) = self.replays.get(&project_id) {
            return Ok(settings);
        }
        let mut conn = self.db.conn().await?;
        let settings =
            replays::settings(&mut conn, crate::ProjectId::from_uuid(project_id)).await?;
        self.replays
            .insert(project_id, settings.clone(), ttl(&settings));
        Ok(settings)
    }
}
