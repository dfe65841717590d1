//! A batch of error events means what its events recorded one by one in time order mean: two
//! projects start from the same issues (one resolved, one resolved in the next release, one
//! ignored), one records a shuffled list of events in a single `record_batch`, the other one
//! event at a time in time order, and every issue ends the same: counts, first and last seen,
//! level, releases, state and regression time. The expected values are also checked on their
//! own (the regression, the release that does not reopen, the earliest event opening an
//! issue, the duplicates), so agreement on nothing cannot pass.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use tenant::tables::error_issues::{self, NewErrorEvent, NewStatus, Recorded};
use tenant::tables::{organizations, projects};
use tenant::test_support::TestDb;
use tenant::{DbError, OrgId, ProjectId};
use uuid::Uuid;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap() + Duration::minutes(minute)
}

/// An event of fingerprint `f` (a letter) at `minute`, from `release`, at `level`.
fn event(id: u128, f: char, minute: i64, release: Option<&str>, level: &str) -> NewErrorEvent {
    NewErrorEvent {
        org_id: Uuid::nil(),
        project_id: Uuid::nil(),
        event_id: Uuid::from_u128(id),
        fingerprint: f.to_string().repeat(64),
        title: format!("Error {f} at {minute}"),
        culprit: Some(format!("culprit {minute}")),
        ts: at(minute),
        level: level.into(),
        platform: Some("javascript".into()),
        release: release.map(str::to_owned),
        environment: None,
        user_hash: None,
        visitor_id: None,
        data: serde_json::json!({"minute": minute}),
    }
}

/// The issues every project starts with, each from one event at minute 0 (release 1.0):
/// `a` resolved, `b` resolved in the next release (1.0), `c` ignored, `d` open.
fn history() -> Vec<NewErrorEvent> {
    ['a', 'b', 'c', 'd']
        .iter()
        .enumerate()
        .map(|(i, f)| event(1000 + i as u128, *f, 0, Some("1.0"), "error"))
        .collect()
}

/// The new events, in the (shuffled) order they arrive.
fn arrivals() -> Vec<NewErrorEvent> {
    vec![
        // `a`: any new event reopens it; the earliest (minute 5) is the regression.
        event(1, 'a', 9, Some("1.1"), "warning"),
        event(2, 'a', 5, None, "fatal"),
        // `b`: events of 1.0 or without a release do not reopen it; 1.1 at minute 7 does.
        event(3, 'b', 3, Some("1.0"), "error"),
        event(4, 'b', 8, Some("1.1"), "info"),
        event(5, 'b', 7, Some("1.1"), "error"),
        event(6, 'b', 2, None, "error"),
        // `c`: ignored stays ignored.
        event(7, 'c', 4, Some("2.0"), "error"),
        // `d`: an event older than its last one changes counts and first seen only.
        event(8, 'd', -10, Some("0.9"), "debug"),
        // `e`: new; its earliest event (minute 1) opens it, whatever arrives first.
        event(9, 'e', 6, Some("1.2"), "error"),
        event(10, 'e', 1, None, "warning"),
        event(11, 'e', 6, None, "fatal"),
        // Duplicates: an id given twice in the batch, and one stored before (`d`'s first).
        event(9, 'e', 6, Some("1.2"), "error"),
        event(1003, 'd', 0, Some("1.0"), "error"),
    ]
}

#[derive(Debug, PartialEq, diesel::QueryableByName)]
struct IssueState {
    #[diesel(sql_type = diesel::sql_types::Text)]
    fingerprint: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    title: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    culprit: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    level: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    resolved_in_release: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    resolved: bool,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    first_seen: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    last_seen: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    times_seen: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    events: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    first_release: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    last_release: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    regressed_at: Option<DateTime<Utc>>,
}

/// Per fingerprint: (events that opened it, events that reopened it).
type Flags = std::collections::BTreeMap<char, (usize, usize)>;

fn flags(events: &[NewErrorEvent], recorded: &[Recorded]) -> Flags {
    let mut flags = Flags::new();
    for (event, recorded) in events.iter().zip(recorded) {
        let entry = flags
            .entry(event.fingerprint.chars().next().unwrap())
            .or_default();
        entry.0 += usize::from(recorded.new_issue);
        entry.1 += usize::from(recorded.regressed);
    }
    flags
}

struct Project {
    org: OrgId,
    project_id: Uuid,
}

impl Project {
    fn own(&self, events: Vec<NewErrorEvent>) -> Vec<NewErrorEvent> {
        events
            .into_iter()
            .map(|event| NewErrorEvent {
                org_id: self.org.uuid(),
                project_id: self.project_id,
                ..event
            })
            .collect()
    }
}

/// A test database with one organization named `name`.
async fn organization(name: &str) -> (TestDb, OrgId) {
    let db = TestDb::new(None).await.unwrap();
    let org = OrgId::generate();
    db.db
        .scoped(org, async |conn| {
            organizations::create(conn, org, name).await?;
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    (db, org)
}

async fn project(db: &TestDb, org: OrgId, name: &str) -> Project {
    let project_id = db
        .db
        .scoped(org, async |conn| {
            let project = projects::create(conn, org, name, "UTC", &[format!("{name}.example")])
                .await?;
            let project_id = project.project.project_id;
            let events = Project { org, project_id }.own(history());
            error_issues::record_batch(conn, &events.iter().collect::<Vec<_>>()).await?;
            for (f, status) in [
                ('a', NewStatus::Resolved),
                ('b', NewStatus::ResolvedInNextRelease),
                ('c', NewStatus::Ignored),
            ] {
                let issue_id: Uuid = diesel_async::RunQueryDsl::get_result(
                    diesel::sql_query(
                        "SELECT issue_id FROM error_issues WHERE project_id = $1 AND fingerprint = $2",
                    )
                    .bind::<diesel::sql_types::Uuid, _>(project_id)
                    .bind::<diesel::sql_types::Text, _>(f.to_string().repeat(64)),
                    conn,
                )
                .await
                .map(|row: IssueId| row.issue_id)?;
                let scope = ProjectId::from_uuid(project_id);
                assert!(error_issues::set_status(conn, org, scope, issue_id, &status).await?);
            }
            Ok::<_, DbError>(project_id)
        })
        .await
        .unwrap();
    Project { org, project_id }
}

#[derive(diesel::QueryableByName)]
struct IssueId {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    issue_id: Uuid,
}

async fn states(db: &TestDb, project: &Project) -> Vec<IssueState> {
    let project_id = project.project_id;
    db.db
        .scoped(project.org, async |conn| {
            Ok::<_, DbError>(
                diesel_async::RunQueryDsl::load(
                    diesel::sql_query(
                        "SELECT i.fingerprint, i.title, i.culprit, i.level, i.status, \
                                i.resolved_in_release, i.resolved_at IS NOT NULL AS resolved, \
                                i.first_seen, i.last_seen, i.times_seen, \
                                (SELECT count(*) FROM error_events e WHERE e.org_id = i.org_id \
                                   AND e.issue_id = i.issue_id) AS events, \
                                i.first_release, i.last_release, i.regressed_at \
                         FROM error_issues i WHERE i.project_id = $1 ORDER BY i.fingerprint",
                    )
                    .bind::<diesel::sql_types::Uuid, _>(project_id),
                    conn,
                )
                .await?,
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_batch_ends_as_its_events_one_by_one_in_time_order() {
    let (db, org) = organization("Batches").await;
    let batched = project(&db, org, "batched").await;
    let one_by_one = project(&db, org, "onebyone").await;

    // One batch, in arrival order.
    let events = batched.own(arrivals());
    let batch_flags = db
        .db
        .scoped(org, async |conn| {
            let refs: Vec<&NewErrorEvent> = events.iter().collect();
            Ok::<_, DbError>(error_issues::record_batch(conn, &refs).await?)
        })
        .await
        .map(|recorded| flags(&events, &recorded))
        .unwrap();

    // One at a time, in time order (ties in arrival order), each in its own transaction.
    let mut sequence = one_by_one.own(arrivals());
    sequence.sort_by_key(|event| event.ts);
    let mut recorded = Vec::new();
    for event in &sequence {
        let one = db
            .db
            .scoped(org, async |conn| {
                Ok::<_, DbError>(error_issues::record(conn, event).await?)
            })
            .await
            .unwrap();
        recorded.push(one);
    }
    let sequence_flags = flags(&sequence, &recorded);

    let batch_states = states(&db, &batched).await;
    let sequence_states = states(&db, &one_by_one).await;
    assert_eq!(batch_states, sequence_states);
    assert_eq!(batch_flags, sequence_flags);

    // The expected values, on their own.
    let state = |f: char| {
        batch_states
            .iter()
            .find(|s| s.fingerprint.starts_with(f))
            .unwrap()
    };
    let a = state('a');
    assert_eq!(
        (a.status.as_str(), a.regressed_at, a.resolved),
        ("unresolved", Some(at(5)), false)
    );
    assert_eq!(
        (a.times_seen, a.events, a.level.as_str()),
        (3, 3, "warning")
    );
    assert_eq!(a.last_release.as_deref(), Some("1.1"));
    let b = state('b');
    assert_eq!(
        (b.status.as_str(), b.regressed_at),
        ("unresolved", Some(at(7)))
    );
    assert_eq!((b.times_seen, b.level.as_str()), (5, "info"));
    let c = state('c');
    assert_eq!((c.status.as_str(), c.regressed_at), ("ignored", None));
    assert_eq!(c.last_release.as_deref(), Some("2.0"));
    let d = state('d');
    assert_eq!(
        (d.times_seen, d.events),
        (2, 2),
        "the stored id counts once"
    );
    assert_eq!((d.first_seen, d.last_seen), (at(-10), at(0)));
    assert_eq!(
        (d.level.as_str(), d.last_release.as_deref()),
        ("error", Some("1.0"))
    );
    let e = state('e');
    assert_eq!(
        (e.title.as_str(), e.first_release.as_deref()),
        ("Error e at 1", None)
    );
    assert_eq!(
        (e.times_seen, e.events),
        (3, 3),
        "the repeated id counts once"
    );
    assert_eq!(
        (e.level.as_str(), e.last_release.as_deref()),
        ("fatal", Some("1.2"))
    );
    // One event opened `e`; one event each reopened `a` and `b`.
    let expected: Flags = [
        ('a', (0, 1)),
        ('b', (0, 1)),
        ('c', (0, 0)),
        ('d', (0, 0)),
        ('e', (1, 0)),
    ]
    .into();
    assert_eq!(batch_flags, expected);
}

#[tokio::test]
async fn a_batch_of_duplicates_only_changes_nothing() {
    let (db, org) = organization("Retries").await;
    let target = project(&db, org, "retries").await;
    let before = states(&db, &target).await;
    // The first events again (an SDK's retries), one under a fingerprint that has changed
    // since (a source map uploaded in between): no new issue may be left behind.
    let mut retries = target.own(history());
    retries[0].fingerprint = "z".repeat(64);
    let recorded = db
        .db
        .scoped(org, async |conn| {
            let refs: Vec<&NewErrorEvent> = retries.iter().collect();
            Ok::<_, DbError>(error_issues::record_batch(conn, &refs).await?)
        })
        .await
        .unwrap();
    assert!(recorded.iter().all(|r| r.duplicate && !r.new_issue));
    assert_eq!(states(&db, &target).await, before);
    // Positive control: a new id with that fingerprint does open an issue.
    let mut fresh = retries.remove(0);
    fresh.event_id = Uuid::new_v4();
    db.db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(error_issues::record(conn, &fresh).await?)
        })
        .await
        .unwrap();
    let after = states(&db, &target).await;
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.iter().any(|s| s.fingerprint.starts_with('z')));
}

#[tokio::test]
async fn one_bad_request_in_a_batch_fails_alone() {
    use tenant::errors::record::RecordError;
    use tenant::errors::writer::{ErrorEvents, ErrorWriter, StoreError};

    let (db, org) = organization("Writer").await;
    let target = project(&db, org, "writer").await;
    let writer = ErrorWriter::start(&db.db, Default::default()).unwrap();
    let request = |events: Vec<NewErrorEvent>| ErrorEvents {
        events,
        public_url: String::new(),
        now: Utc::now(),
    };
    let good = target.own(vec![event(1, 'p', 1, None, "error")]);
    let more = target.own(vec![
        event(2, 'q', 2, None, "error"),
        event(3, 'q', 3, None, "error"),
    ]);
    // A project deleted after its DSN was looked up: its rows break the batch's foreign key.
    let gone = Project {
        org,
        project_id: Uuid::new_v4(),
    }
    .own(vec![event(4, 'r', 4, None, "error")]);
    // Submitted together: whether they meet in one batch (then the batch fails and each is
    // written again alone) or not, the bad one fails alone. `group_commit`'s own tests make
    // the shared batch certain.
    let (good, gone, more) = futures::join!(
        writer.write(request(good)),
        writer.write(request(gone)),
        writer.write(request(more)),
    );
    assert!(good.is_ok() && more.is_ok(), "{good:?} {more:?}");
    assert!(
        matches!(gone, Err(StoreError::Record(RecordError::UnknownProject))),
        "{gone:?}"
    );
    let stored: Vec<(char, i64, i64)> = states(&db, &target)
        .await
        .iter()
        .filter(|s| s.fingerprint.starts_with(['p', 'q']))
        .map(|s| {
            (
                s.fingerprint.chars().next().unwrap(),
                s.times_seen,
                s.events,
            )
        })
        .collect();
    assert_eq!(stored, vec![('p', 1, 1), ('q', 2, 2)]);
    writer.shutdown().await;
}
