//! Telling a project's channels that an error issue is new or has regressed. The notice is
//! queued as deliveries (the outbox the worker sends) in the same transaction that recorded the
//! event, so a notice is never lost and never sent for an event that was not stored. The
//! project's settings pick the channels and cap notices per hour
//! ([`crate::tables::issue_notifications`]); a connector channel (Jira, GitHub) makes a ticket.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};

use crate::tables::issue_notifications::{self, Occasion};
use crate::tables::notification_deliveries::{self as deliveries, Subject};
use crate::tables::{error_issues, projects};
use crate::{OrgId, ProjectId};

/// What a notice says about the issue.
#[derive(Debug, Clone, Copy)]
pub struct IssueFacts<'a> {
    /// Issue.
    pub issue_id: uuid::Uuid,
    /// Title (scrubbed).
    pub title: &'a str,
    /// Culprit (scrubbed).
    pub culprit: Option<&'a str>,
    /// Level of the event.
    pub level: &'a str,
    /// Release of the event.
    pub release: Option<&'a str>,
}

/// The notice recording an event calls for: none for a known issue or a duplicate.
pub fn occasion(recorded: &error_issues::Recorded) -> Option<Occasion> {
    match recorded {
        error_issues::Recorded {
            duplicate: false,
            new_issue: true,
            ..
        } => Some(Occasion::New),
        error_issues::Recorded {
            duplicate: false,
            regressed: true,
            ..
        } => Some(Occasion::Regression),
        _ => None,
    }
}

/// Queues the notice for `occasion` (none when the project asked for none, or the hourly cap
/// holds it back).
pub async fn queue(
    conn: &mut AsyncPgConnection,
    (org, project): (OrgId, ProjectId),
    occasion: Occasion,
    facts: IssueFacts<'_>,
    public_url: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let Some(admitted) = issue_notifications::admit(conn, org, project, occasion, now).await?
    else {
        return Ok(());
    };
    let project_name = projects::find(conn, org, project)
        .await?
        .map(|found| found.project.name)
        .unwrap_or_default();
    let payload = payload(
        occasion,
        (org, project, &project_name),
        &facts,
        admitted.held_back_before,
        public_url,
        now,
    );
    let subject = Subject {
        alert: None,
        issue: Some(facts.issue_id),
    };
    deliveries::enqueue_to_enabled(conn, org, &admitted.channel_ids, subject, "issue", &payload)
        .await?;
    Ok(())
}

/// The channel-neutral notice (each channel formats it, as it does an alert's).
pub fn payload(
    occasion: Occasion,
    (org, project, project_name): (OrgId, ProjectId, &str),
    facts: &IssueFacts<'_>,
    held_back_before: i32,
    public_url: &str,
    now: DateTime<Utc>,
) -> Value {
    let (kind, what) = match occasion {
        Occasion::New => ("issue.new", "New error issue"),
        Occasion::Regression => ("issue.regressed", "Regressed error issue"),
    };
    let mut summary = format!("{what} in {project_name}: {}", facts.title);
    if let Some(culprit) = facts.culprit {
        summary.push_str(&format!(" (in {culprit})"));
    }
    summary.push('.');
    if held_back_before > 0 {
        summary.push_str(&format!(
            " The hourly cap held back {held_back_before} notice{} after the last one sent.",
            if held_back_before == 1 { "" } else { "s" }
        ));
    }
    issue_payload(
        kind,
        summary,
        (org, project, project_name),
        facts,
        public_url,
        now,
    )
}

/// A notice about an issue: `kind` (`issue.new`, `issue.regressed`, `issue.ticket`,
/// `issue.resolved`) and the summary around the issue's facts and its link.
pub fn issue_payload(
    kind: &str,
    summary: String,
    (org, project, project_name): (OrgId, ProjectId, &str),
    facts: &IssueFacts<'_>,
    public_url: &str,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "type": kind,
        "summary": summary,
        "issue": {
            "id": facts.issue_id,
            "title": facts.title,
            "culprit": facts.culprit,
            "level": facts.level,
            "release": facts.release,
        },
        "project": {"id": project.uuid(), "name": project_name},
        "at": now,
        "url": format!(
            "{public_url}/orgs/{}/projects/{}/errors/{}",
            org.uuid(),
            project.uuid(),
            facts.issue_id
        ),
    })
}
