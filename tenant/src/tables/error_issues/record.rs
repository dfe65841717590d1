//! Recording a batch of error events in a fixed number of statements, whatever its size: the
//! group-commit error writer hands over every event that queued while the previous batch
//! committed, so the hot issue rows take one counter update per batch instead of one per event.
//!
//! A batch means the same as its events recorded one by one in time order (ties in the order
//! given): the earliest event of a new fingerprint opens the issue; counts, first and last seen
//! add up; the latest event sets the level, and the latest that names a release sets the last
//! release; the earliest event that reopens a resolved issue is its regression. An event id
//! stored before, or given twice, is a duplicate and changes nothing.
//!
//! Locks: issue rows are taken in (project, fingerprint) order by the first statement and only
//! re-read by the later ones, so two batches cannot deadlock on them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Int4, Jsonb, Nullable, Text, Timestamptz};
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{NewErrorEvent, Recorded};

/// Records `event` under its fingerprint's issue, creating or reopening the issue.
pub async fn record(conn: &mut AsyncPgConnection, event: &NewErrorEvent) -> QueryResult<Recorded> {
    let mut recorded = record_batch(conn, &[event]).await?;
    recorded.pop().ok_or(diesel::result::Error::NotFound)
}

#[derive(QueryableByName)]
struct EventKey {
    #[diesel(sql_type = SqlUuid)]
    project_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
}

#[derive(QueryableByName)]
struct StoredKey {
    #[diesel(sql_type = SqlUuid)]
    project_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    issue_id: Uuid,
}

#[derive(QueryableByName)]
struct IssueRef {
    #[diesel(sql_type = SqlUuid)]
    project_id: Uuid,
    #[diesel(sql_type = Text)]
    fingerprint: String,
    #[diesel(sql_type = SqlUuid)]
    issue_id: Uuid,
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

#[derive(QueryableByName)]
struct Reopened {
    /// The position (in the update's rows) of the event that reopened the issue.
    #[diesel(sql_type = Nullable<Int4>)]
    reopened_by: Option<i32>,
}

/// Records `events` (all of one organization, the connection's scope), returning what
/// happened to each, in the order given. Run it inside the caller's transaction: it is
/// several statements.
pub async fn record_batch(
    conn: &mut AsyncPgConnection,
    events: &[&NewErrorEvent],
) -> QueryResult<Vec<Recorded>> {
    let Some(org_id) = events.first().map(|event| event.org_id) else {
        return Ok(Vec::new());
    };
    // Time order, ties in the order given: the order the batch means.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| events[i].ts);
    let stored = already_stored(conn, org_id, events).await?;
    let mut seen = HashSet::new();
    let fresh: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| {
            let key = (events[i].project_id, events[i].event_id);
            !stored.contains_key(&key) && seen.insert(key)
        })
        .collect();
    let issues = upsert_issues(conn, org_id, events, &fresh).await?;
    let issue_of = |i: usize| issues.get(&(events[i].project_id, events[i].fingerprint.as_str()));
    let inserted = insert_events(conn, events, &fresh, &issues).await?;
    let new_events: Vec<usize> = fresh
        .iter()
        .copied()
        .filter(|&i| inserted.contains(&(events[i].project_id, events[i].event_id)))
        .collect();
    // Another transaction stored one of these ids in between (after `already_stored` looked):
    // an issue opened for such events alone must not be left behind, empty.
    let used: HashSet<Uuid> = new_events
        .iter()
        .filter_map(|&i| issue_of(i).map(|(id, _)| *id))
        .collect();
    let empty: Vec<Uuid> = issues
        .values()
        .filter(|(id, inserted)| *inserted && !used.contains(id))
        .map(|(id, _)| *id)
        .collect();
    if !empty.is_empty() {
        diesel::sql_query("DELETE FROM error_issues WHERE org_id = $1 AND issue_id = ANY($2)")
            .bind::<SqlUuid, _>(org_id)
            .bind::<Array<SqlUuid>, _>(&empty)
            .execute(conn)
            .await?;
    }
    let reopened_by = update_counters(conn, org_id, events, &new_events, &issues).await?;
    // Per event: the first stored event of a new issue opened it.
    let mut opened = HashSet::new();
    let mut results: Vec<Option<Recorded>> = vec![None; events.len()];
    for &i in &new_events {
        let Some(&(issue_id, inserted)) = issue_of(i) else {
            continue;
        };
        results[i] = Some(Recorded {
            issue_id,
            new_issue: inserted && opened.insert(issue_id),
            regressed: reopened_by.contains(&i),
            duplicate: false,
        });
    }
    Ok(results
        .into_iter()
        .enumerate()
        .map(|(i, result)| {
            result.unwrap_or_else(|| {
                let key = (events[i].project_id, events[i].event_id);
                Recorded {
                    // A duplicate: the issue it was stored under, else (given twice in this
                    // batch, or stored by another transaction meanwhile) its fingerprint's.
                    issue_id: stored
                        .get(&key)
                        .copied()
                        .or_else(|| issue_of(i).map(|(id, _)| *id))
                        .unwrap_or_default(),
                    new_issue: false,
                    regressed: false,
                    duplicate: true,
                }
            })
        })
        .collect())
}

/// The (project, event id) pairs of `events` that are stored already (SDK retries), with the
/// issue each is stored under.
async fn already_stored(
    conn: &mut AsyncPgConnection,
    org_id: Uuid,
    events: &[&NewErrorEvent],
) -> QueryResult<HashMap<(Uuid, Uuid), Uuid>> {
    let mut projects: Vec<Uuid> = events.iter().map(|e| e.project_id).collect();
    projects.sort_unstable();
    projects.dedup();
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    // Arrays compared with `= ANY` make a scan of the primary key whatever the table's size
    // (a join with `unnest` leaves the planner free to choose a scan of every event); a pair
    // of another event's project and id that this returns is dropped by the caller's lookup.
    let found: Vec<StoredKey> = diesel::sql_query(
        "SELECT project_id, event_id, issue_id FROM error_events \
         WHERE org_id = $1 AND project_id = ANY($2) AND event_id = ANY($3)",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<Array<SqlUuid>, _>(projects)
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?;
    Ok(found
        .into_iter()
        .map(|k| ((k.project_id, k.event_id), k.issue_id))
        .collect())
}

/// Issues by (project, fingerprint) → (issue id, opened by this batch).
type Issues<'a> = HashMap<(Uuid, &'a str), (Uuid, bool)>;

/// Opens the issues of `fresh`'s fingerprints that do not exist (each from its earliest
/// event) and locks every one of them, in (project, fingerprint) order.
async fn upsert_issues<'a>(
    conn: &mut AsyncPgConnection,
    org_id: Uuid,
    events: &[&'a NewErrorEvent],
    fresh: &[usize],
) -> QueryResult<Issues<'a>> {
    let mut openers: Vec<&NewErrorEvent> = Vec::new();
    let mut seen = HashSet::new();
    for &i in fresh {
        if seen.insert((events[i].project_id, events[i].fingerprint.as_str())) {
            openers.push(events[i]);
        }
    }
    if openers.is_empty() {
        return Ok(HashMap::new());
    }
    openers.sort_by(|a, b| (a.project_id, &a.fingerprint).cmp(&(b.project_id, &b.fingerprint)));
    macro_rules! column {
        ($field:ident) => {
            openers.iter().map(|e| &e.$field).collect::<Vec<_>>()
        };
    }
    let ids: Vec<Uuid> = openers.iter().map(|_| Uuid::now_v7()).collect();
    // Concurrent first events of one fingerprint meet in the unique key, and both get the
    // same issue.
    let rows: Vec<IssueRef> = diesel::sql_query(
        "INSERT INTO error_issues (org_id, issue_id, project_id, fingerprint, title, culprit, \
             level, first_seen, last_seen, first_release, last_release) \
         SELECT $1, n.issue_id, n.project_id, n.fingerprint, n.title, n.culprit, n.level, \
                n.ts, n.ts, n.release, n.release \
         FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], \
                     $8::timestamptz[], $9::text[]) \
              WITH ORDINALITY AS n(issue_id, project_id, fingerprint, title, culprit, level, ts, \
                                   release, ord) \
         ORDER BY n.ord \
         ON CONFLICT (org_id, project_id, fingerprint) DO UPDATE SET fingerprint = EXCLUDED.fingerprint \
         RETURNING project_id, fingerprint, issue_id, (xmax = 0) AS inserted",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<SqlUuid>, _>(column!(project_id))
    .bind::<Array<Text>, _>(column!(fingerprint))
    .bind::<Array<Text>, _>(column!(title))
    .bind::<Array<Nullable<Text>>, _>(column!(culprit))
    .bind::<Array<Text>, _>(column!(level))
    .bind::<Array<Timestamptz>, _>(column!(ts))
    .bind::<Array<Nullable<Text>>, _>(column!(release))
    .load(conn)
    .await?;
    let mut issues = HashMap::new();
    for row in rows {
        // The key borrows the fingerprint from the batch's own events (sorted above).
        let found = openers.binary_search_by(|e| {
            (e.project_id, e.fingerprint.as_str()).cmp(&(row.project_id, row.fingerprint.as_str()))
        });
        if let Ok(at) = found {
            let event = openers[at];
            issues.insert(
                (event.project_id, event.fingerprint.as_str()),
                (row.issue_id, row.inserted),
            );
        }
    }
    Ok(issues)
}

/// Inserts `fresh`'s events; the (project, event id) pairs actually inserted (a concurrent
/// transaction may have stored one first).
async fn insert_events(
    conn: &mut AsyncPgConnection,
    events: &[&NewErrorEvent],
    fresh: &[usize],
    issues: &Issues<'_>,
) -> QueryResult<HashSet<(Uuid, Uuid)>> {
    let rows: Vec<(&NewErrorEvent, Uuid)> = fresh
        .iter()
        .filter_map(|&i| {
            let event = events[i];
            issues
                .get(&(event.project_id, event.fingerprint.as_str()))
                .map(|(issue_id, _)| (event, *issue_id))
        })
        .collect();
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    macro_rules! column {
        ($field:ident) => {
            rows.iter().map(|(e, _)| &e.$field).collect::<Vec<_>>()
        };
    }
    let issue_ids: Vec<Uuid> = rows.iter().map(|(_, id)| *id).collect();
    let inserted: Vec<EventKey> = diesel::sql_query(
        "INSERT INTO error_events (org_id, project_id, event_id, issue_id, ts, level, platform, \
             release, environment, user_hash, visitor_id, data) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[], \
                              $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                              $11::int8[], $12::jsonb[]) \
         ON CONFLICT DO NOTHING \
         RETURNING project_id, event_id",
    )
    .bind::<Array<SqlUuid>, _>(column!(org_id))
    .bind::<Array<SqlUuid>, _>(column!(project_id))
    .bind::<Array<SqlUuid>, _>(column!(event_id))
    .bind::<Array<SqlUuid>, _>(&issue_ids)
    .bind::<Array<Timestamptz>, _>(column!(ts))
    .bind::<Array<Text>, _>(column!(level))
    .bind::<Array<Nullable<Text>>, _>(column!(platform))
    .bind::<Array<Nullable<Text>>, _>(column!(release))
    .bind::<Array<Nullable<Text>>, _>(column!(environment))
    .bind::<Array<Nullable<Text>>, _>(column!(user_hash))
    .bind::<Array<Nullable<BigInt>>, _>(column!(visitor_id))
    .bind::<Array<Jsonb>, _>(column!(data))
    .load(conn)
    .await?;
    Ok(inserted
        .into_iter()
        .map(|k| (k.project_id, k.event_id))
        .collect())
}

/// One update per issue for `new_events` (in time order): counts, first and last seen, the
/// latest level and release, and regressions. Returns the events (indexes into `events`) that
/// reopened an issue.
async fn update_counters(
    conn: &mut AsyncPgConnection,
    org_id: Uuid,
    events: &[&NewErrorEvent],
    new_events: &[usize],
    issues: &Issues<'_>,
) -> QueryResult<HashSet<usize>> {
    let rows: Vec<(usize, &NewErrorEvent, Uuid)> = new_events
        .iter()
        .filter_map(|&i| {
            let event = events[i];
            issues
                .get(&(event.project_id, event.fingerprint.as_str()))
                .map(|(issue_id, _)| (i, event, *issue_id))
        })
        .collect();
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    let issue_ids: Vec<Uuid> = rows.iter().map(|(_, _, id)| *id).collect();
    let ts: Vec<DateTime<Utc>> = rows.iter().map(|(_, e, _)| e.ts).collect();
    let releases: Vec<Option<&str>> = rows.iter().map(|(_, e, _)| e.release.as_deref()).collect();
    let levels: Vec<&str> = rows.iter().map(|(_, e, _)| e.level.as_str()).collect();
    let order: Vec<i32> = (0..rows.len())
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    // `old` is each issue before this update (for a new issue: as its earliest event opened
    // it). An event applies to the level and release when it is no older than the issue's
    // last event; a resolved issue reopens on an event that is not from the release it was
    // resolved in (or has no release, when resolved in the next release).
    let reopened: Vec<Reopened> = diesel::sql_query(
        "WITH ev AS (SELECT * FROM unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::text[], \
                                          $6::int4[]) AS e(issue_id, ts, release, level, ord)), \
              old AS (SELECT issue_id, status, resolved_in_release, last_seen FROM error_issues \
                      WHERE org_id = $1 AND issue_id IN (SELECT issue_id FROM ev) \
                      ORDER BY issue_id FOR UPDATE), \
              agg AS (SELECT ev.issue_id, count(*) AS n, min(ev.ts) AS first_ts, max(ev.ts) AS last_ts, \
                             (array_agg(ev.level ORDER BY ev.ts DESC, ev.ord DESC) \
                                FILTER (WHERE ev.ts >= old.last_seen))[1] AS level, \
                             (array_agg(ev.release ORDER BY ev.ts DESC, ev.ord DESC) \
                                FILTER (WHERE ev.ts >= old.last_seen AND ev.release IS NOT NULL))[1] AS release, \
                             (array_agg(ev.ord ORDER BY ev.ts, ev.ord) FILTER (WHERE old.status = 'resolved' \
                                AND NOT (old.resolved_in_release IS NOT NULL \
                                  AND (ev.release IS NULL OR ev.release = old.resolved_in_release))))[1] AS reopened_by \
                      FROM ev JOIN old USING (issue_id) GROUP BY ev.issue_id), \
              reg AS (SELECT agg.*, ev.ts AS regressed_at FROM agg LEFT JOIN ev ON ev.ord = agg.reopened_by) \
         UPDATE error_issues i SET \
             times_seen = i.times_seen + agg.n, \
             last_seen = greatest(i.last_seen, agg.last_ts), \
             first_seen = least(i.first_seen, agg.first_ts), \
             last_release = coalesce(agg.release, i.last_release), \
             level = coalesce(agg.level, i.level), \
             status = CASE WHEN agg.regressed_at IS NOT NULL THEN 'unresolved' ELSE i.status END, \
             resolved_in_release = CASE WHEN agg.regressed_at IS NOT NULL THEN NULL ELSE i.resolved_in_release END, \
             resolved_at = CASE WHEN agg.regressed_at IS NOT NULL THEN NULL ELSE i.resolved_at END, \
             regressed_at = coalesce(agg.regressed_at, i.regressed_at) \
         FROM reg AS agg WHERE i.org_id = $1 AND i.issue_id = agg.issue_id \
         RETURNING agg.reopened_by",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<Array<SqlUuid>, _>(&issue_ids)
    .bind::<Array<Timestamptz>, _>(&ts)
    .bind::<Array<Nullable<Text>>, _>(&releases)
    .bind::<Array<Text>, _>(&levels)
    .bind::<Array<Int4>, _>(&order)
    .load(conn)
    .await?;
    Ok(reopened
        .into_iter()
        .filter_map(|row| {
            let at = usize::try_from(row.reopened_by?).ok()?;
            rows.get(at).map(|(i, _, _)| *i)
        })
        .collect())
}
