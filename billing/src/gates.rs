//! Gates that count before they admit: a new project or seat is refused when the plan's limit
//! is reached. The organization's row is locked first, so two concurrent requests cannot both
//! take the last place.

use diesel_async::AsyncPgConnection;
use tenant::tables::{billing as rows, organizations};
use tenant::{DbError, OrgId};

use crate::entitlements::{Entitlements, Limit, Refusal};

/// A gate's answer when it does not admit.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The plan does not allow it.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The count could not be read.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for GateError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(error.into())
    }
}

/// Admits one more of `limit` (a project, a seat) in `org`, in its scope, or refuses naming
/// the plan that allows more. Free of queries when the plan has no such limit.
pub async fn ensure_room(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    entitlements: &Entitlements,
    limit: Limit,
) -> Result<(), GateError> {
    if entitlements.limit(limit).is_none() {
        return Ok(());
    }
    organizations::lock(conn, org).await?;
    let used = match limit {
        Limit::Projects => rows::projects_used(conn, org).await?,
        Limit::Seats => rows::seats_used(conn, org).await?,
    };
    entitlements.check_limit(limit, used, 1)?;
    Ok(())
}
