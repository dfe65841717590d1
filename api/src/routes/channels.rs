//! Notification channels of an organization: e-mail (addresses and members), Slack, Microsoft
//! Teams and Discord incoming webhooks, and generic webhooks signed with the Standard Webhooks
//! scheme. A channel's URL (a chat webhook's URL is its credential) and a webhook's signing
//! secret are sealed at rest and never answered; the secret is shown once, when it is made.
//! Jira and GitHub Issues connectors are channels too ([`super::connectors`]): their API
//! token is sealed the same way and never answered.
//! Admins write; every member can list channels (to pick them for an alert).

use billing::Feature;
use chrono::{DateTime, Duration, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::{Value, json};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::notification_channels::{
    self as channels, Channel, ChannelChanges, ConnectorSettings, NewChannel, is_connector,
    seal_context,
};
use tenant::tables::notification_deliveries::{self as deliveries, Delivery};
use tenant::tables::{alerts, audit_streams, issue_notifications, memberships};
use tenant::{DbError, OrgId};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::connectors::{self, ConnectorIn, ConnectorOut};
use crate::routes::responses::NoContent;
use crate::routes::text::Text;
use crate::scope::{Admin, OrgScope, Viewer};
use crate::state::AppState;

/// Kinds of channel.
const KINDS: &[&str] = &[
    "email", "slack", "teams", "discord", "webhook", "jira", "github",
];

/// Most addresses on one e-mail channel.
const MAX_EMAILS: usize = 50;
/// Most members on one e-mail channel.
const MAX_MEMBERS: usize = 200;
/// How long a rotated-out webhook secret keeps signing (a second signature).
const ROTATION_OVERLAP_HOURS: i64 = 24;

/// A new channel.
#[derive(Debug, Object)]
pub struct ChannelIn {
    /// Name, e.g. "#ops on Slack".
    #[oai(validator(max_length = 100))]
    pub name: Text,
    /// `email`, `slack`, `teams`, `discord`, `webhook`, `jira` or `github`.
    #[oai(validator(max_length = 20))]
    pub kind: Text,
    /// The incoming-webhook URL (Slack, Teams, Discord), the receiver (webhook), the Jira site
    /// (`https://acme.atlassian.net`) or the GitHub API (default `https://api.github.com`).
    #[oai(validator(max_length = 2000))]
    pub url: Option<Text>,
    /// A connector's API token (Jira: an Atlassian API token; GitHub: a fine-grained token
    /// with Issues read and write). Sealed; never answered.
    #[oai(validator(max_length = 1000))]
    pub token: Option<Text>,
    /// Where a connector's tickets go.
    pub connector: Option<ConnectorIn>,
    /// E-mail addresses (e-mail channels).
    #[oai(validator(max_items = 50))]
    pub emails: Option<Vec<Text>>,
    /// Members whose addresses receive it (e-mail channels); members who leave are skipped.
    #[oai(validator(max_items = 200))]
    pub member_ids: Option<Vec<Uuid>>,
}

/// A change to a channel; absent fields stay.
#[derive(Debug, Object)]
pub struct ChannelPatch {
    /// Name.
    #[oai(validator(max_length = 100))]
    pub name: Option<Text>,
    /// New receiver URL.
    #[oai(validator(max_length = 2000))]
    pub url: Option<Text>,
    /// Addresses (e-mail channels).
    #[oai(validator(max_items = 50))]
    pub emails: Option<Vec<Text>>,
    /// Members (e-mail channels).
    #[oai(validator(max_items = 200))]
    pub member_ids: Option<Vec<Uuid>>,
    /// Turn on (after it was turned off for failures) or off.
    pub enabled: Option<bool>,
    /// A connector's new API token.
    #[oai(validator(max_length = 1000))]
    pub token: Option<Text>,
    /// A connector's settings (replaced whole).
    pub connector: Option<ConnectorIn>,
}

/// A channel, without its URL or secret.
#[derive(Debug, Object)]
pub struct ChannelOut {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// The receiver's host.
    pub url_host: Option<String>,
    /// Addresses.
    pub emails: Vec<String>,
    /// Members.
    pub member_ids: Vec<Uuid>,
    /// Delivering.
    pub enabled: bool,
    /// Deliveries that failed for good in a row.
    pub failures: i32,
    /// Why it was turned off.
    pub disabled_reason: Option<String>,
    /// Until when the previous signing secret still signs (webhooks, after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// Where a connector's tickets go (Jira, GitHub).
    pub connector: Option<ConnectorOut>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A channel just made, or a secret just rotated: the signing secret, shown this once.
#[derive(Debug, Object)]
pub struct ChannelWithSecret {
    /// The channel.
    pub channel: ChannelOut,
    /// The `whsec_` signing secret (webhooks); null for other kinds.
    pub secret: Option<String>,
}

/// A delivery in the log.
#[derive(Debug, Object)]
pub struct DeliveryOut {
    /// Id (a webhook's `webhook-id` is `msg_` and this id without dashes).
    pub id: Uuid,
    /// `alert`, `test`, `issue` (a new or regressed error issue, or a ticket asked for) or
    /// `comment` (an issue resolved, told to its tickets).
    pub kind: String,
    /// The alert that caused it.
    pub alert_id: Option<Uuid>,
    /// The error issue it concerns.
    pub issue_id: Option<Uuid>,
    /// The ticket a connector made or commented on (`OPS-12`, `acme/web#34`).
    pub ticket_key: Option<String>,
    /// That ticket's address.
    pub ticket_url: Option<String>,
    /// What was sent, before the channel's formatting.
    pub payload: Value,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// Next attempt (pending).
    pub next_attempt_at: DateTime<Utc>,
    /// HTTP status of the last attempt.
    pub last_status: Option<i32>,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// When it was acknowledged.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// A test delivery was queued.
#[derive(Debug, Object)]
pub struct TestQueued {
    /// The delivery to follow in the log.
    pub delivery_id: Uuid,
}

#[derive(ApiResponse)]
enum CreatedChannel {
    /// Created; the secret is shown this once.
    #[oai(status = 201)]
    Created(Json<ChannelWithSecret>),
}

#[derive(ApiResponse)]
enum Queued {
    /// Queued; the delivery log shows how it went.
    #[oai(status = 202)]
    Accepted(Json<TestQueued>),
}

fn channel_out(channel: Channel) -> ChannelOut {
    let connector = is_connector(&channel.kind).then(|| ConnectorSettings::of(&channel).into());
    ChannelOut {
        connector,
        id: channel.channel_id,
        kind: channel.kind,
        name: channel.name,
        url_host: channel.url_host,
        emails: channel.emails,
        member_ids: channel.member_ids,
        enabled: channel.enabled,
        failures: channel.failures,
        disabled_reason: channel.disabled_reason,
        previous_secret_until: channel.previous_secret_until,
        created_at: channel.created_at,
    }
}

fn delivery_out(delivery: Delivery) -> DeliveryOut {
    DeliveryOut {
        id: delivery.delivery_id,
        kind: delivery.kind,
        alert_id: delivery.alert_id,
        issue_id: delivery.issue_id,
        ticket_key: delivery.ticket_key,
        ticket_url: delivery.ticket_url,
        payload: delivery.payload,
        status: delivery.status,
        attempts: delivery.attempts,
        next_attempt_at: delivery.next_attempt_at,
        last_status: delivery.last_status,
        last_error: delivery.last_error,
        delivered_at: delivery.delivered_at,
        created_at: delivery.created_at,
    }
}

/// What is audited of a channel (never its URL or secret).
fn audited(channel: &Channel) -> Value {
    json!({
        "name": channel.name, "kind": channel.kind, "url_host": channel.url_host,
        "emails": channel.emails, "member_ids": channel.member_ids, "enabled": channel.enabled,
        "settings": channel.settings,
    })
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::invalid(ProblemKind::InvalidChannel, detail)
}

/// Checks a receiver's URL: absolute, `https` (plain `http` only where private targets are
/// allowed), no credentials, resolving to a public address unless private ones are allowed.
/// Answers the URL and its host.
async fn check_url(state: &AppState, url: &str) -> ApiResult<(String, String)> {
    let parsed = crate::routes::audit::check_receiver_url(url, state.outbound.allows_private())
        .map_err(bad)?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    state
        .outbound
        .check_resolving(&parsed)
        .await
        .map_err(|why| bad(format!("`url`: {why}")))?;
    Ok((parsed.to_string(), host))
}

fn check_emails(emails: &[Text]) -> ApiResult<Vec<String>> {
    let mut clean = emails
        .iter()
        .map(|email| {
            crate::routes::auth::normalize_email(email)
                .map_err(|_| bad(format!("{:?} is not an e-mail address", email.0)))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    clean.sort();
    clean.dedup();
    if clean.len() > MAX_EMAILS {
        return Err(bad(format!("at most {MAX_EMAILS} addresses")));
    }
    Ok(clean)
}

async fn check_members(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    org: OrgId,
    members: &[Uuid],
) -> ApiResult<Vec<Uuid>> {
    let mut members = members.to_vec();
    members.sort();
    members.dedup();
    if members.len() > MAX_MEMBERS {
        return Err(bad(format!("at most {MAX_MEMBERS} members")));
    }
    let found = memberships::emails_of(conn, org, &members).await?;
    if found.len() != members.len() {
        return Err(bad("`member_ids` names someone who is not a member"));
    }
    Ok(members)
}

fn test_payload(channel: &Channel, public_url: &str) -> Value {
    let summary = if is_connector(&channel.kind) {
        format!(
            "A check of the connector {}: the token reads the {} it names; no ticket is made.",
            channel.name,
            if channel.kind == "jira" {
                "Jira project"
            } else {
                "GitHub repository"
            }
        )
    } else {
        format!(
            "This is a test notification from Beacon to the channel {}. Alerts will look like this.",
            channel.name
        )
    };
    json!({
        "type": "test",
        "summary": summary,
        "channel": {"id": channel.channel_id, "name": channel.name},
        "at": Utc::now(),
        "url": format!("{public_url}/orgs/{}/channels", channel.org_id),
    })
}

/// Notification channel operations.
#[derive(Default)]
pub struct ChannelsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Alerts")]
impl ChannelsApi {
    /// The organization's notification channels (never their URLs or secrets).
    #[oai(
        path = "/:org_id/channels",
        method = "get",
        operation_id = "list_channels"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<Vec<ChannelOut>>> {
        let org = scope.org();
        let found = scope
            .run(async |conn| Ok::<_, DbError>(channels::list(conn, org).await?))
            .await?;
        Ok(Json(found.into_iter().map(channel_out).collect()))
    }

    /// Create a channel. Slack, Teams and Discord take their incoming-webhook URL; a webhook
    /// takes its receiver's URL and gets a `whsec_` signing secret, answered this once (each
    /// delivery carries `webhook-id`, `webhook-timestamp` and `webhook-signature`); e-mail
    /// takes addresses and members. URLs must resolve to public addresses. Admins; the
    /// `alerts` plan feature.
    #[oai(
        path = "/:org_id/channels",
        method = "post",
        operation_id = "create_channel"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<ChannelIn>,
        state: Data<&AppState>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<CreatedChannel> {
        scope.entitlements.require(Feature::Alerts)?;
        let org = scope.org();
        let created_by = scope.caller.user().ok().map(|user| user.uuid());
        let name = crate::routes::orgs::clean_name(&body.name)?;
        let kind = body.kind.trim().to_owned();
        if !KINDS.contains(&kind.as_str()) {
            return Err(bad(format!("`kind` is one of {}", KINDS.join(", "))));
        }
        let channel_id = Uuid::now_v7();
        let connector = is_connector(&kind);
        if !connector && (body.token.is_some() || body.connector.is_some()) {
            return Err(bad(format!(
                "a {kind} channel takes no `token` or `connector` (Jira and GitHub connectors do)"
            )));
        }
        let (settings, token) = if connector {
            (
                connectors::check_settings(&kind, body.connector.as_ref())?,
                Some(connectors::check_token(&kind, body.token.as_ref())?),
            )
        } else {
            (json!({}), None)
        };
        let (url, emails) = if kind == "email" {
            if body.url.is_some() {
                return Err(bad(
                    "an e-mail channel takes `emails` and `member_ids`, not `url`",
                ));
            }
            (
                None,
                check_emails(body.emails.as_deref().unwrap_or_default())?,
            )
        } else {
            if body.emails.is_some() || body.member_ids.is_some() {
                return Err(bad(format!("a {kind} channel takes `url`, not recipients")));
            }
            let url = match (body.url.as_deref(), kind.as_str()) {
                (Some(url), _) => url,
                (None, "github") => connectors::GITHUB_API,
                (None, _) => return Err(bad(format!("a {kind} channel needs `url`"))),
            };
            (Some(check_url(&state, url).await?), Vec::new())
        };
        let secret = (kind == "webhook").then(audit_streams::new_secret);
        let key = &state.sealing_key;
        let url_sealed = url
            .as_ref()
            .map(|(url, _)| key.seal(url.as_bytes(), &seal_context(org, channel_id, "url")));
        let secret_sealed = secret
            .as_ref()
            .or(token.as_ref())
            .map(|secret| key.seal(secret.as_bytes(), &seal_context(org, channel_id, "secret")));
        let requested_members = body.member_ids.clone().unwrap_or_default();
        let channel = scope
            .run(async |conn| {
                let members = check_members(conn, org, &requested_members).await?;
                if kind == "email" && members.is_empty() && emails.is_empty() {
                    return Err(bad("an e-mail channel needs `emails` or `member_ids`"));
                }
                let new = NewChannel {
                    channel_id,
                    kind: &kind,
                    name: &name,
                    url_host: url.as_ref().map(|(_, host)| host.as_str()),
                    url_sealed: url_sealed.as_deref(),
                    secret_sealed: secret_sealed.as_deref(),
                    emails: &emails,
                    member_ids: &members,
                    settings: &settings,
                    created_by,
                };
                let channel = channels::create(conn, org, &new).await?;
                let mut changes = Changes::created(audited(&channel));
                if secret.is_some() {
                    changes = changes.secret("secret");
                }
                if token.is_some() {
                    changes = changes.secret("token");
                }
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::ChannelCreated, channel_id).with(changes),
                )
                .await?;
                Ok(channel)
            })
            .await?;
        Ok(CreatedChannel::Created(Json(ChannelWithSecret {
            channel: channel_out(channel),
            secret,
        })))
    }

    /// Change a channel's name, receiver, recipients, or turn it on or off (turning on clears
    /// its failure count). Admins.
    #[oai(
        path = "/:org_id/channels/:channel_id",
        method = "patch",
        operation_id = "update_channel"
    )]
    async fn update(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        channel_id: Path<Uuid>,
        body: Json<ChannelPatch>,
        state: Data<&AppState>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<ChannelOut>> {
        let org = scope.org();
        let name = body
            .name
            .as_deref()
            .map(crate::routes::orgs::clean_name)
            .transpose()?;
        let url = match body.url.as_deref() {
            Some(url) => Some(check_url(&state, url).await?),
            None => None,
        };
        let emails = body.emails.as_deref().map(check_emails).transpose()?;
        let sealed = url.as_ref().map(|(url, _)| {
            state
                .sealing_key
                .seal(url.as_bytes(), &seal_context(org, *channel_id, "url"))
        });
        let requested_members = body.member_ids.clone();
        let enabled = body.enabled;
        let saved = scope
            .run(async |conn| {
                let Some(before) = channels::find(conn, org, *channel_id).await? else {
                    return Err(ApiError::not_found("channel"));
                };
                let connector = is_connector(&before.kind);
                if !connector && (body.token.is_some() || body.connector.is_some()) {
                    return Err(bad(format!(
                        "a {} channel has no `token` or `connector`",
                        before.kind
                    )));
                }
                if connector && url.is_some() && body.token.is_none() {
                    // The token goes where the URL points: a new place takes a new token, so
                    // no admin can send a colleague's token to a server of their own.
                    return Err(bad("a connector's new `url` needs its `token` again"));
                }
                let settings = body
                    .connector
                    .as_ref()
                    .map(|given| connectors::check_settings(&before.kind, Some(given)))
                    .transpose()?;
                let token_sealed = body
                    .token
                    .as_ref()
                    .map(|token| connectors::check_token(&before.kind, Some(token)))
                    .transpose()?
                    .map(|token| {
                        let context = seal_context(org, *channel_id, "secret");
                        state.sealing_key.seal(token.as_bytes(), &context)
                    });
                let is_email = before.kind == "email";
                if is_email && url.is_some() {
                    return Err(bad("an e-mail channel has no `url`"));
                }
                if !is_email && (emails.is_some() || requested_members.is_some()) {
                    return Err(bad(format!("a {} channel has no recipients", before.kind)));
                }
                let members = match &requested_members {
                    Some(members) => Some(check_members(conn, org, members).await?),
                    None => None,
                };
                let changes = ChannelChanges {
                    name: name.as_deref(),
                    url: url
                        .as_ref()
                        .zip(sealed.as_deref())
                        .map(|((_, host), sealed)| (host.as_str(), sealed)),
                    emails: emails.as_deref(),
                    member_ids: members.as_deref(),
                    enabled,
                    settings: settings.as_ref(),
                    token_sealed: token_sealed.as_deref(),
                };
                let Some(saved) = channels::update(conn, org, *channel_id, &changes).await? else {
                    return Err(ApiError::not_found("channel"));
                };
                if is_email && saved.emails.is_empty() && saved.member_ids.is_empty() {
                    return Err(bad("an e-mail channel needs `emails` or `member_ids`"));
                }
                let mut diff = Changes::diff(&audited(&before), &audited(&saved));
                if url.is_some() {
                    diff = diff.secret("url");
                }
                if token_sealed.is_some() {
                    diff = diff.secret("token");
                }
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::ChannelUpdated, *channel_id).with(diff),
                )
                .await?;
                Ok(saved)
            })
            .await?;
        Ok(Json(channel_out(saved)))
    }

    /// Rotate a webhook's signing secret. The new secret is answered this once; the old one
    /// keeps signing beside it (two signatures in `webhook-signature`) for 24 hours, so the
    /// receiver can switch without losing a delivery. Admins.
    #[oai(
        path = "/:org_id/channels/:channel_id/rotate-secret",
        method = "post",
        operation_id = "rotate_channel_secret"
    )]
    async fn rotate_secret(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        channel_id: Path<Uuid>,
        state: Data<&AppState>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<ChannelWithSecret>> {
        let org = scope.org();
        let secret = audit_streams::new_secret();
        let sealed = state
            .sealing_key
            .seal(secret.as_bytes(), &seal_context(org, *channel_id, "secret"));
        let overlap_until = Utc::now() + Duration::hours(ROTATION_OVERLAP_HOURS);
        let saved = scope
            .run(async |conn| {
                let Some(before) = channels::find(conn, org, *channel_id).await? else {
                    return Err(ApiError::not_found("channel"));
                };
                if before.kind != "webhook" {
                    return Err(bad("only webhook channels have a signing secret"));
                }
                let Some(saved) =
                    channels::rotate_secret(conn, org, *channel_id, &sealed, overlap_until).await?
                else {
                    return Err(ApiError::not_found("channel"));
                };
                let changes = Changes::default().secret("secret");
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::ChannelSecretRotated, *channel_id).with(changes),
                )
                .await?;
                Ok(saved)
            })
            .await?;
        Ok(Json(ChannelWithSecret {
            channel: channel_out(saved),
            secret: Some(secret),
        }))
    }

    /// Delete a channel with its delivery log; alerts stop notifying it. Admins.
    #[oai(
        path = "/:org_id/channels/:channel_id",
        method = "delete",
        operation_id = "delete_channel"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        channel_id: Path<Uuid>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<NoContent> {
        let org = scope.org();
        scope
            .run(async |conn| {
                let Some(before) = channels::find(conn, org, *channel_id).await? else {
                    return Err(ApiError::not_found("channel"));
                };
                alerts::forget_channel(conn, org, *channel_id).await?;
                issue_notifications::forget_channel(conn, org, *channel_id).await?;
                channels::delete(conn, org, *channel_id).await?;
                let entry = Entry::new(Action::ChannelDeleted, *channel_id)
                    .with(Changes::deleted(audited(&before)));
                audit::record(conn, org, entry).await?;
                Ok(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Send a test notification through the channel (queued; follow it in the delivery log).
    /// Admins.
    #[oai(
        path = "/:org_id/channels/:channel_id/test",
        method = "post",
        operation_id = "test_channel"
    )]
    async fn test(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        channel_id: Path<Uuid>,
        state: Data<&AppState>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Queued> {
        let org = scope.org();
        let public_url = state.public_url.clone().unwrap_or_default();
        let delivery_id = scope
            .run(async |conn| {
                let Some(channel) = channels::find(conn, org, *channel_id).await? else {
                    return Err(ApiError::not_found("channel"));
                };
                if !channel.enabled {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        "the channel is turned off: turn it on first",
                    ));
                }
                let payload = test_payload(&channel, &public_url);
                let id = deliveries::enqueue(
                    conn,
                    org,
                    *channel_id,
                    Default::default(),
                    "test",
                    &payload,
                )
                .await?;
                audit::record(conn, org, Entry::new(Action::ChannelTested, *channel_id)).await?;
                Ok(id)
            })
            .await?;
        Ok(Queued::Accepted(Json(TestQueued { delivery_id })))
    }

    /// The channel's deliveries, newest first (at most `limit`, default 50, up to 200).
    /// Admins.
    #[oai(
        path = "/:org_id/channels/:channel_id/deliveries",
        method = "get",
        operation_id = "list_channel_deliveries"
    )]
    async fn deliveries(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        channel_id: Path<Uuid>,
        limit: Query<Option<i64>>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<Vec<DeliveryOut>>> {
        let org = scope.org();
        let limit = tenant::tables::page_size(*limit);
        let found = scope
            .run(async |conn| {
                if channels::find(conn, org, *channel_id).await?.is_none() {
                    return Err(ApiError::not_found("channel"));
                }
                Ok(deliveries::log(conn, org, *channel_id, limit).await?)
            })
            .await?;
        Ok(Json(found.into_iter().map(delivery_out).collect()))
    }
}
