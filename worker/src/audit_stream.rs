//! Delivering audit records to each organization's stream (an HTTPS endpoint its owner set
//! up): in order, at least once, signed with the Standard Webhooks scheme.
//!
//! A loop in every worker process looks for due streams every few seconds. Each stream is
//! delivered under its row lock (`FOR UPDATE SKIP LOCKED`), so two workers never send the
//! same records; `delivered_seq` moves only past records the receiver acknowledged with a
//! 2xx. A failure is retried on the Standard Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h,
//! 10 h, 10 h); after that (about a day and a half of failures), or at once on 410 Gone, the
//! stream is turned off and the turning off is itself an audit record. Records are sent in
//! batches of up to [`BATCH`]; the message id (`webhook-id`) names the organization and the
//! batch's first and last sequence numbers, so a receiver can drop a redelivery.

use crate::outbound::Outbound;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::tables::audit_log::{self, Filter};
use tenant::tables::audit_streams::{self, Attempt, Stream};
use tenant::{Actor, Db, DbError, OrgId};

/// Most records in one delivery.
pub const BATCH: i64 = 100;
/// How often the loop looks for due streams.
pub const POLL_EVERY: Duration = Duration::from_secs(5);
/// Time allowed for a receiver to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Waits after the 1st, 2nd, … failure in a row; one more failure turns the stream off.
pub const RETRY_SCHEDULE: [i64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// The Standard Webhooks signature of `body`: `v1,<base64 HMAC-SHA256>` over
/// `{id}.{timestamp}.{body}` with the secret's bytes (the base64 after `whsec_`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_")?)
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Delivers every due stream once; answers how many streams were attempted.
pub async fn deliver_due(
    db: &Db,
    sweeper: &Db,
    client: &Outbound,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let due = sweeper
        .unscoped(async |conn| Ok::<_, DbError>(audit_streams::due(conn, now).await?))
        .await?;
    let mut attempted = 0;
    for org in due {
        match deliver(db, client, org, now).await {
            Ok(true) => attempted += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(org_id = %org, error = %format!("{error:#}"), "audit stream delivery failed");
            }
        }
    }
    Ok(attempted)
}

/// One delivery for `org`: the next batch after what was acknowledged, sent under the stream's
/// row lock. Answers whether anything was sent.
pub async fn deliver(
    db: &Db,
    client: &Outbound,
    org: OrgId,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let actor = Actor::System("audit_stream");
    db.scoped_as(org, &actor, async |conn| {
        let Some(stream) = audit_streams::get(conn, org, true).await? else {
            return Ok(false);
        };
        if !stream.enabled || stream.next_attempt_at > now {
            return Ok(false);
        }
        let records =
            audit_log::ascending(conn, org, &Filter::default(), stream.delivered_seq, BATCH)
                .await?;
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Ok(false);
        };
        let id = format!("audit_{}_{}_{}", org.uuid().simple(), first.seq, last.seq);
        let body = json!({
            "type": "audit.records",
            "timestamp": now,
            "data": {
                "org_id": org,
                "records": records.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
            },
        })
        .to_string();
        let last_seq = last.seq;
        let attempt = send(client, &stream, &id, &body, now, last_seq).await;
        audit_streams::record_attempt(conn, org, &attempt).await?;
        if attempt.disable {
            let changes = Changes::default()
                .set("enabled", json!(true), json!(false))
                .set("last_error", json!(null), json!(attempt.error));
            audit::record(
                conn,
                org,
                Entry::new(Action::AuditStreamDisabled, org).with(changes),
            )
            .await?;
        }
        Ok::<_, anyhow::Error>(true)
    })
    .await
}

async fn send(
    client: &Outbound,
    stream: &Stream,
    id: &str,
    body: &str,
    now: DateTime<Utc>,
    last_seq: i64,
) -> Attempt {
    let timestamp = now.timestamp();
    let failed = |status: Option<u16>, error: String, gone: bool| {
        let failures = usize::try_from(stream.failures).unwrap_or(0);
        let wait = RETRY_SCHEDULE.get(failures).copied();
        Attempt {
            at: now,
            status: status.map(i32::from),
            delivered_seq: None,
            error: Some(error.chars().take(500).collect()),
            retry_at: now + chrono::Duration::seconds(wait.unwrap_or(0)),
            disable: gone || wait.is_none(),
        }
    };
    let Some(signature) = sign(&stream.secret, id, timestamp, body) else {
        return failed(
            None,
            "the stream's secret is not a whsec_ secret".into(),
            true,
        );
    };
    let target = match reqwest::Url::parse(&stream.url) {
        Ok(url) => url,
        Err(_) => return failed(None, "the stream's URL is not a URL".into(), true),
    };
    if let Err(why) = client.check(&target) {
        return failed(None, why, false);
    }
    let response = client
        .http()
        .post(target)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_owned())
        .send()
        .await;
    match response {
        Ok(response) if response.status().is_success() => Attempt {
            at: now,
            status: Some(i32::from(response.status().as_u16())),
            delivered_seq: Some(last_seq),
            error: None,
            retry_at: now,
            disable: false,
        },
        Ok(response) => {
            let status = response.status();
            failed(
                Some(status.as_u16()),
                format!("the receiver answered {status}"),
                status == reqwest::StatusCode::GONE,
            )
        }
        Err(error) => failed(None, crate::outbound::describe(&error), false),
    }
}

/// Delivers due streams every [`POLL_EVERY`] until the process ends (spawned by the workers).
pub async fn run(db: Db, sweeper: Db, client: Outbound, clock: tenant::Clock) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    loop {
        tick.tick().await;
        if let Err(error) = deliver_due(&db, &sweeper, &client, clock.now()).await {
            tracing::warn!(error = %format!("{error:#}"), "looking for due audit streams failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification (its reference libraries' tests).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("not-a-secret", id, 1, body), None);
    }
}
