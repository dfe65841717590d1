//! The blob store of replay chunk bodies. PostgreSQL (`replay_blobs`) is the default and what
//! the embedded single binary uses: a body is written in the transaction that records its
//! chunk, so an acknowledged chunk is whole and a refused one leaves nothing.

use diesel_async::AsyncPgConnection;

use crate::tables::replays;
use crate::{OrgId, ProjectId};

/// Where chunk bodies are kept.
#[derive(Debug, Clone, Default)]
pub enum BlobStore {
    /// In PostgreSQL, beside the rows.
    #[default]
    Postgres,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl BlobStore {
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
        }
    }

    /// Deletes the bodies under `keys`.
    pub async fn delete(
        &self,
        conn: &mut AsyncPgConnection,
        org: OrgId,
        keys: &[String],
    ) -> Result<(), StoreError> {
        match self {
            Self::Postgres => {
                replays::delete_blobs(conn, org, keys).await?;
                Ok(())
            }
        }
    }
}
