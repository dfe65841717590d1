//! The facts of an error issue for its explanation: the grouped issue (title, culprit, level,
//! counts, first and last seen, releases, state), how its events split by release,
//! environment, browser, OS and device, and the frames of the latest event's exception.
//!
//! Never an event's payload: no user, request, breadcrumbs, extra data or other tags (they may
//! hold personal data the scrubber did not recognize). A frame is its file, function, line,
//! column and source line; its surrounding lines stay behind.

use diesel_async::AsyncPgConnection;
use tenant::errors::event::{Exception, truncate};
use tenant::errors::grouping;
use tenant::reports::thousands;
use tenant::tables::error_issues::{self, Issue};
use tenant::{DbError, OrgId, ProjectId};
use uuid::Uuid;

use super::facts::{Fact, Facts};

/// The tags whose value counts are sent (the others may hold personal data).
pub const TAGS_SENT: [&str; 9] = [
    "release",
    "environment",
    "browser",
    "browser.name",
    "os",
    "os.name",
    "device",
    "device.family",
    "runtime",
];
/// Frames sent, the crashing frame first.
const MAX_FRAMES: usize = 12;

/// An issue and what its explanation is made of.
#[derive(Debug, Clone)]
pub struct IssueData {
    /// The issue.
    pub issue: Issue,
    /// Distinct affected users.
    pub users: i64,
    /// Event counts by the tags of [`TAGS_SENT`].
    pub counts: Vec<error_issues::ValueCount>,
    /// The latest event's primary exception.
    pub exception: Option<Exception>,
}

/// Loads issue `issue_id` of `project`, or none.
pub async fn load(
    conn: &mut AsyncPgConnection,
    (org, project): (OrgId, ProjectId),
    issue_id: Uuid,
) -> Result<Option<IssueData>, DbError> {
    let Some(issue) = error_issues::find(conn, org, project, issue_id).await? else {
        return Ok(None);
    };
    let users = error_issues::users(conn, org, issue_id).await?;
    let counts = error_issues::breakdown(conn, org, issue_id)
        .await?
        .into_iter()
        .filter(|count| TAGS_SENT.contains(&count.key.as_str()))
        .collect();
    let latest = error_issues::events(conn, org, issue_id, None, 1).await?;
    let exception = latest.first().and_then(|event| {
        let exceptions = Exception::stored(&event.data);
        // The outermost exception is the last; it is what the title names.
        exceptions.into_iter().last()
    });
    Ok(Some(IssueData {
        issue,
        users,
        counts,
        exception,
    }))
}

/// The issue's facts, linked under `project_path`.
pub fn facts(data: &IssueData, project_path: &str) -> Vec<Fact> {
    let issue = &data.issue;
    let link = Some(format!("{project_path}/errors/{}", issue.issue_id));
    let mut facts = Facts::default();
    facts.add(format!("Title: {}", issue.title), link.clone());
    if let Some(culprit) = &issue.culprit {
        facts.add(format!("Culprit: {culprit}"), link.clone());
    }
    facts.add(
        format!(
            "Level {}, state {}; {} events from {} users",
            issue.level,
            issue.status,
            thousands(issue.times_seen),
            thousands(data.users)
        ),
        link.clone(),
    );
    facts.add(
        format!(
            "First seen {} (release {}), last seen {} (release {})",
            issue.first_seen.format("%Y-%m-%d %H:%M UTC"),
            issue.first_release.as_deref().unwrap_or("none"),
            issue.last_seen.format("%Y-%m-%d %H:%M UTC"),
            issue.last_release.as_deref().unwrap_or("none"),
        ),
        link.clone(),
    );
    if let Some(exception) = &data.exception {
        let kind = exception.kind.as_deref().unwrap_or("Error");
        let message = exception
            .value
            .as_deref()
            .map(|value| truncate(&grouping::mask(value), 300))
            .unwrap_or_default();
        let how = match (exception.mechanism.as_deref(), exception.handled) {
            (Some(mechanism), Some(false)) => format!(", unhandled ({mechanism})"),
            (Some(mechanism), _) => format!(", caught by {mechanism}"),
            _ => String::new(),
        };
        facts.add(format!("Exception {kind}: {message}{how}"), link.clone());
    }
    let mut keys: Vec<&str> = data.counts.iter().map(|c| c.key.as_str()).collect();
    keys.dedup();
    for key in keys {
        let values: Vec<String> = data
            .counts
            .iter()
            .filter(|count| count.key == key)
            .take(5)
            .map(|count| {
                format!(
                    "{} in {} events",
                    count.value.as_deref().unwrap_or("(none)"),
                    thousands(count.events)
                )
            })
            .collect();
        facts.add(format!("By {key}: {}", values.join(", ")), link.clone());
    }
    facts.into_vec()
}

/// The latest event's frames as prompt lines, the crashing frame first.
pub fn frames(data: &IssueData) -> Vec<String> {
    let Some(exception) = &data.exception else {
        return Vec::new();
    };
    exception
        .frames
        .iter()
        .rev()
        .take(MAX_FRAMES)
        .map(|frame| {
            let file = frame
                .filename
                .as_deref()
                .or(frame.abs_path.as_deref())
                .unwrap_or("?");
            let mut line = format!(
                "{file}:{}:{} in {}",
                frame.lineno.unwrap_or(0),
                frame.colno.unwrap_or(0),
                frame.function.as_deref().unwrap_or("(anonymous)")
            );
            if frame.in_app == Some(true) {
                line.push_str(" [in app]");
            }
            if let Some(code) = &frame.context_line {
                line.push_str(&format!(" — `{}`", truncate(code.trim(), 160)));
            }
            line
        })
        .collect()
}
