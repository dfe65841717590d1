//! What an audit record costs a typical write, and how much room records take (for
//! docs/benchmarks.md; run by `scripts/bench-audit`).
//!
//! On a throwaway PostgreSQL cluster (or `DATABASE_URL`), the database work of a project
//! settings change (`PATCH …/projects/{id}`) runs in one organization-scoped transaction as the
//! handler did before the audit log (update, read back) and as it does now (read before,
//! update, read back, `tenant::audit::record`), in alternating blocks, each transaction timed
//! from BEGIN to COMMIT. HTTP, the session lookup and the scope's checks, which both variants
//! share, are not in the timing, so the relative cost end to end is smaller than shown here.
//! Then it appends records with a realistic diff until there are `RECORDS`, and reports the
//! table's size with its indexes per record.
//!
//! Usage: `cargo run --release -p tenant --features test-support --example audit_overhead
//! [transactions per variant] [records]`.

use std::time::Instant;

use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry, RequestContext};
use tenant::diesel_async::RunQueryDsl;
use tenant::tables::{organizations, projects};
use tenant::test_support::TestDb;
use tenant::{Actor, DbError, OrgId, UserId};

#[derive(tenant::diesel::QueryableByName)]
struct Size {
    #[diesel(sql_type = tenant::diesel::sql_types::BigInt)]
    bytes: i64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let per_variant: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3_000);
    let records: i64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let test = TestDb::new(None).await?;
    let db = &test.db;
    let org = OrgId::generate();
    let user = UserId::generate();
    let actor = Actor::User(user);
    let context = RequestContext::new(
        Some("0123456789abcdef0123456789abcdef".into()),
        Some("203.0.113.7".into()),
        Some("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    );
    let project = db
        .scoped(org, async |conn| {
            organizations::create(conn, org, "Bench").await?;
            Ok::<_, DbError>(
                projects::create(conn, org, "Site", "UTC", &["bench.example".to_owned()]).await?,
            )
        })
        .await?;
    let project_id = tenant::ProjectId::from_uuid(project.project.project_id);

    let mut plain = Vec::with_capacity(per_variant);
    let mut audited = Vec::with_capacity(per_variant);
    let blocks = 10;
    for block in 0..blocks * 2 {
        let with_audit = block % 2 == 1;
        for i in 0..per_variant / blocks {
            let changes = projects::ProjectChanges {
                retention_days: Some(30 + (i % 300) as i32),
                ..Default::default()
            };
            let started = Instant::now();
            db.scoped_as_for(org, &actor, &context, async |conn| {
                if with_audit {
                    let before = projects::find(conn, org, project_id).await?;
                    projects::update(conn, org, project_id, &changes).await?;
                    let after = projects::find(conn, org, project_id).await?;
                    let field = |p: &Option<projects::ProjectWithDomains>| {
                        json!({"retention_days": p.as_ref().map(|p| p.project.retention_days)})
                    };
                    let entry = Entry::new(Action::ProjectUpdated, project_id)
                        .with(Changes::diff(&field(&before), &field(&after)));
                    audit::record(conn, org, entry).await?;
                } else {
                    projects::update(conn, org, project_id, &changes).await?;
                    projects::find(conn, org, project_id).await?;
                }
                Ok::<_, DbError>(())
            })
            .await?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if with_audit {
                audited.push(ms)
            } else {
                plain.push(ms)
            }
        }
    }
    let (plain_median, audited_median) = (median(plain.clone()), median(audited.clone()));
    println!(
        "project settings write, {} transactions each, alternating blocks:\n  before the audit log: median {:.3} ms, p95 {:.3} ms\n  with its audit record: median {:.3} ms, p95 {:.3} ms\n  cost of the record: {:.3} ms per write (ratio {:.2})",
        plain.len(),
        plain_median,
        percentile(plain, 0.95),
        audited_median,
        percentile(audited, 0.95),
        audited_median - plain_median,
        audited_median / plain_median
    );

    // Size: fill the chain to `records` with typical diffs, then measure heap + indexes.
    let have = db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(tenant::tables::audit_log::head(conn, org).await?)
        })
        .await?
        .map_or(0, |head| head.seq);
    let mut written = have;
    while written < records {
        let batch = (records - written).min(500);
        db.scoped_as_for(org, &actor, &context, async |conn| {
            for i in 0..batch {
                let changes = Changes::default()
                    .set(
                        "name",
                        json!(format!("Site {i}")),
                        json!(format!("Site {}", i + 1)),
                    )
                    .set("retention_days", json!(30), json!(60));
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::ProjectUpdated, project_id).with(changes),
                )
                .await?;
            }
            Ok::<_, DbError>(())
        })
        .await?;
        written += batch;
    }
    let mut owner = {
        use tenant::diesel_async::AsyncConnection;
        tenant::diesel_async::AsyncPgConnection::establish(&test.owner_url).await?
    };
    tenant::diesel::sql_query("VACUUM ANALYZE audit_log")
        .execute(&mut owner)
        .await?;
    let size: Size =
        tenant::diesel::sql_query("SELECT pg_total_relation_size('audit_log') AS bytes")
            .get_result(&mut owner)
            .await?;
    let per_record = size.bytes as f64 / written as f64;
    println!(
        "audit_log with indexes: {} records, {:.1} MiB, {:.0} bytes per record\n  a year at 10,000 records a day: {:.2} GiB",
        written,
        size.bytes as f64 / 1_048_576.0,
        per_record,
        per_record * 10_000.0 * 365.0 / 1_073_741_824.0
    );
    Ok(())
}
