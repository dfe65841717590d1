//! Recording error events: symbolicate, group, scrub, then insert and update the issue, all in
//! the caller's tenant-scoped transaction. Scrubbing runs last, over everything kept, so nothing
//! escapes it. A new or regressed issue queues its notices ([`super::notices`]) in the same
//! transaction.

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

/// Records `events` (each with the device its user agent names, if any) for `target`.
pub async fn record(
    conn: &mut AsyncPgConnection,
    source_maps: &SourceMaps,
    target: &DsnTarget,
    events: Vec<(Event, Option<Device>)>,
    notices: NoticeContext<'_>,
) -> Result<(), RecordError> {
    let (org_id, project_id) = (target.org_id, target.project_id);
    let scrubber = scrub::Scrubber::new(&target.scrub_fields);
    let mut told = Vec::new();
    for (mut event, device) in events {
        source_maps
            .apply(
                conn,
                org_id,
                project_id,
                event.release.as_deref(),
                &mut event.exceptions,
            )
            .await?;
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
        data.extend(event.rest.clone());
        let mut data = Value::Object(data);
        // Scrubbing last, over everything kept, so nothing escapes it; the title and
        // culprit are derived from the same scrubbed text.
        scrubber.scrub(&mut data);
        if let Some(device) = &device {
            add_device(&mut data, device);
        }
        let title = event::truncate(&scrub::scrub_text(&grouping::title(&event)), 300);
        let culprit = grouping::culprit(&event).map(|c| scrub::scrub_text(&c));
        let user_hash = event
            .user_identity
            .as_deref()
            .map(|identity| event::user_hash(&target.user_key, identity));
        let new = error_issues::NewErrorEvent {
            org_id,
            project_id,
            event_id: event.event_id,
            fingerprint,
            title,
            culprit,
            ts: event.ts,
            level: event.level.clone(),
            platform: event.platform.clone(),
            release: event.release.clone(),
            environment: event.environment.clone(),
            user_hash,
            visitor_id: event.visitor_id,
            data,
        };
        let recorded = error_issues::record(conn, &new).await.map_err(|error| {
            // The project was deleted after its DSN was looked up (and cached).
            if is_foreign_key_violation(&error) {
                RecordError::UnknownProject
            } else {
                RecordError::Db(DbError::Query(error))
            }
        })?;
        if let Some(occasion) = notices::occasion(&recorded) {
            told.push((occasion, recorded.issue_id, new));
        }
    }
    // The notices last, once every issue row this request touches is locked: the settings
    // row's lock (the hourly cap) is then always taken after issue rows, never before, so two
    // envelopes cannot deadlock on them.
    let scope = (OrgId::from_uuid(org_id), ProjectId::from_uuid(project_id));
    for (occasion, issue_id, new) in &told {
        let facts = notices::IssueFacts {
            issue_id: *issue_id,
            title: &new.title,
            culprit: new.culprit.as_deref(),
            level: &new.level,
            release: new.release.as_deref(),
        };
        notices::queue(
            conn,
            scope,
            *occasion,
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
