//! Jira (REST API v3) and GitHub Issues (REST API) connectors: a notification sent to one
//! becomes a ticket, and a later one about the same thing (an alert escalating or resolving, an
//! error issue regressing or resolved in Beacon) becomes a comment on that ticket. A "send
//! test" only reads (the Jira project, the GitHub repository), so it checks the token and the
//! settings without making a ticket.
//!
//! Requests go through [`Outbound`](crate::outbound::Outbound) like every channel's; the token
//! is opened from its sealed form only here, and at most [`MAX_ANSWER`] bytes of an answer are
//! read. An answer retrying cannot change (a 3xx or 4xx but 408 and 429) fails the delivery at
//! once, which turns the channel off and tells the owners — except a comment on a ticket that
//! is gone (404, 410, or moved: 3xx), which fails that delivery alone: the connector still
//! works. 408, 429, 5xx and network errors are retried.
//!
//! A GitHub ticket's key names its repository (`acme/web#34`), so a comment reaches the ticket
//! it was made as even after the connector is pointed at another repository.

use reqwest::{RequestBuilder, StatusCode, Url};
use serde_json::{Value, json};
use tenant::tables::notification_channels::{Channel, ConnectorSettings};
use tenant::tables::notification_deliveries::Delivery;

use super::format;

/// Most bytes of a tracker's answer read.
pub const MAX_ANSWER: usize = 256 * 1024;

/// A ticket in the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// `OPS-12` (Jira) or `acme/web#34` (GitHub).
    pub key: String,
    /// Its page.
    pub url: String,
}

/// What a delivery asks of the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Check the token and settings (a "send test").
    Check,
    /// Make a ticket.
    Create,
    /// Comment on this ticket.
    Comment(Ticket),
    /// Nothing to do (the ticket exists, or a resolution has no ticket to tell).
    Nothing(Option<Ticket>),
}

/// The action for `delivery`, given the ticket already made for its issue or alert in this
/// connector, if any.
pub fn action(delivery: &Delivery, prior: Option<Ticket>) -> Action {
    let payload = &delivery.payload;
    let kind = payload.get("type").and_then(Value::as_str).unwrap_or("");
    match (delivery.kind.as_str(), kind, prior) {
        ("test", _, _) => Action::Check,
        // Asked for from the issue's page, or a new issue: one ticket per issue.
        (_, "issue.ticket" | "issue.new", Some(ticket)) => Action::Nothing(Some(ticket)),
        (_, "issue.resolved", None) => Action::Nothing(None),
        (_, "issue.ticket" | "issue.new" | "issue.regressed", None) => Action::Create,
        (_, "issue.regressed" | "issue.resolved", Some(ticket)) => Action::Comment(ticket),
        ("alert", _, prior) => {
            let state = payload.get("state").and_then(Value::as_str);
            let previous = payload.get("previous_state").and_then(Value::as_str);
            match (state, previous, prior) {
                // A new firing (not an escalation of one) gets a new ticket.
                (Some("firing"), Some(previous), _) if previous != "firing" => Action::Create,
                (_, _, Some(ticket)) => Action::Comment(ticket),
                (Some("resolved"), _, None) => Action::Nothing(None),
                _ => Action::Create,
            }
        }
        _ => Action::Nothing(None),
    }
}

/// Why a request to the tracker failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, with the tracker's own message.
    pub error: String,
    /// Retrying cannot help (a bad token, project or repository, a refused field).
    pub permanent: bool,
    /// The connector itself is at fault (a permanent refusal turns it off); not so for a
    /// comment on a ticket that was deleted or moved.
    pub connector_fault: bool,
}

/// Where and how to reach the tracker.
pub struct Target<'a> {
    /// The channel.
    pub channel: &'a Channel,
    /// Its settings.
    pub settings: ConnectorSettings,
    /// The Jira site (`https://acme.atlassian.net`) or GitHub API (`https://api.github.com`).
    pub base: Url,
    /// The API token.
    pub token: String,
}

impl Target<'_> {
    fn url(&self, path: &str) -> Result<Url, Refused> {
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}")).map_err(|_| Refused {
            status: None,
            error: "the connector's URL does not make an API address".into(),
            permanent: true,
            connector_fault: true,
        })
    }

    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match self.channel.kind.as_str() {
            "jira" => request
                .basic_auth(
                    self.settings.account_email.as_deref().unwrap_or_default(),
                    Some(&self.token),
                )
                .header("accept", "application/json"),
            _ => request
                .bearer_auth(&self.token)
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
                .header("user-agent", "Beacon"),
        }
    }

    /// POSTs `body` as JSON to `path`; the tracker's JSON answer.
    async fn post(
        &self,
        http: &reqwest::Client,
        path: &str,
        body: &Value,
    ) -> Result<Value, Refused> {
        let request = self
            .authorize(http.post(self.url(path)?))
            .header("content-type", "application/json")
            .body(body.to_string());
        answer(request).await
    }

    fn repository(&self) -> &str {
        self.settings.repository.as_deref().unwrap_or_default()
    }
}

/// Does `action` in the tracker; the ticket made or commented on.
pub async fn perform(
    http: &reqwest::Client,
    target: &Target<'_>,
    action: &Action,
    payload: &Value,
) -> Result<Option<Ticket>, Refused> {
    let jira = target.channel.kind == "jira";
    match action {
        Action::Nothing(ticket) => Ok(ticket.clone()),
        Action::Check => {
            let path = if jira {
                format!(
                    "/rest/api/3/project/{}",
                    target.settings.project_key.as_deref().unwrap_or_default()
                )
            } else {
                format!("/repos/{}", target.repository())
            };
            let request = target.authorize(http.get(target.url(&path)?));
            answer(request).await.map(|_| None)
        }
        Action::Create if jira => {
            let settings = &target.settings;
            let body = json!({"fields": {
                "project": {"key": settings.project_key},
                "issuetype": {"name": settings.issue_type},
                "summary": format::ticket_title(payload),
                "labels": settings.labels,
                "description": jira_document(payload),
            }});
            let created = target.post(http, "/rest/api/3/issue", &body).await?;
            let key = created
                .get("key")
                .and_then(Value::as_str)
                .filter(|key| is_jira_key(key))
                .ok_or_else(|| malformed("Jira", "key"))?;
            let url = target.url(&format!("/browse/{key}"))?;
            Ok(Some(Ticket {
                key: key.to_owned(),
                url: checked_link(url.as_str()).ok_or_else(|| malformed("Jira", "self"))?,
            }))
        }
        Action::Create => {
            let body = json!({
                "title": format::ticket_title(payload),
                "body": markdown(payload),
                "labels": target.settings.labels,
            });
            let path = format!("/repos/{}/issues", target.repository());
            let created = target.post(http, &path, &body).await?;
            let number = created
                .get("number")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed("GitHub", "number"))?;
            let url = created
                .get("html_url")
                .and_then(Value::as_str)
                .and_then(checked_link)
                .ok_or_else(|| malformed("GitHub", "html_url"))?;
            Ok(Some(Ticket {
                key: format!("{}#{number}", target.repository()),
                url,
            }))
        }
        Action::Comment(ticket) if jira => {
            let path = format!("/rest/api/3/issue/{}/comment", ticket.key);
            let body = json!({"body": jira_document(payload)});
            target
                .post(http, &path, &body)
                .await
                .map_err(on_ticket)
                .map(|_| Some(ticket.clone()))
        }
        Action::Comment(ticket) => {
            let (repository, number) = ticket
                .key
                .rsplit_once('#')
                .filter(|(repository, number)| {
                    !repository.is_empty()
                        && !number.is_empty()
                        && number.chars().all(|c| c.is_ascii_digit())
                })
                .ok_or_else(|| Refused {
                    status: None,
                    error: format!("{} does not name a GitHub issue", ticket.key),
                    permanent: true,
                    connector_fault: false,
                })?;
            let path = format!("/repos/{repository}/issues/{number}/comments");
            let body = json!({"body": markdown(payload)});
            target
                .post(http, &path, &body)
                .await
                .map_err(on_ticket)
                .map(|_| Some(ticket.clone()))
        }
    }
}

/// A comment's refusal: a ticket that is gone or moved (404, 410, 3xx) is that ticket's
/// trouble, not the connector's.
fn on_ticket(mut refused: Refused) -> Refused {
    if refused
        .status
        .is_some_and(|status| matches!(status, 300..=399 | 404 | 410))
    {
        refused.connector_fault = false;
    }
    refused
}

/// A tracker that answers success without a usable ticket misbehaves; the delivery fails.
fn malformed(service: &str, field: &str) -> Refused {
    Refused {
        status: None,
        error: format!("{service} answered without a valid `{field}`"),
        permanent: true,
        connector_fault: true,
    }
}

/// A Jira issue key: `OPS-12`.
fn is_jira_key(key: &str) -> bool {
    key.len() <= 100
        && key.split_once('-').is_some_and(|(project, number)| {
            project.starts_with(|c: char| c.is_ascii_uppercase())
                && project
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !number.is_empty()
                && number.chars().all(|c| c.is_ascii_digit())
        })
}

/// A ticket's link as the dashboard will show it: an `http(s)` URL of sane length (a tracker's
/// answer is not trusted to be one: `javascript:` would run in the dashboard).
fn checked_link(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok()?.to_string();
    let web = Url::parse(&parsed)
        .is_ok_and(|url| matches!(url.scheme(), "https" | "http") && url.host_str().is_some());
    // The stored form (percent-encoded) must fit the column.
    (web && parsed.len() <= 2000).then_some(parsed)
}

/// Sends `request`; the JSON answer of a success, or what the tracker said was wrong.
async fn answer(request: RequestBuilder) -> Result<Value, Refused> {
    let mut response = request.send().await.map_err(|error| Refused {
        status: None,
        error: crate::outbound::describe(&error),
        permanent: false,
        connector_fault: true,
    })?;
    let status = response.status();
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ANSWER {
            break;
        }
    }
    let text = String::from_utf8_lossy(&body);
    if status.is_success() {
        return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
    }
    let retriable = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    let mut why = said(&text);
    if why.trim().is_empty() {
        why = match status {
            StatusCode::UNAUTHORIZED => "the token (or Jira's account e-mail) was refused",
            StatusCode::FORBIDDEN => "the token may not do this",
            StatusCode::NOT_FOUND => "not found: check the project key or repository",
            _ => "no reason given",
        }
        .to_owned();
    }
    Err(Refused {
        status: Some(status.as_u16()),
        error: format!("the tracker answered {status}: {why}"),
        permanent: !retriable,
        connector_fault: true,
    })
}

/// The tracker's own error message: Jira's `errorMessages` and `errors`, GitHub's `message`
/// and `errors`, or the start of the body.
fn said(body: &str) -> String {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut parts: Vec<String> = Vec::new();
    if let Some(message) = parsed.get("message").and_then(Value::as_str) {
        parts.push(message.to_owned());
    }
    if let Some(messages) = parsed.get("errorMessages").and_then(Value::as_array) {
        parts.extend(messages.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    match parsed.get("errors") {
        Some(Value::Object(fields)) => parts.extend(
            fields
                .iter()
                .map(|(field, why)| format!("{field}: {}", why.as_str().unwrap_or_default())),
        ),
        Some(Value::Array(errors)) => parts.extend(errors.iter().map(|error| {
            error
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_owned)
        })),
        _ => {}
    }
    let text = if parts.is_empty() {
        body.to_owned()
    } else {
        parts.join("; ")
    };
    // Shown in the dashboard and stored: no control characters (PostgreSQL refuses NUL).
    text.chars().filter(|c| !c.is_control()).take(300).collect()
}

/// The notification as an Atlassian Document: the summary, the facts, and the link back.
fn jira_document(payload: &Value) -> Value {
    let text = |text: String| json!({"type": "text", "text": text});
    let mut content =
        vec![json!({"type": "paragraph", "content": [text(format::summary(payload).to_owned())]})];
    let facts = format::facts(payload);
    if !facts.is_empty() {
        let items: Vec<Value> = facts
            .into_iter()
            .map(|(label, value)| {
                json!({"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": format!("{label}: "), "marks": [{"type": "strong"}]},
                    text(value),
                ]}]})
            })
            .collect();
        content.push(json!({"type": "bulletList", "content": items}));
    }
    if let Some(url) = format::link(payload) {
        content.push(json!({"type": "paragraph", "content": [{
            "type": "text", "text": format::link_label(payload),
            "marks": [{"type": "link", "attrs": {"href": url}}],
        }]}));
    }
    json!({"type": "doc", "version": 1, "content": content})
}

/// The notification as GitHub-flavoured Markdown.
fn markdown(payload: &Value) -> String {
    let mut body = format!("{}\n", escape(format::summary(payload)));
    for (label, value) in format::facts(payload) {
        body.push_str(&format!("\n- **{label}:** {}", escape(&value)));
    }
    if let Some(url) = format::link(payload) {
        body.push_str(&format!("\n\n[{}]({url})", format::link_label(payload)));
    }
    body
}

/// Markdown's special characters escaped, so an error's text cannot format or link.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]()#+-.!|<>~@".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(kind: &str, payload: Value) -> Delivery {
        Delivery {
            org_id: uuid::Uuid::nil(),
            delivery_id: uuid::Uuid::nil(),
            channel_id: uuid::Uuid::nil(),
            alert_id: None,
            kind: kind.into(),
            payload,
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: chrono::Utc::now(),
            last_status: None,
            last_error: None,
            delivered_at: None,
            created_at: chrono::Utc::now(),
            issue_id: None,
            ticket_key: None,
            ticket_url: None,
        }
    }

    fn ticket() -> Ticket {
        Ticket {
            key: "OPS-1".into(),
            url: "https://acme.atlassian.net/browse/OPS-1".into(),
        }
    }

    #[test]
    fn one_ticket_per_issue_and_later_news_comments_on_it() {
        let issue = |kind: &str| delivery("issue", json!({"type": kind, "issue": {}}));
        assert_eq!(action(&issue("issue.new"), None), Action::Create);
        assert_eq!(
            action(&issue("issue.ticket"), Some(ticket())),
            Action::Nothing(Some(ticket()))
        );
        assert_eq!(
            action(&issue("issue.regressed"), Some(ticket())),
            Action::Comment(ticket())
        );
        assert_eq!(action(&issue("issue.regressed"), None), Action::Create);
        let resolved = delivery("comment", json!({"type": "issue.resolved"}));
        assert_eq!(action(&resolved, Some(ticket())), Action::Comment(ticket()));
        assert_eq!(action(&resolved, None), Action::Nothing(None));
        assert_eq!(action(&delivery("test", json!({})), None), Action::Check);
    }

    #[test]
    fn an_alert_firing_makes_a_ticket_and_its_escalation_and_resolution_comment() {
        let alert = |state: &str, previous: &str| {
            delivery(
                "alert",
                json!({"type": format!("alert.{state}"), "state": state, "previous_state": previous}),
            )
        };
        assert_eq!(action(&alert("firing", "pending"), None), Action::Create);
        assert_eq!(
            action(&alert("firing", "resolved"), Some(ticket())),
            Action::Create
        );
        assert_eq!(
            action(&alert("firing", "firing"), Some(ticket())),
            Action::Comment(ticket())
        );
        assert_eq!(
            action(&alert("resolved", "firing"), Some(ticket())),
            Action::Comment(ticket())
        );
        assert_eq!(
            action(&alert("resolved", "firing"), None),
            Action::Nothing(None)
        );
    }

    #[test]
    fn a_trackers_answer_is_not_trusted_to_be_a_link() {
        assert_eq!(
            checked_link("https://github.com/acme/web/issues/3").as_deref(),
            Some("https://github.com/acme/web/issues/3")
        );
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
            "ftp://x/y",
        ] {
            assert_eq!(checked_link(bad), None, "{bad}");
        }
        assert_eq!(
            checked_link(&format!("https://x.test/{}", "a".repeat(2000))),
            None
        );
        assert!(is_jira_key("OPS-12") && is_jira_key("A_1-3"));
        for bad in ["ops-1", "OPS", "OPS-", "../x-1", "OPS-1/comment"] {
            assert!(!is_jira_key(bad), "{bad}");
        }
    }

    #[test]
    fn the_trackers_own_error_message_is_kept() {
        assert_eq!(
            said(r#"{"errorMessages":[],"errors":{"issuetype":"Specify a valid issue type"}}"#),
            "issuetype: Specify a valid issue type"
        );
        assert_eq!(
            said(r#"{"message":"Validation Failed","errors":[{"message":"label too long"}]}"#),
            "Validation Failed; label too long"
        );
        assert_eq!(said("Bad gateway"), "Bad gateway");
        assert_eq!(said("{\"message\":\"a\\u0000b\"}"), "ab");
    }

    #[test]
    fn error_text_cannot_format_or_link_in_markdown() {
        let payload = json!({"summary": "TypeError: [click](https://evil.example) **x**", "url": "https://b.example/i"});
        let body = markdown(&payload);
        assert!(body.contains(r"\[click\]\(https://evil\.example\) \*\*x\*\*"));
        assert!(body.ends_with("[Open Beacon](https://b.example/i)"));
    }
}
