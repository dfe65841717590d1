//! `beacon audit verify [--org ID]`: checks organizations' audit hash chains from the
//! command line (operators, or a scheduled check outside the server), with the same code as
//! `GET /api/v1/orgs/{org_id}/audit-log/verify`. Exits non-zero when a chain is broken.

use tenant::audit::chain;
use tenant::audit::checkpoint::CheckpointKey;
use tenant::tables::audit_log;
use tenant::{AppRole, Db, DbError, OrgId};
use uuid::Uuid;

use crate::routes::audit::verification_out;

/// What one organization's check came to.
pub struct Checked {
    /// The organization.
    pub org: OrgId,
    /// Intact or not.
    pub intact: bool,
    /// The line printed for it.
    pub line: String,
}

/// Verifies `org`'s chain, or every organization's with a chain; one line per organization.
pub async fn verify(
    owner_url: &str,
    org: Option<Uuid>,
    key: Option<&CheckpointKey>,
) -> anyhow::Result<Vec<Checked>> {
    let app = Db::connect(owner_url, &Default::default())?;
    let orgs = match org {
        Some(org) => vec![OrgId::from_uuid(org)],
        None => {
            let sweeper = Db::connect_as(owner_url, AppRole::Sweeper, &Default::default())?;
            let mut conn = sweeper.conn().await?;
            audit_log::organizations_with_chain(&mut conn).await?
        }
    };
    let mut checked = Vec::with_capacity(orgs.len());
    for org in orgs {
        let verification = app
            .scoped(org, async |conn| {
                Ok::<_, DbError>(chain::verify(conn, org, key).await?)
            })
            .await?;
        let out = verification_out(verification);
        let line = match &out.broken {
            None => format!(
                "{org}: intact, {} records checked{}",
                out.checked,
                match (out.checkpoint_seq, out.checkpoint_signature_checked) {
                    (Some(seq), true) => format!(" from the signed checkpoint at {seq}"),
                    (Some(seq), false) => format!(
                        " from the checkpoint at {seq} (signature not checked: no BEACON_AUDIT_KEY)"
                    ),
                    (None, _) => String::new(),
                }
            ),
            Some(broken) => format!(
                "{org}: BROKEN at record {} ({}), {} records intact before it",
                broken.seq, broken.fault, out.checked
            ),
        };
        checked.push(Checked {
            org,
            intact: out.intact,
            line,
        });
    }
    Ok(checked)
}
