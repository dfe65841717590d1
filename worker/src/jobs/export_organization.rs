//! Writes an organization's data export and e-mails its download link.
//!
//! The archive (`<data>/exports/<org>/<export>.tar.gz`) holds one JSON Lines file per tenant
//! table the application can read (found in the catalog, so a new table is exported without a
//! change here), the members with their e-mail addresses, the hourly rollups as CSV, and a
//! `README.txt` that lists every file with its row count and what is left out and why. Secrets
//! are never exported (key and token hashes, stream secrets); visitor-id salts are not readable
//! by the application at all. Every table is read in one transaction through a cursor, 2,000
//! rows at a time, into a temporary file: memory stays constant for any size.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::tables::{org_exports, organizations, users};
use tenant::{Actor, DbError, OrgId};
use uuid::Uuid;

use super::JobContext;
use crate::archive::Archive;

/// How long a download link works.
pub const LINK_DAYS: i64 = 7;
/// Rows read per cursor fetch.
const FETCH: i64 = 2_000;
/// Columns never exported: hashes of secrets and secrets themselves.
const SECRET_COLUMNS: &[&str] = &[
    "secret",
    "secret_hash",
    "token_hash",
    "salt",
    "csrf_token",
    "error_user_key",
    // Notification channels' URLs (a chat webhook's URL is its credential) and signing
    // secrets, sealed.
    "url_sealed",
    "secret_sealed",
    "previous_secret_sealed",
];

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportOrganization {
    /// Organization.
    pub org_id: Uuid,
    /// The export row.
    pub export_id: Uuid,
}

/// Where an export's archive lives.
pub fn archive_path(exports_dir: &Path, org: OrgId, export_id: Uuid) -> PathBuf {
    exports_dir
        .join(org.uuid().simple().to_string())
        .join(format!("{}.tar.gz", export_id.simple()))
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct RollupRow {
    #[diesel(sql_type = Text)]
    project_id: String,
    #[diesel(sql_type = Text)]
    hour: String,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    kind: i16,
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = BigInt)]
    visitors: i64,
    #[diesel(sql_type = BigInt)]
    visits: i64,
    #[diesel(sql_type = BigInt)]
    bounces: i64,
    #[diesel(sql_type = Nullable<Text>)]
    duration_sum: Option<String>,
    #[diesel(sql_type = BigInt)]
    pageviews: i64,
    #[diesel(sql_type = BigInt)]
    events: i64,
}

impl ExportOrganization {
    /// Writes the archive, marks the export ready and e-mails the link to the owner who asked;
    /// a failure is recorded on the export (the owner can ask again) and not retried.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let org = OrgId::from_uuid(self.org_id);
        let Some(export) = ctx
            .db
            .scoped(org, async |conn| {
                Ok::<_, DbError>(org_exports::find(conn, org, self.export_id).await?)
            })
            .await?
        else {
            return Ok(());
        };
        if export.status != "pending" {
            return Ok(());
        }
        let path = archive_path(&ctx.exports_dir, org, self.export_id);
        let written = write(ctx, org, &path).await;
        let actor = Actor::System("export");
        let size = match written {
            Ok(size) => size,
            Err(error) => {
                let _ = std::fs::remove_file(path.with_extension("partial"));
                tracing::warn!(org_id = %org, error = %format!("{error:#}"), "an organization export failed");
                ctx.db
                    .scoped_as(org, &actor, async |conn| {
                        Ok::<_, DbError>(
                            org_exports::mark_failed(
                                conn,
                                org,
                                self.export_id,
                                "the archive could not be written; ask again",
                            )
                            .await?,
                        )
                    })
                    .await?;
                return Ok(());
            }
        };
        let expires_at = ctx.clock.now() + Duration::days(LINK_DAYS);
        let secret = ctx
            .db
            .scoped_as(org, &actor, async |conn| {
                let secret =
                    org_exports::mark_ready(conn, org, self.export_id, size, expires_at).await?;
                let changes = Changes::default()
                    .set("size_bytes", json!(null), json!(size))
                    .set("expires_at", json!(null), json!(expires_at));
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::OrganizationExportReady, self.export_id).with(changes),
                )
                .await?;
                Ok::<_, DbError>(secret)
            })
            .await?;
        let requester = export.requested_by;
        let Some(user) = ctx
            .db
            .unscoped(async |conn| Ok::<_, DbError>(users::find(conn, requester).await?))
            .await?
        else {
            return Ok(());
        };
        let org_name = ctx
            .db
            .scoped(org, async |conn| {
                Ok::<_, DbError>(organizations::get(conn, org).await?)
            })
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let link = format!(
            "{}/api/v1/exports/download?token={}.{}.{secret}",
            ctx.public_url,
            org.uuid().simple(),
            self.export_id.simple()
        );
        let mut context = tera::Context::new();
        context.insert("subject", "Your Beacon data export is ready");
        context.insert("link", &link);
        context.insert("org_name", &org_name);
        context.insert("days", &LINK_DAYS);
        context.insert("size_mb", &format!("{:.1}", size as f64 / 1_048_576.0));
        ctx.mailer
            .send(
                &user.email,
                &format!("Data export of {org_name} is ready"),
                "export_ready",
                &context,
            )
            .await
    }
}

/// Writes the archive to a temporary file, then moves it into place; answers its size.
async fn write(ctx: &JobContext, org: OrgId, path: &Path) -> anyhow::Result<i64> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no directory for {}", path.display()))?;
    std::fs::create_dir_all(dir)?;
    let partial = path.with_extension("partial");
    let scratch = dir.join(format!("{}.table", Uuid::new_v4().simple()));
    let now = ctx.clock.now();
    let mut archive = Archive::create(&partial, u64::try_from(now.timestamp()).unwrap_or(0))?;
    let manifest = ctx
        .db
        .scoped_as(org, &Actor::System("export"), async |conn| {
            fill(conn, &mut archive, &scratch).await
        })
        .await;
    let _ = std::fs::remove_file(&scratch);
    let manifest = manifest?;
    let readme = readme(org, now, &manifest);
    archive.append_bytes("README.txt", readme.as_bytes())?;
    archive.finish()?;
    std::fs::rename(&partial, path)?;
    Ok(i64::try_from(std::fs::metadata(path)?.len()).unwrap_or(i64::MAX))
}

/// Adds every file of the export to `archive`; answers (file, rows) for the README.
async fn fill(
    conn: &mut AsyncPgConnection,
    archive: &mut Archive,
    scratch: &Path,
) -> anyhow::Result<Vec<(String, u64)>> {
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
         AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                     AND a.attname = 'org_id' AND NOT a.attisdropped) \
         AND c.relname <> 'erased_organizations' \
         AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1",
    )
    .load(conn)
    .await?;
    let removed = SECRET_COLUMNS
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut manifest = Vec::new();
    for table in tables {
        // Names come from the catalog; they are checked anyway before entering SQL text.
        if !table
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        let query = format!(
            "SELECT (to_jsonb(t) - ARRAY[{removed}]::text[])::text AS line FROM {} t",
            table.name
        );
        let rows = dump_lines(conn, &query, scratch).await?;
        let file = format!("{}.jsonl", table.name);
        archive.append_file(&file, scratch)?;
        manifest.push((file, rows));
    }
    let members = "SELECT jsonb_build_object('user_id', m.user_id, 'email', u.email, 'role', m.role, \
                   'member_since', m.created_at)::text AS line \
                   FROM memberships m JOIN users u ON u.id = m.user_id";
    let rows = dump_lines(conn, members, scratch).await?;
    archive.append_file("members.jsonl", scratch)?;
    manifest.push(("members.jsonl".to_owned(), rows));
    let rows = dump_rollups(conn, scratch).await?;
    archive.append_file("rollups_hourly.csv", scratch)?;
    manifest.push(("rollups_hourly.csv".to_owned(), rows));
    Ok(manifest)
}

/// Runs `query` (one text column `line`) through a cursor into `scratch`, a line per row.
async fn dump_lines(
    conn: &mut AsyncPgConnection,
    query: &str,
    scratch: &Path,
) -> anyhow::Result<u64> {
    let mut out = BufWriter::new(std::fs::File::create(scratch)?);
    conn.batch_execute(&format!(
        "DECLARE export_cursor NO SCROLL CURSOR FOR {query}"
    ))
    .await?;
    let mut rows = 0;
    loop {
        let batch: Vec<Line> = diesel::sql_query(format!("FETCH {FETCH} FROM export_cursor"))
            .load(conn)
            .await?;
        for line in &batch {
            out.write_all(line.line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        rows += batch.len() as u64;
        if (batch.len() as i64) < FETCH {
            break;
        }
    }
    conn.batch_execute("CLOSE export_cursor").await?;
    out.flush()?;
    Ok(rows)
}

/// The hourly rollups as CSV, the visitor sketch as its estimated count.
async fn dump_rollups(conn: &mut AsyncPgConnection, scratch: &Path) -> anyhow::Result<u64> {
    let mut out = BufWriter::new(std::fs::File::create(scratch)?);
    out.write_all(b"project_id,hour_utc,dimension,value,visitors_estimated,visits,bounces,duration_seconds_sum,pageviews,events\n")?;
    conn.batch_execute(
        "DECLARE rollup_cursor NO SCROLL CURSOR FOR \
         SELECT project_id::text AS project_id, to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"') AS hour, \
         kind, value, round(hll_cardinality(visitors))::bigint AS visitors, visits::bigint AS visits, \
         bounces::bigint AS bounces, duration_sum::text AS duration_sum, pageviews::bigint AS pageviews, \
         events::bigint AS events FROM rollups_hourly ORDER BY project_id, hour, kind, value",
    )
    .await?;
    let mut rows = 0;
    loop {
        let batch: Vec<RollupRow> = diesel::sql_query(format!("FETCH {FETCH} FROM rollup_cursor"))
            .load(conn)
            .await?;
        for row in &batch {
            let dimension = tenant::stats::rollups::kind_name(row.kind).unwrap_or("unknown");
            let fields = [
                row.project_id.clone(),
                row.hour.clone(),
                dimension.to_owned(),
                tenant::csv::field(&row.value),
                row.visitors.to_string(),
                row.visits.to_string(),
                row.bounces.to_string(),
                row.duration_sum.clone().unwrap_or_default(),
                row.pageviews.to_string(),
                row.events.to_string(),
            ];
            out.write_all(fields.join(",").as_bytes())?;
            out.write_all(b"\n")?;
        }
        rows += batch.len() as u64;
        if (batch.len() as i64) < FETCH {
            break;
        }
    }
    conn.batch_execute("CLOSE rollup_cursor").await?;
    out.flush()?;
    Ok(rows)
}

fn readme(org: OrgId, at: chrono::DateTime<Utc>, manifest: &[(String, u64)]) -> String {
    let mut text = format!(
        "Beacon data export of organization {org}, written {}.\n\n\
         Every file but rollups_hourly.csv is JSON Lines: one JSON object per line, one line per\n\
         row, with the columns Beacon stores (timestamps in UTC).\n\n",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    for (file, rows) in manifest {
        let noun = if *rows == 1 { "row" } else { "rows" };
        text.push_str(&format!("{file}: {rows} {noun}\n"));
    }
    text.push_str(
        "\nLeft out, on purpose:\n\
         - secrets: API key and token hashes, the audit stream's signing secret, session CSRF tokens,\n  \
           the key that hashes error events' affected users;\n\
         - the visitor-id salts (project_salts): keys that would let anyone link visitor ids back\n  \
           to IP addresses; Beacon deletes them when they rotate;\n\
         - nothing about a site's visitors beyond what events.jsonl holds: Beacon stores no IP\n  \
           address, user agent or cookie of theirs (see docs/privacy.md).\n",
    );
    text
}

/// Removes archives older than the link's lifetime (and a day), so an export does not outlive
/// its link; run hourly by the erasure job. Answers how many were removed.
pub fn remove_expired(exports_dir: &Path, now: chrono::DateTime<Utc>) -> usize {
    let cutoff = now - Duration::days(LINK_DAYS + 1);
    let Ok(orgs) = std::fs::read_dir(exports_dir) else {
        return 0;
    };
    let mut removed = 0;
    for org in orgs.flatten() {
        let Ok(files) = std::fs::read_dir(org.path()) else {
            continue;
        };
        for file in files.flatten() {
            let modified = file
                .metadata()
                .and_then(|m| m.modified())
                .map(chrono::DateTime::<Utc>::from);
            if modified.is_ok_and(|m| m < cutoff) && std::fs::remove_file(file.path()).is_ok() {
                removed += 1;
            }
        }
        let _ = std::fs::remove_dir(org.path());
    }
    removed
}
