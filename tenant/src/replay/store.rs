//! The blob store of replay chunk bodies, under keys `<org>/<project>/<recording>/<chunk>`.
//!
//! - **PostgreSQL** (`replay_blobs`) is the default and what the embedded single binary uses: a
//!   body is written and deleted in the transaction that records or deletes its chunk, so an
//!   acknowledged chunk is whole and a refused one leaves nothing.
//! - **An S3-compatible bucket** (`BEACON_BLOB_URL=s3://bucket[/prefix]`, with the usual
//!   `AWS_*` settings: credentials, region, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`), through
//!   `object_store`, for larger installations. A body is put before its chunk's transaction
//!   commits (a failed put fails the chunk; a commit that fails after a put leaves an object no
//!   row names, overwritten when the chunk is sent again). The transaction that deletes rows
//!   naming objects records the objects as owed (`blob_deletions`); they are deleted once it
//!   has committed ([`BlobStore::settle`]), and what fails is retried by the hourly replay job,
//!   so no object outlives its rows. A deleted project's or organization's objects go by prefix
//!   ([`BlobStore::purge_prefix`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{DynObjectStore, ObjectStore, ObjectStoreExt, PutPayload};

use crate::tables::{blob_deletions, replays};
use crate::{Db, DbError, OrgId, ProjectId};

/// Where chunk bodies are kept.
#[derive(Clone, Default)]
pub enum BlobStore {
    /// In PostgreSQL, beside the rows.
    #[default]
    Postgres,
    /// In an object store (an S3-compatible bucket).
    Object(Arc<DynObjectStore>),
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postgres => f.write_str("BlobStore::Postgres"),
            Self::Object(store) => write!(f, "BlobStore::Object({store})"),
        }
    }
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    /// The object store failed.
    #[error("blob store: {0}")]
    Object(#[from] object_store::Error),
    /// The database pool failed.
    #[error(transparent)]
    Pool(#[from] DbError),
    /// `BEACON_BLOB_URL` or an option is not one Beacon understands.
    #[error("{0}")]
    Config(String),
}

impl BlobStore {
    /// The store `BEACON_BLOB_URL` names (`s3://bucket[/prefix]`), with the `AWS_*` settings of
    /// the environment, and `options` (object_store's S3 keys such as `endpoint` or
    /// `access_key_id`) over them.
    pub fn from_url(url: &str, options: &[(&str, &str)]) -> Result<Self, StoreError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| StoreError::Config(format!("BEACON_BLOB_URL is not a URL: {e}")))?;
        if parsed.scheme() != "s3" || parsed.host_str().is_none_or(str::is_empty) {
            return Err(StoreError::Config(
                "BEACON_BLOB_URL must be s3://<bucket>[/<prefix>]".into(),
            ));
        }
        let mut builder = AmazonS3Builder::from_env().with_url(url);
        for (key, value) in options {
            let key: AmazonS3ConfigKey = key
                .parse()
                .map_err(|e| StoreError::Config(format!("blob store option {key}: {e}")))?;
            builder = builder.with_config(key, *value);
        }
        let bucket = builder.build()?;
        let prefix = parsed.path().trim_matches('/');
        Ok(Self::Object(if prefix.is_empty() {
            Arc::new(bucket)
        } else {
            Arc::new(PrefixStore::new(bucket, prefix))
        }))
    }

    /// Stores `body` under `key`, on the transaction `conn` that records its chunk.
    pub async fn put(
        &self,
        conn: &mut AsyncPgConnection,
        org: OrgId,
        project: ProjectId,
        key: &str,
        body: &[u8],
    ) -> Result<(), StoreError> {
        match self {
            Self::Postgres => Ok(replays::put_blob(conn, org, project, key, body).await?),
            Self::Object(store) => {
                store
                    .put(&Path::from(key), PutPayload::from(body.to_vec()))
                    .await?;
                Ok(())
            }
        }
    }

    /// The body under `key`, if any.
    pub async fn get(
        &self,
        conn: &mut AsyncPgConnection,
        org: OrgId,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Self::Postgres => Ok(replays::get_blob(conn, org, key).await?),
            Self::Object(store) => match store.get(&Path::from(key)).await {
                Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(error.into()),
            },
        }
    }

    /// Deletes the bodies under `keys` (of `project`), on the transaction that deletes their
    /// chunks: the PostgreSQL store's rows at once; an object store's objects are recorded as
    /// owed (`blob_deletions`), and [`BlobStore::settle`] deletes them once it has committed.
    pub async fn delete(
        &self,
        conn: &mut AsyncPgConnection,
        org: OrgId,
        project: ProjectId,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match self {
            Self::Postgres => replays::delete_blobs(conn, org, keys).await?,
            Self::Object(_) => blob_deletions::owe(conn, org, project, keys, now).await?,
        };
        Ok(())
    }

    /// Deletes up to [`SETTLE_BATCH`] of `org`'s owed objects that are due. A failed one keeps
    /// its error and is tried again later ([`blob_deletions::retry_delay`]); the hourly
    /// replay job settles what is left. Answers how many were deleted and how many failed.
    ///
    /// A PostgreSQL store owing objects means this process was started without the
    /// `BEACON_BLOB_URL` the server wrote them with: that is refused with a clear error, and
    /// the deletions stay owed.
    pub async fn settle(
        &self,
        db: &Db,
        org: OrgId,
        now: DateTime<Utc>,
    ) -> Result<Settled, StoreError> {
        db.scoped(org, async |conn| {
            let due = blob_deletions::due(conn, org, now, SETTLE_BATCH).await?;
            if due.is_empty() {
                return Ok(Settled::default());
            }
            let Self::Object(store) = self else {
                return Err(StoreError::Config(format!(
                    "{} objects of an S3-compatible store are to be deleted, but this process has \
                     no BEACON_BLOB_URL: start it with the server's",
                    due.len()
                )));
            };
            let mut settled = Settled::default();
            let mut done = Vec::new();
            for owed in &due {
                match store.delete(&Path::from(owed.blob_key.as_str())).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                        done.push(owed.blob_key.clone());
                    }
                    Err(error) => {
                        tracing::warn!(%error, "deleting a replay object failed; retried later");
                        blob_deletions::failed(conn, org, owed, &error.to_string(), now).await?;
                        settled.failed += 1;
                    }
                }
            }
            settled.deleted = blob_deletions::done(conn, org, &done).await?;
            Ok(settled)
        })
        .await
    }

    /// Deletes every object under `prefix` (an organization's or a project's, once erased;
    /// the PostgreSQL store's rows went with them).
    pub async fn purge_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        let Self::Object(store) = self else {
            return Ok(0);
        };
        let prefix = Path::from(prefix);
        let found: Vec<Path> = store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        let count = found.len();
        let locations = futures::stream::iter(found.into_iter().map(Ok)).boxed();
        store
            .delete_stream(locations)
            .try_collect::<Vec<Path>>()
            .await?;
        Ok(count)
    }
}

/// Most owed object deletions [`BlobStore::settle`] makes in one transaction.
pub const SETTLE_BATCH: i64 = 500;

/// What [`BlobStore::settle`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Objects deleted.
    pub deleted: usize,
    /// Objects whose deletion failed (tried again later).
    pub failed: usize,
}

/// The prefix of an organization's objects.
pub fn org_prefix(org: OrgId) -> String {
    org.uuid().to_string()
}

/// The prefix of a project's objects.
pub fn project_prefix(org: OrgId, project: ProjectId) -> String {
    format!("{}/{}", org.uuid(), project.uuid())
}
