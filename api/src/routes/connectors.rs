//! What a Jira or GitHub Issues connector takes beyond a channel's name and URL: the settings
//! that say where tickets go (checked here, so the worker never meets a malformed project key
//! or repository) and the API token (sealed like a webhook's secret, never answered).

use poem_openapi::Object;
use serde_json::Value;
use tenant::problem::ProblemKind;
use tenant::tables::notification_channels::ConnectorSettings;

use crate::error::{ApiError, ApiResult};
use crate::routes::text::Text;

/// The GitHub API, where a `github` connector without `url` goes.
pub const GITHUB_API: &str = "https://api.github.com";
/// Most labels on a ticket.
const MAX_LABELS: usize = 10;
/// Longest API token taken.
const MAX_TOKEN: usize = 1_000;

/// Where a connector's tickets go.
#[derive(Debug, Clone, Object)]
pub struct ConnectorIn {
    /// Jira: the Atlassian account e-mail the API token belongs to.
    #[oai(validator(max_length = 254))]
    pub account_email: Option<Text>,
    /// Jira: the project key, e.g. `OPS`.
    #[oai(validator(max_length = 10))]
    pub project_key: Option<Text>,
    /// Jira: the issue type, e.g. `Bug` (the default) or `Task`.
    #[oai(validator(max_length = 60))]
    pub issue_type: Option<Text>,
    /// GitHub: `owner/repository`.
    #[oai(validator(max_length = 140))]
    pub repository: Option<Text>,
    /// Labels put on every ticket (at most 10; no spaces or commas).
    #[oai(default, validator(max_items = 10))]
    pub labels: Vec<Text>,
    /// Comment on the ticket when the issue is resolved in Beacon (default true).
    pub comment_on_resolve: Option<bool>,
}

/// Where a connector's tickets go (its token is never answered).
#[derive(Debug, Clone, Object)]
pub struct ConnectorOut {
    /// Jira: the Atlassian account e-mail the API token belongs to.
    pub account_email: Option<String>,
    /// Jira: the project key.
    pub project_key: Option<String>,
    /// Jira: the issue type.
    pub issue_type: Option<String>,
    /// GitHub: `owner/repository`.
    pub repository: Option<String>,
    /// Labels put on every ticket.
    pub labels: Vec<String>,
    /// Comment on the ticket when the issue is resolved in Beacon.
    pub comment_on_resolve: bool,
}

impl From<ConnectorSettings> for ConnectorOut {
    fn from(settings: ConnectorSettings) -> Self {
        Self {
            account_email: settings.account_email,
            project_key: settings.project_key,
            issue_type: settings.issue_type,
            repository: settings.repository,
            labels: settings.labels,
            comment_on_resolve: settings.comment_on_resolve,
        }
    }
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::invalid(ProblemKind::InvalidChannel, detail)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Checks a connector's settings for `kind` (`jira` or `github`); the settings to store.
pub fn check_settings(kind: &str, given: Option<&ConnectorIn>) -> ApiResult<Value> {
    let given = given.ok_or_else(|| bad(format!("a {kind} connector needs `connector`")))?;
    let mut labels: Vec<String> = given.labels.iter().map(|l| l.trim().to_owned()).collect();
    labels.sort();
    labels.dedup();
    if labels.len() > MAX_LABELS
        || labels.iter().any(|label| {
            label.is_empty()
                || label.chars().count() > 50
                || label
                    .chars()
                    .any(|c| c == ',' || c.is_whitespace() || c.is_control())
        })
    {
        return Err(bad(
            "`labels`: at most 10, each 1 to 50 characters without spaces or commas",
        ));
    }
    let mut settings = ConnectorSettings {
        labels,
        comment_on_resolve: given.comment_on_resolve.unwrap_or(true),
        ..ConnectorSettings::default()
    };
    match kind {
        "jira" => {
            let email = given
                .account_email
                .as_deref()
                .ok_or_else(|| bad("a jira connector needs `connector.account_email`"))?;
            settings.account_email = Some(
                crate::routes::auth::normalize_email(email)
                    .map_err(|_| bad("`connector.account_email` is not an e-mail address"))?,
            );
            let key = given.project_key.as_deref().unwrap_or_default().trim();
            let valid_key = key.len() >= 2
                && key.starts_with(|c: char| c.is_ascii_uppercase())
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid_key {
                return Err(bad(
                    "`connector.project_key` is a Jira project key: 2 to 10 capital letters, digits or _, starting with a letter (e.g. OPS)",
                ));
            }
            settings.project_key = Some(key.to_owned());
            let issue_type = given.issue_type.as_deref().unwrap_or("Bug").trim();
            if issue_type.is_empty() || issue_type.chars().any(char::is_control) {
                return Err(bad(
                    "`connector.issue_type` names a Jira issue type, e.g. Bug",
                ));
            }
            settings.issue_type = Some(issue_type.to_owned());
        }
        _ => {
            let repository = given.repository.as_deref().unwrap_or_default().trim();
            let valid = repository.split_once('/').is_some_and(|(owner, name)| {
                !owner.is_empty()
                    && !name.is_empty()
                    && owner.chars().all(is_name_char)
                    && name.chars().all(is_name_char)
                    && !owner.starts_with('.')
                    && !name.starts_with('.')
            });
            if !valid {
                return Err(bad(
                    "`connector.repository` is `owner/repository`, e.g. acme/web",
                ));
            }
            settings.repository = Some(repository.to_owned());
        }
    }
    serde_json::to_value(settings).map_err(|_| bad("the connector's settings cannot be stored"))
}

/// Checks an API token: present, printable, not too long.
pub fn check_token(kind: &str, token: Option<&Text>) -> ApiResult<String> {
    let token = token
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| bad(format!("a {kind} connector needs `token` (its API token)")))?;
    if token.len() > MAX_TOKEN || token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad("`token` is not an API token"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Text {
        Text(value.to_owned())
    }

    fn jira() -> ConnectorIn {
        ConnectorIn {
            account_email: Some(text("Ops@Acme.example")),
            project_key: Some(text("OPS")),
            issue_type: None,
            repository: None,
            labels: vec![text("beacon"), text("beacon")],
            comment_on_resolve: None,
        }
    }

    #[test]
    fn a_jira_connector_needs_an_account_and_a_project_key() {
        let settings = check_settings("jira", Some(&jira())).unwrap();
        assert_eq!(settings["project_key"], "OPS");
        assert_eq!(settings["issue_type"], "Bug");
        assert_eq!(settings["account_email"], "ops@acme.example");
        assert_eq!(settings["labels"], serde_json::json!(["beacon"]));
        assert_eq!(settings["comment_on_resolve"], true);
        for key in ["ops", "O", "1OPS", "OP S"] {
            let mut given = jira();
            given.project_key = Some(text(key));
            assert!(check_settings("jira", Some(&given)).is_err(), "{key}");
        }
        let mut given = jira();
        given.labels = vec![text("two words")];
        assert!(check_settings("jira", Some(&given)).is_err());
        assert!(check_settings("jira", None).is_err());
    }

    #[test]
    fn a_github_connector_needs_owner_and_repository() {
        let mut given = jira();
        given.repository = Some(text("acme/web"));
        assert_eq!(
            check_settings("github", Some(&given)).unwrap()["repository"],
            "acme/web"
        );
        for repository in [
            "acme",
            "acme/",
            "/web",
            "acme/web/x",
            "acme/../x",
            "../x",
            "./x",
            "a b/c",
        ] {
            given.repository = Some(text(repository));
            assert!(
                check_settings("github", Some(&given)).is_err(),
                "{repository}"
            );
        }
        assert!(check_token("github", None).is_err());
        assert!(check_token("github", Some(&Text("a b".into()))).is_err());
        assert_eq!(
            check_token("github", Some(&Text(" ghp_x ".into()))).unwrap(),
            "ghp_x"
        );
    }
}
