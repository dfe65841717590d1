//! How a notification looks in each channel: Slack's Block Kit, a Microsoft Teams Adaptive
//! Card, a Discord embed, and the signed JSON of a generic webhook. Each is built from the
//! one channel-neutral notification (an alert's, [`tenant::alerts::evaluate::notification`],
//! or an error issue's, [`tenant::errors::notices::issue_payload`]), so every channel says the
//! same thing: what fired, the value against the threshold or baseline (or the issue's level,
//! culprit and release), and a link to it in Beacon.

use serde_json::{Value, json};

/// A notification's headline, e.g. "Firing (critical): Signups dropped · Shop".
pub fn title(payload: &Value) -> String {
    let text = |pointer: &str| payload.pointer(pointer).and_then(Value::as_str);
    let kind = text("/type").unwrap_or_default();
    if kind == "test" {
        return "Test notification from Beacon".to_owned();
    }
    if let Some(occasion) = kind.strip_prefix("issue.") {
        let head = match occasion {
            "new" => "New issue: ",
            "regressed" => "Regressed: ",
            "resolved" => "Resolved: ",
            _ => "",
        };
        let issue = text("/issue/title").unwrap_or("Error issue");
        let project = text("/project/name").unwrap_or_default();
        return format!("{head}{issue} · {project}");
    }
    let name = text("/alert/name").unwrap_or("Alert");
    let project = text("/project/name").unwrap_or_default();
    let head = match (text("/state"), text("/level")) {
        (Some("resolved"), _) => "Resolved".to_owned(),
        (_, Some(level)) => format!("Firing ({level})"),
        _ => "Firing".to_owned(),
    };
    format!("{head}: {name} · {project}")
}

/// The summary line of a notification.
pub fn summary(payload: &Value) -> &str {
    payload
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The link back to Beacon, if the notification has one.
pub fn link(payload: &Value) -> Option<&str> {
    payload.get("url").and_then(Value::as_str)
}

fn figure(payload: &Value, key: &str) -> Option<String> {
    let value = payload.get(key)?.as_f64()?;
    let unit = payload
        .get("unit")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(format!("{}{unit}", tenant::alerts::evaluate::number(value)))
}

/// The labelled facts shown beside the summary: an alert's value, threshold and baseline, or
/// an error issue's level, culprit and release.
pub fn facts(payload: &Value) -> Vec<(&'static str, String)> {
    if let Some(issue) = payload.get("issue") {
        return [
            ("Level", "level"),
            ("Culprit", "culprit"),
            ("Release", "release"),
        ]
        .into_iter()
        .filter_map(|(label, key)| Some((label, issue.get(key)?.as_str()?.trim().to_owned())))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    }
    [
        ("Value", "value"),
        ("Threshold", "threshold"),
        ("Baseline", "baseline_value"),
    ]
    .into_iter()
    .filter_map(|(label, key)| Some((label, figure(payload, key)?)))
    .collect()
}

/// What the link back says: "Open the issue in Beacon", "Open the alert in Beacon".
pub fn link_label(payload: &Value) -> &'static str {
    if payload.get("issue").is_some() {
        "Open the issue in Beacon"
    } else if payload.get("alert").is_some() {
        "Open the alert in Beacon"
    } else {
        "Open Beacon"
    }
}

/// A ticket's title: the error issue's own title, or the alert's headline.
pub fn ticket_title(payload: &Value) -> String {
    let title = match payload.pointer("/issue/title").and_then(Value::as_str) {
        Some(issue) => issue.to_owned(),
        None => title(payload),
    };
    // Jira's summary holds 255 characters.
    title.chars().take(250).collect()
}

/// Slack incoming webhook: Block Kit with a plain-text fallback.
pub fn slack(payload: &Value) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title(payload)}}),
        json!({"type": "section", "text": {"type": "plain_text", "text": summary(payload)}}),
    ];
    let fields: Vec<Value> = facts(payload)
        .into_iter()
        .map(|(label, value)| json!({"type": "mrkdwn", "text": format!("*{label}*\n{value}")}))
        .collect();
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if let Some(url) = link(payload) {
        blocks.push(json!({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": "Open in Beacon"}, "url": url,
        }]}));
    }
    json!({"text": format!("{}: {}", title(payload), summary(payload)), "blocks": blocks})
}

/// Microsoft Teams incoming webhook (Workflows): a message with one Adaptive Card.
pub fn teams(payload: &Value) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": title(payload), "weight": "Bolder", "size": "Medium", "wrap": true}),
        json!({"type": "TextBlock", "text": summary(payload), "wrap": true}),
    ];
    let facts: Vec<Value> = facts(payload)
        .into_iter()
        .map(|(label, value)| json!({"title": label, "value": value}))
        .collect();
    if !facts.is_empty() {
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    let actions: Vec<Value> = link(payload)
        .map(|url| json!({"type": "Action.OpenUrl", "title": "Open in Beacon", "url": url}))
        .into_iter()
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            },
        }],
    })
}

/// Discord webhook: one embed, coloured by state; nobody is pinged.
pub fn discord(payload: &Value) -> Value {
    let color = match (
        payload.get("state").and_then(Value::as_str),
        payload.get("level").and_then(Value::as_str),
    ) {
        (Some("resolved"), _) => 0x2e7d32,
        (_, Some("critical")) => 0xc62828,
        (Some("firing"), _) => 0xef6c00,
        _ => 0x1565c0,
    };
    let fields: Vec<Value> = facts(payload)
        .into_iter()
        .map(|(label, value)| json!({"name": label, "value": value, "inline": true}))
        .collect();
    let mut embed = json!({
        "title": title(payload),
        "description": summary(payload),
        "color": color,
        "fields": fields,
    });
    if let Some(url) = link(payload) {
        embed["url"] = json!(url);
    }
    if let Some(at) = payload.get("at") {
        embed["timestamp"] = at.clone();
    }
    json!({"embeds": [embed], "allowed_mentions": {"parse": []}})
}

/// A generic webhook's body (Standard Webhooks): `type`, `timestamp` and the notification as
/// `data`.
pub fn webhook(payload: &Value, timestamp: chrono::DateTime<chrono::Utc>) -> Value {
    let kind = payload
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("alert");
    json!({"type": kind, "timestamp": timestamp, "data": payload})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firing() -> Value {
        json!({
            "type": "alert.firing", "summary": "visitors (last hour) is 80, below the warning threshold of 100.",
            "alert": {"name": "Traffic drop"}, "project": {"name": "Shop"},
            "state": "firing", "level": "warning", "value": 80.0, "threshold": 100.0,
            "baseline_value": null, "unit": "", "at": "2026-11-26T10:00:00Z",
            "url": "https://beacon.example/orgs/o/projects/p/alerts/a",
        })
    }

    #[test]
    fn every_channel_says_what_fired_the_value_the_threshold_and_links_back() {
        let payload = firing();
        assert_eq!(title(&payload), "Firing (warning): Traffic drop · Shop");
        assert_eq!(
            facts(&payload),
            vec![("Value", "80".to_owned()), ("Threshold", "100".to_owned())]
        );
        for body in [slack(&payload), teams(&payload), discord(&payload)] {
            let text = body.to_string();
            for needle in [
                "Traffic drop",
                "below the warning threshold of 100",
                "80",
                "/alerts/a",
            ] {
                assert!(text.contains(needle), "{needle} in {text}");
            }
        }
        assert_eq!(discord(&payload)["allowed_mentions"]["parse"], json!([]));
    }

    #[test]
    fn an_issue_notice_names_the_issue_its_level_culprit_and_release() {
        let payload = json!({
            "type": "issue.regressed", "summary": "Regressed error issue in Shop: TypeError: x.",
            "issue": {"id": "i", "title": "TypeError: x", "culprit": "app.js in render",
                      "level": "error", "release": null},
            "project": {"name": "Shop"}, "url": "https://beacon.example/orgs/o/projects/p/errors/i",
        });
        assert_eq!(title(&payload), "Regressed: TypeError: x · Shop");
        assert_eq!(
            facts(&payload),
            vec![
                ("Level", "error".to_owned()),
                ("Culprit", "app.js in render".to_owned())
            ]
        );
        assert_eq!(ticket_title(&payload), "TypeError: x");
        assert_eq!(link_label(&payload), "Open the issue in Beacon");
        assert!(slack(&payload).to_string().contains("/errors/i"));
    }

    #[test]
    fn a_resolved_alert_says_so() {
        let mut payload = firing();
        payload["state"] = json!("resolved");
        assert_eq!(title(&payload), "Resolved: Traffic drop · Shop");
        assert_eq!(discord(&payload)["embeds"][0]["color"], json!(0x2e7d32));
    }
}
