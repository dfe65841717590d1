//! Recording error events: symbolicate, group, scrub, then insert and update the issues, the
//! storing in the caller's tenant-scoped transaction. Scrubbing runs last, over everything
//! kept, so nothing escapes it. A new or regressed issue queues its notices
//! ([`super::notices`]) in the same transaction.

use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};

use super::event::{self, Event};
use super::symbolicate::SourceMaps;
use super::{grouping, notices, scrub};
use crate::ingest::enrich::Device;
use crate::ingest::router::DsnTarget;
use crate::tables::error_issues;
use crate::tables::is_foreign_key_violation;
use crate::{DbError, OrgId, ProjectId};

/// Why events could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The project was deleted after its DSN was looked up.
    #[error("the project was deleted")]
    UnknownProject,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for RecordError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(error))
    }
}

/// Where a notice's links point, and when it is sent.
#[derive(Debug, Clone, Copy)]
pub struct NoticeContext<'a> {
    /// Base URL of the web app, without trailing slash.
    pub public_url: &'a str,
    /// Now.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Records `events` (each with the device its user agent names, if any) for `target`: the
/// three steps below in one call, for callers that record a few events in their own
/// transaction (the demo data). The API's endpoint symbolicates and prepares per request and
/// stores through the group-commit writer ([`super::writer`]).
pub async fn record(
    conn: &mut AsyncPgConnection,
    source_maps: &SourceMaps,
    target: &DsnTarget,
    mut events: Vec<(Event, Option<Device>)>,
    notices: NoticeContext<'_>,
) -> Result<(), RecordError> {
    symbolicate(conn, source_maps, target, &mut events).await?;
    let prepared: Vec<_> = events
        .into_iter()
        .map(|(event, device)| prepare(target, event, device.as_ref()))
        .collect();
    store(conn, &prepared.iter().collect::<Vec<_>>(), notices).await
}

/// Maps `events`' stack frames through the source maps uploaded for their release (an event
/// without a release costs nothing: no query).
pub async fn symbolicate(
    conn: &mut AsyncPgConnection,
    source_maps: &SourceMaps,
    target: &DsnTarget,
    events: &mut [(Event, Option<Device>)],
) -> Result<(), RecordError> {
    for (event, _) in events {
        source_maps
            .apply(
                conn,
                target.org_id,
                target.project_id,
                event.release.as_deref(),
                &mut event.exceptions,
            )
            .await?;
    }
    Ok(())
}

/// The row of a (symbolicated) event: grouped, then scrubbed last, over everything kept, so
/// nothing escapes it; the title and culprit are derived from the same scrubbed text. Pure
/// computation, so the endpoint runs it on the request's own task.
pub fn prepare(
    target: &DsnTarget,
    event: Event,
    device: Option<&Device>,
) -> error_issues::NewErrorEvent {
    let scrubber = scrub::Scrubber::new(&target.scrub_fields);
    let fingerprint = grouping::fingerprint(&event);
    let mut data = serde_json::Map::new();
    data.insert("message".into(), json!(event.message));
    data.insert(
        "exceptions".into(),
        Value::Array(
            event
                .exceptions
                .iter()
                .map(event::Exception::to_json)
                .collect(),
        ),
    );
    let title = event::truncate(&scrub::scrub_text(&grouping::title(&event)), 300);
    let culprit = grouping::culprit(&event).map(|c| scrub::scrub_text(&c));
    let user_hash = event
        .user_identity
        .as_deref()
        .map(|identity| event::user_hash(&target.user_key, identity));
    data.extend(event.rest);
    let mut data = Value::Object(data);
    scrubber.scrub(&mut data);
    if let Some(device) = device {
        add_device(&mut data, device);
    }
    error_issues::NewErrorEvent {
        org_id: target.org_id,
        project_id: target.project_id,
        event_id: event.event_id,
        fingerprint,
        title,
        culprit,
        ts: event.ts,
        level: event.level,
        platform: event.platform,
        release: event.release,
        environment: event.environment,
        user_hash,
        visitor_id: event.visitor_id,
        data,
    }
}

/// Stores prepared `events` (all of the connection's organization) in a fixed number of
/// statements ([`error_issues::record_batch`]), then queues the notices of the issues they
/// opened or reopened.
pub async fn store(
    conn: &mut AsyncPgConnection,
    events: &[&error_issues::NewErrorEvent],
    notices: NoticeContext<'_>,
) -> Result<(), RecordError> {
    let recorded = error_issues::record_batch(conn, events)
        .await
        .map_err(|error| {
            // The project was deleted after its DSN was looked up (and cached).
            if is_foreign_key_violation(&error) {
                RecordError::UnknownProject
            } else {
                RecordError::Db(DbError::Query(error))
            }
        })?;
    // The notices last, once every issue row of the batch is locked: the settings row's lock
    // (the hourly cap) is then always taken after issue rows, never before, so two batches
    // cannot deadlock on them.
    for (new, recorded) in events.iter().zip(&recorded) {
        let Some(occasion) = notices::occasion(recorded) else {
            continue;
        };
        let scope = (
            OrgId::from_uuid(new.org_id),
            ProjectId::from_uuid(new.project_id),
        );
        let facts = notices::IssueFacts {
            issue_id: recorded.issue_id,
            title: &new.title,
            culprit: new.culprit.as_deref(),
            level: &new.level,
            release: new.release.as_deref(),
        };
        notices::queue(
            conn,
            scope,
            occasion,
            facts,
            notices.public_url,
            notices.now,
        )
        .await?;
    }
    Ok(())
}

/// Adds `browser` and `os` tags and contexts from `device` where the event has none. Applied
/// after scrubbing: these are Beacon's own derivations (a version such as `131.0.0.0` must not
/// be mistaken for an address).
fn add_device(data: &mut Value, device: &Device) {
    let Value::Object(data) = data else {
        return;
    };
    if let Value::Object(tags) = data.entry("tags").or_insert_with(|| json!({})) {
        if let Some(browser) = &device.browser {
            tags.entry("browser").or_insert_with(|| json!(browser));
        }
        if let Some(os) = &device.os {
            tags.entry("os").or_insert_with(|| json!(os));
        }
    }
    if let Value::Object(contexts) = data.entry("contexts").or_insert_with(|| json!({})) {
        if let Some(browser) = &device.browser {
            contexts
                .entry("browser")
                .or_insert_with(|| json!({"name": browser, "version": device.browser_version}));
        }
        if let Some(os) = &device.os {
            contexts
                .entry("os")
                .or_insert_with(|| json!({"name": os, "version": device.os_version}));
        }
    }
}
