//! The audit log: list with filters, verify the hash chain, export (CSV or JSON Lines) and the
//! stream to an HTTPS endpoint. Owners and admins only; the `audit_log` plan feature when
//! billing is configured. How records are written and chained: `tenant::audit`.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use poem::Body;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::json;
use tenant::audit::chain::{self, Verification};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::audit_log::{self, Filter, Record};
use tenant::tables::audit_streams;
use tenant::{DbError, OrgId};
use uuid::Uuid;

use billing::Feature;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::NoContent;
use crate::routes::text::Text;
use crate::scope::{Admin, OrgScope, Owner};
use crate::state::AppState;

/// Who made a change.
#[derive(Debug, Object)]
pub struct AuditActorOut {
    /// `user`, `api_key`, `scim_token`, `system` or `operator`.
    pub kind: String,
    /// The user's, key's or token's id, or the job's name.
    pub id: String,
}

/// One audit record.
#[derive(Debug, Object)]
pub struct AuditRecordOut {
    /// Position in the organization's chain, from 1 (the list's cursor too).
    pub seq: i64,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who acted.
    pub actor: AuditActorOut,
    /// Stable dotted action name, such as `api_key.created`.
    pub action: String,
    /// Type of the target (`api_key`, `project`, …).
    pub target_type: String,
    /// Id of the target.
    pub target_id: Option<String>,
    /// Changed fields: `{"field": {"before": …, "after": …}}`; secrets only as
    /// `{"changed": true}`.
    pub changes: serde_json::Value,
    /// Request id (`X-Request-Id`) of the change.
    pub request_id: Option<String>,
    /// Client IP of the request.
    pub client_ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// SHA-256 of the previous record (hex).
    pub prev_hash: String,
    /// SHA-256 of this record's content and `prev_hash` (hex).
    pub hash: String,
}

fn record_out(record: Record) -> AuditRecordOut {
    let (kind, id) = record.actor_parts();
    let actor = AuditActorOut {
        kind: kind.to_owned(),
        id: id.to_owned(),
    };
    AuditRecordOut {
        seq: record.seq,
        recorded_at: record.recorded_at,
        actor,
        action: record.action,
        target_type: record.target_type,
        target_id: record.target_id,
        changes: record.changes,
        request_id: record.request_id,
        client_ip: record.client_ip,
        user_agent: record.user_agent,
        prev_hash: hex::encode(&record.prev_hash),
        hash: hex::encode(&record.hash),
    }
}

/// A page of audit records, newest first.
#[derive(Debug, Object)]
pub struct AuditPage {
    /// The records of this page.
    pub items: Vec<AuditRecordOut>,
    /// Cursor of the next (older) page, if any.
    pub next_cursor: Option<String>,
}

/// Where the chain breaks.
#[derive(Debug, Object)]
pub struct AuditBreakOut {
    /// Sequence number of the first broken link.
    pub seq: i64,
    /// `content_altered`, `link_broken`, `record_missing`, `tail_missing` or
    /// `checkpoint_forged`.
    pub fault: String,
}

/// The outcome of checking the chain.
#[derive(Debug, Object)]
pub struct AuditVerificationOut {
    /// Whether every record checked is intact and nothing is missing.
    pub intact: bool,
    /// Records checked.
    pub checked: i64,
    /// First record checked.
    pub first_seq: Option<i64>,
    /// Last record checked.
    pub last_seq: Option<i64>,
    /// The retention checkpoint the chain was checked from, if any.
    pub checkpoint_seq: Option<i64>,
    /// Whether the checkpoint's signature was checked (it needs `BEACON_AUDIT_KEY`).
    pub checkpoint_signature_checked: bool,
    /// The first broken link, when not intact.
    pub broken: Option<AuditBreakOut>,
}

/// A verification as the API and `beacon audit verify` show it.
pub fn verification_out(v: Verification) -> AuditVerificationOut {
    AuditVerificationOut {
        intact: v.intact(),
        checked: v.checked,
        first_seq: v.first_seq,
        last_seq: v.last_seq,
        checkpoint_seq: v.checkpoint_seq,
        checkpoint_signature_checked: v.checkpoint_signature_checked,
        broken: v.broken.map(|b| AuditBreakOut {
            seq: b.seq,
            fault: serde_json::to_value(b.fault)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        }),
    }
}

/// Export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Comma-separated values, one record per row (changes as JSON).
    Csv,
    /// JSON Lines: one record per line, as the list answers them.
    Jsonl,
}

/// An export file, streamed.
#[derive(ApiResponse)]
pub enum ExportResponse {
    /// CSV: a header row, then one record per row, oldest first.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>, #[oai(header = "Content-Disposition")] String),
    /// JSON Lines: one record per line, oldest first.
    #[oai(status = 200, content_type = "application/jsonl")]
    JsonLines(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

/// The audit stream's settings.
#[derive(Debug, Object)]
pub struct AuditStreamIn {
    /// The receiver, `https://…` (records are POSTed as JSON, signed with Standard Webhooks
    /// headers).
    #[oai(validator(max_length = 2000))]
    pub url: Text,
    /// Deliver (default true); re-enabling a stream turned off after failures retries at once.
    pub enabled: Option<bool>,
    /// Replace the signing secret (the new one is answered once).
    pub rotate_secret: Option<bool>,
}

/// The audit stream and its delivery status.
#[derive(Debug, Object)]
pub struct AuditStreamOut {
    /// The receiver.
    pub url: String,
    /// Delivering.
    pub enabled: bool,
    /// The signing secret (`whsec_…`): answered only when created or rotated.
    pub secret: Option<String>,
    /// Records up to this sequence number were acknowledged.
    pub delivered_seq: i64,
    /// The chain's newest record (records after `delivered_seq` are pending).
    pub head_seq: i64,
    /// Failed attempts in a row.
    pub failures: i32,
    /// Last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Last acknowledged delivery.
    pub last_success_at: Option<DateTime<Utc>>,
    /// HTTP status of the last attempt.
    pub last_status: Option<i32>,
    /// What went wrong in the last attempt.
    pub last_error: Option<String>,
    /// The next attempt is not made before this.
    pub next_attempt_at: DateTime<Utc>,
}

/// The audit stream, if one is set up.
#[derive(Debug, Object)]
pub struct AuditStreamStatus {
    /// The stream and its delivery status; null when none is set up.
    pub stream: Option<AuditStreamOut>,
}

fn stream_out(stream: audit_streams::Stream, head_seq: i64, show_secret: bool) -> AuditStreamOut {
    AuditStreamOut {
        url: stream.url,
        enabled: stream.enabled,
        secret: show_secret.then_some(stream.secret),
        delivered_seq: stream.delivered_seq,
        head_seq,
        failures: stream.failures,
        last_attempt_at: stream.last_attempt_at,
        last_success_at: stream.last_success_at,
        last_status: stream.last_status,
        last_error: stream.last_error,
        next_attempt_at: stream.next_attempt_at,
    }
}

/// The filters of the list and the export, checked.
#[allow(clippy::too_many_arguments)]
fn filter(
    actor: Option<String>,
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> ApiResult<Filter> {
    for (name, value) in [
        ("actor", &actor),
        ("action", &action),
        ("target_type", &target_type),
        ("target_id", &target_id),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.len() > 2000 || v.contains('\0'))
        {
            return Err(ApiError::bad_request(
                ProblemKind::InvalidRequest,
                format!("`{name}` is too long or holds a NUL character"),
            ));
        }
    }
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::bad_request(
            ProblemKind::InvalidRequest,
            "`from` must not be after `to`",
        ));
    }
    let nonempty = |v: Option<String>| v.filter(|v| !v.is_empty());
    Ok(Filter {
        actor: nonempty(actor),
        action: nonempty(action),
        target_type: nonempty(target_type),
        target_id: nonempty(target_id),
        from,
        to,
    })
}

fn parse_seq_cursor(cursor: Option<&str>) -> ApiResult<Option<i64>> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<i64>().ok().filter(|seq| *seq > 0).ok_or_else(|| {
                ApiError::bad_request(ProblemKind::InvalidCursor, "the cursor is not valid")
            })
        })
        .transpose()
}

/// Checks a receiver's URL that Beacon will POST to (an audit stream, a notification
/// channel): absolute, `https` (plain `http` too when `plain_http`), with a host and no
/// credentials in it. Answers the URL, or why not (to be answered with the caller's kind).
pub(crate) fn check_receiver_url(url: &str, plain_http: bool) -> Result<url::Url, &'static str> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| "`url` is not a URL")?;
    if parsed.scheme() != "https" && !(plain_http && parsed.scheme() == "http") {
        return Err("`url` must use https");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("`url` must name a host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("`url` must not hold a user name or password (deliveries are signed)");
    }
    Ok(parsed)
}

/// Checks an audit stream's URL ([`check_receiver_url`], https only).
fn check_stream_url(url: &str) -> ApiResult<String> {
    check_receiver_url(url, false)
        .map(|url| url.to_string())
        .map_err(|why| ApiError::invalid(ProblemKind::InvalidValue, why))
}

/// Records read per database round trip while exporting.
const EXPORT_BATCH: i64 = 1_000;

/// Audit log operations.
#[derive(Default)]
pub struct AuditApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Audit")]
impl AuditApi {
    /// The organization's audit records, newest first, with filters: `actor` (`user:<id>`,
    /// `api_key:<id>`, …), `action` (`api_key.created`, or `api_key.` for every action on keys),
    /// `target_type`, `target_id`, and a time range `from` (inclusive) to `to` (exclusive).
    /// Owners and admins.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/:org_id/audit-log",
        method = "get",
        operation_id = "list_audit_log"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        actor: Query<Option<String>>,
        action: Query<Option<String>>,
        target_type: Query<Option<String>>,
        target_id: Query<Option<String>>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<i64>>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<AuditPage>> {
        scope.entitlements.require(Feature::AuditLog)?;
        let org = scope.org();
        let filter = filter(actor.0, action.0, target_type.0, target_id.0, from.0, to.0)?;
        let before = parse_seq_cursor(cursor.as_deref())?;
        let page = tenant::tables::page_size(*limit);
        let mut rows = scope
            .run(async |conn| {
                Ok::<_, DbError>(audit_log::list(conn, org, &filter, before, page + 1).await?)
            })
            .await?;
        let more = rows.len() as i64 > page;
        rows.truncate(usize::try_from(page).unwrap_or(50));
        let next_cursor = more
            .then(|| rows.last().map(|r| r.seq.to_string()))
            .flatten();
        Ok(Json(AuditPage {
            items: rows.into_iter().map(record_out).collect(),
            next_cursor,
        }))
    }

    /// Checks the organization's hash chain from its newest checkpoint (or its first record)
    /// to its newest record, and reports the first broken link. Owners and admins.
    #[oai(
        path = "/:org_id/audit-log/verify",
        method = "get",
        operation_id = "verify_audit_log"
    )]
    async fn verify(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<AuditVerificationOut>> {
        scope.entitlements.require(Feature::AuditLog)?;
        let org = scope.org();
        let key = state.audit_key.clone();
        let verification = scope
            .run(async |conn| Ok::<_, DbError>(chain::verify(conn, org, key.as_ref()).await?))
            .await?;
        Ok(Json(verification_out(verification)))
    }

    /// Exports the records of a time range (`from` inclusive, `to` exclusive; default all),
    /// oldest first, as CSV or JSON Lines, streamed; the export itself is recorded. Owners and
    /// admins.
    #[oai(
        path = "/:org_id/audit-log/export",
        method = "get",
        operation_id = "export_audit_log"
    )]
    async fn export(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        format: Query<ExportFormat>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<ExportResponse> {
        scope.entitlements.require(Feature::AuditLog)?;
        let org = scope.org();
        let filter = filter(None, None, None, None, from.0, to.0)?;
        let format = format.0;
        // Recorded before the file is read, so the export shows in what it exports (when in
        // range) and an interrupted download is still on record.
        let upto = scope
            .run(async |conn| {
                let changes = Changes::default()
                    .set("format", json!(null), json!(format_name(format)))
                    .set("from", json!(null), json!(filter.from))
                    .set("to", json!(null), json!(filter.to));
                let entry = Entry::new(Action::AuditLogExported, org).with(changes);
                Ok::<_, DbError>(audit::record(conn, org, entry).await?)
            })
            .await?;
        let body = Binary(export_body(state.0.clone(), org, filter, format, upto));
        let disposition =
            |extension: &str| format!("attachment; filename=\"audit-log-{org}.{extension}\"");
        Ok(match format {
            ExportFormat::Csv => ExportResponse::Csv(body, disposition("csv")),
            ExportFormat::Jsonl => ExportResponse::JsonLines(body, disposition("jsonl")),
        })
    }

    /// The audit stream's settings and delivery status (`stream` is null when none is set
    /// up). Owners.
    #[oai(
        path = "/:org_id/audit-log/stream",
        method = "get",
        operation_id = "get_audit_stream"
    )]
    async fn get_stream(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<AuditStreamStatus>> {
        scope.entitlements.require(Feature::AuditLog)?;
        let org = scope.org();
        let (stream, head) = scope
            .run(async |conn| {
                let stream = audit_streams::get(conn, org, false).await?;
                let head = audit_log::head(conn, org).await?.map_or(0, |h| h.seq);
                Ok::<_, DbError>((stream, head))
            })
            .await?;
        Ok(Json(AuditStreamStatus {
            stream: stream.map(|stream| stream_out(stream, head, false)),
        }))
    }

    /// Sets up or changes the audit stream: every record is POSTed, in order and at least
    /// once, to `url` as JSON (`{"records": […]}`), signed with Standard Webhooks headers
    /// (`webhook-id`, `webhook-timestamp`, `webhook-signature`) under the `whsec_` secret
    /// answered when the stream is created or its secret rotated. Failed deliveries are retried
    /// with backoff; after a day of failures, or an answer of 410, the stream is turned off.
    /// A new stream starts with the records written after it. Owners.
    #[oai(
        path = "/:org_id/audit-log/stream",
        method = "put",
        operation_id = "put_audit_stream"
    )]
    async fn put_stream(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<AuditStreamIn>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<AuditStreamOut>> {
        scope.entitlements.require(Feature::AuditLog)?;
        let org = scope.org();
        let url = check_stream_url(&body.url)?;
        let enabled = body.enabled.unwrap_or(true);
        let rotate = body.rotate_secret.unwrap_or(false);
        let (stream, head, show_secret) = scope
            .run(async |conn| {
                let before = audit_streams::get(conn, org, false).await?;
                let head = audit_log::head(conn, org).await?.map_or(0, |h| h.seq);
                let secret = audit_streams::new_secret();
                let mut stream = audit_streams::upsert(conn, org, &url, enabled, &secret, head).await?;
                let show_secret = before.is_none() || rotate;
                if rotate && before.is_some() {
                    audit_streams::set_secret(conn, org, &secret).await?;
                    stream.secret = secret;
                }
                let field = |s: Option<&audit_streams::Stream>| {
                    json!({"url": s.map(|s| &s.url), "enabled": s.map(|s| s.enabled)})
                };
                let mut changes = Changes::diff(&field(before.as_ref()), &field(Some(&stream)));
                if show_secret {
                    changes = changes.secret("secret");
                }
                let entry = Entry::new(Action::AuditStreamConfigured, org).with(changes);
                // Recorded after the stream starts, so the change itself is streamed.
                audit::record(conn, org, entry).await?;
                Ok::<_, DbError>((stream, head + 1, show_secret))
            })
            .await?;
        Ok(Json(stream_out(stream, head, show_secret)))
    }

    /// Removes the audit stream (records already delivered stay where they went). Owners.
    #[oai(
        path = "/:org_id/audit-log/stream",
        method = "delete",
        operation_id = "delete_audit_stream"
    )]
    async fn delete_stream(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<NoContent> {
        scope.entitlements.require(Feature::AuditLog)?;
        let org = scope.org();
        let deleted = scope
            .run(async |conn| {
                let deleted = audit_streams::delete(conn, org).await?;
                if deleted {
                    audit::record(conn, org, Entry::new(Action::AuditStreamDeleted, org)).await?;
                }
                Ok::<_, DbError>(deleted)
            })
            .await?;
        if !deleted {
            return Err(ApiError::not_found("audit stream"));
        }
        Ok(NoContent::NoContent)
    }
}

fn format_name(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Csv => "csv",
        ExportFormat::Jsonl => "jsonl",
    }
}

/// The CSV header row.
const CSV_HEADER: &str = "seq,recorded_at,actor,action,target_type,target_id,changes,request_id,client_ip,user_agent,prev_hash,hash\n";

fn csv_row(record: &Record) -> String {
    let fields = [
        record.seq.to_string(),
        record
            .recorded_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        record.actor.clone(),
        record.action.clone(),
        record.target_type.clone(),
        record.target_id.clone().unwrap_or_default(),
        record.changes.to_string(),
        record.request_id.clone().unwrap_or_default(),
        record.client_ip.clone().unwrap_or_default(),
        record.user_agent.clone().unwrap_or_default(),
        hex::encode(&record.prev_hash),
        hex::encode(&record.hash),
    ];
    let mut row = fields
        .iter()
        .map(|f| tenant::csv::field(f))
        .collect::<Vec<_>>()
        .join(",");
    row.push('\n');
    row
}

/// The export's body: [`EXPORT_BATCH`] records per read (each read its own scoped transaction,
/// so memory stays constant and no transaction is held while the client downloads), up to the
/// record `upto` (the export's own).
fn export_body(
    state: AppState,
    org: OrgId,
    filter: Filter,
    format: ExportFormat,
    upto: i64,
) -> Body {
    struct Cursor {
        state: AppState,
        after: i64,
        pending: VecDeque<String>,
        done: bool,
    }
    let mut first = VecDeque::new();
    if format == ExportFormat::Csv {
        first.push_back(CSV_HEADER.to_owned());
    }
    let start = Cursor {
        state,
        after: 0,
        pending: first,
        done: false,
    };
    let stream = futures::stream::unfold(start, move |mut cursor| {
        let filter = filter.clone();
        async move {
            loop {
                if let Some(chunk) = cursor.pending.pop_front() {
                    return Some((Ok::<_, std::io::Error>(chunk.into_bytes()), cursor));
                }
                if cursor.done {
                    return None;
                }
                let after = cursor.after;
                let batch = cursor
                    .state
                    .db
                    .scoped(org, async |conn| {
                        Ok::<_, DbError>(
                            audit_log::ascending(conn, org, &filter, after, EXPORT_BATCH).await?,
                        )
                    })
                    .await;
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(error) => {
                        tracing::error!(%error, "audit export: reading records failed");
                        return Some((
                            Err(std::io::Error::other("reading records failed")),
                            cursor,
                        ));
                    }
                };
                cursor.done = (batch.len() as i64) < EXPORT_BATCH;
                let mut chunk = String::new();
                for record in batch.iter().filter(|r| r.seq <= upto) {
                    match format {
                        ExportFormat::Csv => chunk.push_str(&csv_row(record)),
                        ExportFormat::Jsonl => {
                            chunk.push_str(&record.to_json().to_string());
                            chunk.push('\n');
                        }
                    }
                }
                if let Some(last) = batch.last() {
                    cursor.after = last.seq;
                    cursor.done |= last.seq >= upto;
                }
                if !chunk.is_empty() {
                    cursor.pending.push_back(chunk);
                }
            }
        }
    });
    Body::from_bytes_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_must_be_https_without_credentials() {
        assert!(check_stream_url("https://siem.example/ingest").is_ok());
        assert!(check_stream_url("http://siem.example/ingest").is_err());
        assert!(check_stream_url("https://user:pw@siem.example/").is_err());
        assert!(check_stream_url("not a url").is_err());
    }
}
