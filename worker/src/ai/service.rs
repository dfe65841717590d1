//! Asking for an answer: the organization's switch, its monthly token budget, the cache, the
//! call, and the count of what it cost, in that order, for the dashboard (streamed) and the
//! report e-mails (whole).
//!
//! Nothing is sent for an organization whose owner has not switched AI insights on, and
//! nothing past its budget. An answer already given for the same input (same model, same
//! prompt) is served from the cache and costs nothing. The tokens of every answer are counted
//! once the answer is complete, whether or not the reader is still there.

use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;
use tenant::tables::ai::{self, Answer};
use tenant::{Db, DbError, OrgId};

use super::client::{Ai, AiError, Piece, estimate_tokens};
use super::facts::{Fact, unsupported_figures};
use super::prompts::Prepared;

/// Why there is no AI answer.
#[derive(Debug, thiserror::Error)]
pub enum Unanswered {
    /// No endpoint is configured for the installation.
    #[error("no AI endpoint is configured for this installation (BEACON_AI_BASE_URL)")]
    NotConfigured,
    /// The organization's owner has not switched AI insights on.
    #[error(
        "AI insights are off for this organization: an owner can switch them on in the organization's settings"
    )]
    Disabled,
    /// The month's budget is spent.
    #[error(
        "this organization used {used} of its {budget} AI tokens this month; the budget renews on {renews}"
    )]
    OverBudget {
        /// Tokens used this month.
        used: i64,
        /// The monthly budget.
        budget: i64,
        /// The first day of next month.
        renews: NaiveDate,
    },
    /// The endpoint gave no answer.
    #[error(transparent)]
    Endpoint(#[from] AiError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for Unanswered {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(error.into())
    }
}

/// Who wrote an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    /// The installation's AI endpoint.
    Ai {
        /// Its model.
        model: String,
    },
    /// Beacon's own statistical summary (no AI involved).
    Statistical,
}

/// A finished answer.
#[derive(Debug, Clone, Serialize)]
pub struct Answered {
    /// The text, citations as `[F3]`.
    pub text: String,
    /// The facts it could cite.
    pub facts: Vec<Fact>,
    /// Who wrote it.
    pub author: Author,
    /// Figures in the text that are in none of the facts (should be none).
    pub unverified: Vec<String>,
    /// Served from the cache.
    pub cached: bool,
    /// Tokens it cost (prompt, answer); zero for a cached or statistical answer.
    pub tokens: (i64, i64),
}

impl Answered {
    /// Beacon's own summary `text` of `facts`.
    pub fn statistical(text: String, facts: Vec<Fact>) -> Self {
        Self {
            text,
            facts,
            author: Author::Statistical,
            unverified: Vec::new(),
            cached: false,
            tokens: (0, 0),
        }
    }
}

/// The first day of the month after `month`.
fn renews(month: NaiveDate) -> NaiveDate {
    month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month)
}

/// Refuses unless `org` switched AI insights on and has budget left for `prepared`; answers the
/// cached answer when there is one.
async fn admit(
    db: &Db,
    org: OrgId,
    ai: &Ai,
    prepared: &Prepared,
    now: DateTime<Utc>,
) -> Result<Option<Answered>, Unanswered> {
    let hash = prepared.input_hash(ai.model());
    let month = ai::month_of(now);
    db.scoped(org, async |conn| {
        let settings = ai::settings(conn, org).await?;
        if !settings.enabled {
            return Err(Unanswered::Disabled);
        }
        if let Some(kept) = ai::cached(conn, org, &hash).await? {
            return Ok(Some(Answered {
                unverified: unsupported_figures(&kept.answer, &prepared.prompt.user),
                text: kept.answer,
                facts: prepared.facts.clone(),
                author: Author::Ai { model: kept.model },
                cached: true,
                tokens: (0, 0),
            }));
        }
        let used = ai::tokens_used(conn, org, month).await?;
        let asking =
            estimate_tokens(&prepared.prompt.system) + estimate_tokens(&prepared.prompt.user);
        let budget = settings.monthly_token_budget;
        if used + asking > budget {
            return Err(Unanswered::OverBudget {
                used,
                budget,
                renews: renews(month),
            });
        }
        Ok(None)
    })
    .await
}

/// Keeps a fresh answer and counts its tokens.
async fn record(
    db: &Db,
    org: OrgId,
    ai: &Ai,
    prepared: &Prepared,
    text: &str,
    tokens: (i64, i64),
    now: DateTime<Utc>,
) -> Result<(), Unanswered> {
    let answer = Answer {
        input_hash: prepared.input_hash(ai.model()),
        project_id: prepared.project_id,
        feature: prepared.insight.as_str().to_owned(),
        model: ai.model().to_owned(),
        answer: text.to_owned(),
        facts: serde_json::to_value(&prepared.facts).unwrap_or_default(),
        prompt_tokens: tokens.0,
        completion_tokens: tokens.1,
        created_at: now,
    };
    db.scoped(org, async |conn| {
        ai::add_usage(
            conn,
            org,
            ai::month_of(now),
            prepared.insight.as_str(),
            tokens,
        )
        .await?;
        if !text.trim().is_empty() {
            ai::keep(conn, org, &answer).await?;
        }
        Ok::<_, Unanswered>(())
    })
    .await
}

fn fresh(ai: &Ai, prepared: &Prepared, text: String, tokens: (i64, i64)) -> Answered {
    Answered {
        unverified: unsupported_figures(&text, &prepared.prompt.user),
        text,
        facts: prepared.facts.clone(),
        author: Author::Ai {
            model: ai.model().to_owned(),
        },
        cached: false,
        tokens,
    }
}

/// The whole answer to `prepared` for `org` (the report e-mails).
pub async fn answer(
    db: &Db,
    org: OrgId,
    ai: &Ai,
    prepared: &Prepared,
    now: DateTime<Utc>,
) -> Result<Answered, Unanswered> {
    if let Some(cached) = admit(db, org, ai, prepared, now).await? {
        return Ok(cached);
    }
    let completion = ai.complete(&prepared.prompt).await?;
    let tokens = (completion.prompt_tokens, completion.completion_tokens);
    record(db, org, ai, prepared, &completion.text, tokens, now).await?;
    Ok(fresh(ai, prepared, completion.text, tokens))
}

/// What a streamed answer tells its reader.
#[derive(Debug, Clone)]
pub enum Streamed {
    /// More text.
    Text(String),
    /// The end: the whole answer.
    Done(Box<Answered>),
    /// The endpoint stopped answering midway.
    Failed(AiError),
}

/// The answer to `prepared` for `org` as it is written (the dashboard). Refusals and an
/// endpoint that does not answer at all are errors before anything is streamed; a cached
/// answer streams at once. The answer is kept and counted when it is complete, even if the
/// stream's reader has gone.
pub async fn stream(
    db: &Db,
    org: OrgId,
    ai: &Ai,
    prepared: &Prepared,
    now: DateTime<Utc>,
) -> Result<BoxStream<'static, Streamed>, Unanswered> {
    if let Some(cached) = admit(db, org, ai, prepared, now).await? {
        return Ok(futures::stream::iter([
            Streamed::Text(cached.text.clone()),
            Streamed::Done(Box::new(cached)),
        ])
        .boxed());
    }
    let mut pieces = ai.stream(&prepared.prompt).await?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Streamed>(64);
    let (db, ai, prepared) = (db.clone(), ai.clone(), prepared.clone());
    tokio::spawn(async move {
        let mut text = String::new();
        let mut usage = None;
        let mut failure = None;
        while let Some(piece) = pieces.next().await {
            match piece {
                Ok(Piece::Text(more)) => {
                    text.push_str(&more);
                    // A reader that left does not stop the answer: its tokens are paid for.
                    let _ = sender.send(Streamed::Text(more)).await;
                }
                Ok(Piece::Usage {
                    prompt_tokens,
                    completion_tokens,
                }) => usage = Some((prompt_tokens, completion_tokens)),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let tokens = usage.unwrap_or_else(|| {
            (
                estimate_tokens(&prepared.prompt.system) + estimate_tokens(&prepared.prompt.user),
                estimate_tokens(&text),
            )
        });
        let kept_text = if failure.is_some() { "" } else { text.as_str() };
        if let Err(error) = record(&db, org, &ai, &prepared, kept_text, tokens, now).await {
            tracing::error!(%error, "an AI answer's usage could not be recorded");
        }
        let last = match failure {
            Some(error) => Streamed::Failed(error),
            None => Streamed::Done(Box::new(fresh(&ai, &prepared, text, tokens))),
        };
        let _ = sender.send(last).await;
    });
    Ok(tokio_stream_of(receiver))
}

fn tokio_stream_of(
    receiver: tokio::sync::mpsc::Receiver<Streamed>,
) -> BoxStream<'static, Streamed> {
    futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
    .boxed()
}
