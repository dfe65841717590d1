//! `notification_channels`: where an organization's notifications go. A chat webhook's URL is
//! its credential and a webhook's signing secret is a secret, so both are stored sealed
//! ([`crate::sealed`], bound to the channel) and only the receiver's host is ever shown.
//!
//! Jira and GitHub Issues connectors are channels too (kinds `jira` and `github`), so they share
//! the outbox, retries, delivery log and auto-disable: their site or API URL is the channel's
//! URL, their API token is sealed where a webhook keeps its signing secret, and what is not
//! secret (project key, repository, labels…) is in `settings`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::OrgId;
use crate::schema::notification_channels as channels;

/// A channel.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = channels)]
pub struct Channel {
    /// Organization.
    pub org_id: Uuid,
    /// Id.
    pub channel_id: Uuid,
    /// `email`, `slack`, `teams`, `discord`, `webhook`, `jira` or `github`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// The receiver's host (shown instead of the URL).
    pub url_host: Option<String>,
    /// The receiver's URL, sealed.
    pub url_sealed: Option<Vec<u8>>,
    /// A webhook's signing secret (`whsec_…`) or a connector's API token, sealed.
    pub secret_sealed: Option<Vec<u8>>,
    /// The secret before the last rotation, sealed; deliveries are signed with both until
    /// `previous_secret_until`.
    pub previous_secret_sealed: Option<Vec<u8>>,
    /// End of the rotation's overlap.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// E-mail addresses (e-mail channels).
    pub emails: Vec<String>,
    /// Members whose addresses are used (e-mail channels); members who left are skipped.
    pub member_ids: Vec<Uuid>,
    /// Delivering.
    pub enabled: bool,
    /// Deliveries that failed for good in a row.
    pub failures: i32,
    /// Why it was turned off.
    pub disabled_reason: Option<String>,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// A connector's settings that are not secret (an object; `{}` for other kinds).
    pub settings: serde_json::Value,
}

/// Whether channels of `kind` make tickets (Jira, GitHub Issues) rather than send messages.
pub fn is_connector(kind: &str) -> bool {
    matches!(kind, "jira" | "github")
}

/// The sealing context of a channel's URL or secret: a sealed value copied to another channel
/// or organization does not open there.
pub fn seal_context(org: OrgId, channel: Uuid, what: &str) -> String {
    format!("channel:{what}:{}:{channel}", org.uuid())
}

/// A new channel.
#[derive(Debug, Clone)]
pub struct NewChannel<'a> {
    /// Id (the sealing context names it, so the caller picks it).
    pub channel_id: Uuid,
    /// Kind.
    pub kind: &'a str,
    /// Name.
    pub name: &'a str,
    /// Receiver's host.
    pub url_host: Option<&'a str>,
    /// Sealed URL.
    pub url_sealed: Option<&'a [u8]>,
    /// Sealed signing secret.
    pub secret_sealed: Option<&'a [u8]>,
    /// Addresses.
    pub emails: &'a [String],
    /// Members.
    pub member_ids: &'a [Uuid],
    /// A connector's settings (`{}` for other kinds).
    pub settings: &'a serde_json::Value,
    /// Creator.
    pub created_by: Option<Uuid>,
}

/// Creates a channel.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    new: &NewChannel<'_>,
) -> QueryResult<Channel> {
    diesel::insert_into(channels::table)
        .values((
            channels::org_id.eq(org),
            channels::channel_id.eq(new.channel_id),
            channels::kind.eq(new.kind),
            channels::name.eq(new.name),
            channels::url_host.eq(new.url_host),
            channels::url_sealed.eq(new.url_sealed),
            channels::secret_sealed.eq(new.secret_sealed),
            channels::emails.eq(new.emails),
            channels::member_ids.eq(new.member_ids),
            channels::settings.eq(new.settings),
            channels::created_by.eq(new.created_by),
        ))
        .returning(Channel::as_returning())
        .get_result(conn)
        .await
}

/// The organization's channels, oldest first.
pub async fn list(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Vec<Channel>> {
    channels::table
        .filter(channels::org_id.eq(org))
        .order(channels::channel_id.asc())
        .select(Channel::as_select())
        .load(conn)
        .await
}

/// One channel.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channel: Uuid,
) -> QueryResult<Option<Channel>> {
    channels::table
        .find((org, channel))
        .select(Channel::as_select())
        .first(conn)
        .await
        .optional()
}

/// How many of `ids` are channels of the organization.
pub async fn count_existing(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    ids: &[Uuid],
) -> QueryResult<i64> {
    channels::table
        .filter(channels::org_id.eq(org))
        .filter(channels::channel_id.eq_any(ids))
        .count()
        .get_result(conn)
        .await
}

/// What an edit changes; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct ChannelChanges<'a> {
    /// Name.
    pub name: Option<&'a str>,
    /// New receiver: host and sealed URL.
    pub url: Option<(&'a str, &'a [u8])>,
    /// Addresses.
    pub emails: Option<&'a [String]>,
    /// Members.
    pub member_ids: Option<&'a [Uuid]>,
    /// Turn on (clears the failure count and reason) or off.
    pub enabled: Option<bool>,
    /// A connector's settings.
    pub settings: Option<&'a serde_json::Value>,
    /// A connector's new API token, sealed.
    pub token_sealed: Option<&'a [u8]>,
}

/// Applies `changes`; the row after, if the channel exists.
pub async fn update(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channel: Uuid,
    changes: &ChannelChanges<'_>,
) -> QueryResult<Option<Channel>> {
    let Some(current) = find(conn, org, channel).await? else {
        return Ok(None);
    };
    let (host, sealed) = match changes.url {
        Some((host, sealed)) => (Some(host.to_owned()), Some(sealed.to_vec())),
        None => (current.url_host.clone(), current.url_sealed.clone()),
    };
    let enabled = changes.enabled.unwrap_or(current.enabled);
    let turned_on = enabled && !current.enabled;
    diesel::update(channels::table.find((org, channel)))
        .set((
            channels::name.eq(changes.name.unwrap_or(&current.name)),
            channels::url_host.eq(host),
            channels::url_sealed.eq(sealed),
            channels::emails.eq(changes.emails.unwrap_or(&current.emails)),
            channels::member_ids.eq(changes.member_ids.unwrap_or(&current.member_ids)),
            channels::enabled.eq(enabled),
            channels::settings.eq(changes.settings.unwrap_or(&current.settings)),
            channels::secret_sealed.eq(changes.token_sealed.or(current.secret_sealed.as_deref())),
            channels::failures.eq(if turned_on { 0 } else { current.failures }),
            channels::disabled_reason.eq(if enabled {
                None
            } else {
                current.disabled_reason.clone()
            }),
            channels::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Channel::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Replaces a webhook's signing secret; the old one keeps signing (a second signature) until
/// `overlap_until`, so receivers can switch without losing a delivery.
pub async fn rotate_secret(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channel: Uuid,
    sealed: &[u8],
    overlap_until: DateTime<Utc>,
) -> QueryResult<Option<Channel>> {
    diesel::update(channels::table.find((org, channel)))
        .filter(channels::kind.eq("webhook"))
        .set((
            channels::previous_secret_sealed.eq(channels::secret_sealed),
            channels::previous_secret_until.eq(overlap_until),
            channels::secret_sealed.eq(sealed),
            channels::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Channel::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Deletes a channel (its delivery log goes with it); whether it existed.
pub async fn delete(conn: &mut AsyncPgConnection, org: OrgId, channel: Uuid) -> QueryResult<bool> {
    diesel::delete(channels::table.find((org, channel)))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Counts a delivery that failed for good, or a success (which clears the count). A failure
/// with `disable` (persistent failure, 410 Gone) turns the channel off with `reason`;
/// answers whether this call turned it off.
pub async fn record_outcome(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channel: Uuid,
    failed: bool,
    disable: Option<&str>,
) -> QueryResult<bool> {
    let row = channels::table.find((org, channel));
    if !failed {
        diesel::update(row)
            .set(channels::failures.eq(0))
            .execute(conn)
            .await?;
        return Ok(false);
    }
    let reason = disable.map(|reason| {
        reason
            .chars()
            .filter(|c| !c.is_control())
            .take(500)
            .collect::<String>()
    });
    match reason {
        Some(reason) => diesel::update(row.filter(channels::enabled.eq(true)))
            .set((
                channels::failures.eq(channels::failures + 1),
                channels::enabled.eq(false),
                channels::disabled_reason.eq(reason),
                channels::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await
            .map(|n| n > 0),
        None => diesel::update(row)
            .set(channels::failures.eq(channels::failures + 1))
            .execute(conn)
            .await
            .map(|_| false),
    }
}

/// A connector's settings that are not secret (`settings` of a `jira` or `github` channel).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ConnectorSettings {
    /// Jira: the Atlassian account the API token belongs to (Basic auth's user).
    pub account_email: Option<String>,
    /// Jira: the project key tickets go to (`OPS`).
    pub project_key: Option<String>,
    /// Jira: the issue type (`Bug`, `Task`).
    pub issue_type: Option<String>,
    /// GitHub: `owner/repository`.
    pub repository: Option<String>,
    /// Labels put on every ticket.
    pub labels: Vec<String>,
    /// Comment on the ticket when the issue is resolved in Beacon.
    pub comment_on_resolve: bool,
}

impl ConnectorSettings {
    /// The settings of `channel` (defaults where the stored object lacks a field).
    pub fn of(channel: &Channel) -> Self {
        serde_json::from_value(channel.settings.clone()).unwrap_or_default()
    }
}
