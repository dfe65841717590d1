//! `ai_settings`, `ai_usage` and `ai_answers`: whether an owner switched AI insights on, the
//! monthly token budget and what was used of it, and the answers kept by the hash of their
//! exact input (the cache).
//!
//! Usage is counted per calendar month in UTC, per feature, after each answer; an answer in
//! the cache costs nothing again.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::OrgId;
use crate::schema::{ai_answers, ai_settings, ai_usage};

/// The budget an organization starts with (tokens per month).
pub const DEFAULT_MONTHLY_BUDGET: i64 = 1_000_000;
/// The smallest and largest budget an owner may set.
pub const BUDGET_RANGE: (i64, i64) = (1, 1_000_000_000);

/// An organization's AI settings.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ai_settings)]
pub struct AiSettings {
    /// Switched on by an owner.
    pub enabled: bool,
    /// Tokens per calendar month.
    pub monthly_token_budget: i64,
    /// Who changed them last.
    pub updated_by: Option<Uuid>,
    /// When.
    pub updated_at: DateTime<Utc>,
}

/// The settings of `org` (off, with the default budget, when never set).
pub async fn settings(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<AiSettings> {
    let found = ai_settings::table
        .filter(ai_settings::org_id.eq(org))
        .select(AiSettings::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(found.unwrap_or(AiSettings {
        enabled: false,
        monthly_token_budget: DEFAULT_MONTHLY_BUDGET,
        updated_by: None,
        updated_at: DateTime::<Utc>::UNIX_EPOCH,
    }))
}

/// Saves `enabled` and `budget` for `org`, changed by `by`.
pub async fn save(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    enabled: bool,
    budget: i64,
    by: Option<Uuid>,
) -> QueryResult<()> {
    diesel::insert_into(ai_settings::table)
        .values((
            ai_settings::org_id.eq(org),
            ai_settings::enabled.eq(enabled),
            ai_settings::monthly_token_budget.eq(budget),
            ai_settings::updated_by.eq(by),
            ai_settings::updated_at.eq(diesel::dsl::now),
        ))
        .on_conflict(ai_settings::org_id)
        .do_update()
        .set((
            ai_settings::enabled.eq(excluded(ai_settings::enabled)),
            ai_settings::monthly_token_budget.eq(excluded(ai_settings::monthly_token_budget)),
            ai_settings::updated_by.eq(excluded(ai_settings::updated_by)),
            ai_settings::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The first day of `now`'s month (UTC): the month usage counts in.
pub fn month_of(now: DateTime<Utc>) -> NaiveDate {
    let day = now.date_naive();
    day.with_day(1).unwrap_or(day)
}

/// What a feature used in a month.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ai_usage)]
pub struct FeatureUsage {
    /// `highlights`, `issue_explanation` or `vitals_hints`.
    pub feature: String,
    /// Answers asked of the endpoint (cached answers not counted).
    pub requests: i64,
    /// Tokens of prompts.
    pub prompt_tokens: i64,
    /// Tokens of answers.
    pub completion_tokens: i64,
}

/// Usage of `org` in `month`, per feature.
pub async fn usage(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    month: NaiveDate,
) -> QueryResult<Vec<FeatureUsage>> {
    ai_usage::table
        .filter(ai_usage::org_id.eq(org))
        .filter(ai_usage::month.eq(month))
        .order(ai_usage::feature)
        .select(FeatureUsage::as_select())
        .load(conn)
        .await
}

/// Tokens `org` used in `month`, every feature together.
pub async fn tokens_used(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    month: NaiveDate,
) -> QueryResult<i64> {
    Ok(usage(conn, org, month)
        .await?
        .iter()
        .map(|u| u.prompt_tokens + u.completion_tokens)
        .sum())
}

/// Counts one answer of `feature` in `month`.
pub async fn add_usage(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    month: NaiveDate,
    feature: &str,
    (prompt_tokens, completion_tokens): (i64, i64),
) -> QueryResult<()> {
    diesel::insert_into(ai_usage::table)
        .values((
            ai_usage::org_id.eq(org),
            ai_usage::month.eq(month),
            ai_usage::feature.eq(feature),
            ai_usage::requests.eq(1_i64),
            ai_usage::prompt_tokens.eq(prompt_tokens),
            ai_usage::completion_tokens.eq(completion_tokens),
        ))
        .on_conflict((ai_usage::org_id, ai_usage::month, ai_usage::feature))
        .do_update()
        .set((
            ai_usage::requests.eq(ai_usage::requests + 1_i64),
            ai_usage::prompt_tokens.eq(ai_usage::prompt_tokens + prompt_tokens),
            ai_usage::completion_tokens.eq(ai_usage::completion_tokens + completion_tokens),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A kept answer.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = ai_answers)]
pub struct Answer {
    /// SHA-256 (hex) of the model and the prompt.
    pub input_hash: String,
    /// The project it is about.
    pub project_id: Uuid,
    /// The feature.
    pub feature: String,
    /// The model that wrote it.
    pub model: String,
    /// The text, citations as `[F3]`.
    pub answer: String,
    /// The facts the prompt gave (JSON array).
    pub facts: serde_json::Value,
    /// Tokens of the prompt.
    pub prompt_tokens: i64,
    /// Tokens of the answer.
    pub completion_tokens: i64,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// The answer kept for `input_hash`.
pub async fn cached(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    input_hash: &str,
) -> QueryResult<Option<Answer>> {
    ai_answers::table
        .filter(ai_answers::org_id.eq(org))
        .filter(ai_answers::input_hash.eq(input_hash))
        .select(Answer::as_select())
        .first(conn)
        .await
        .optional()
}

/// Keeps `answer` (a second answer to the same input keeps the first).
pub async fn keep(conn: &mut AsyncPgConnection, org: OrgId, answer: &Answer) -> QueryResult<()> {
    diesel::insert_into(ai_answers::table)
        .values((
            ai_answers::org_id.eq(org),
            ai_answers::input_hash.eq(&answer.input_hash),
            ai_answers::project_id.eq(answer.project_id),
            ai_answers::feature.eq(&answer.feature),
            ai_answers::model.eq(&answer.model),
            ai_answers::answer.eq(&answer.answer),
            ai_answers::facts.eq(&answer.facts),
            ai_answers::prompt_tokens.eq(answer.prompt_tokens),
            ai_answers::completion_tokens.eq(answer.completion_tokens),
            ai_answers::created_at.eq(answer.created_at),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}
