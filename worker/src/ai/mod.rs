//! AI insights: weekly highlights, error issue explanations and Web Vitals bottleneck hints,
//! written by any OpenAI-compatible endpoint the installation configures (`BEACON_AI_*`).
//!
//! Why it is built this way:
//! - Only aggregates leave Beacon. Each feature turns Beacon's own figures into numbered
//!   facts ([`facts`]); the prompt is those facts laid out by a tera template ([`prompts`]).
//!   What each feature sends is listed in `docs/privacy.md`, and a test reads the requests.
//! - Answers cite the facts, and figures the answer gives that are in none of them are
//!   reported, so the text cannot pass off a made-up number as Beacon's.
//! - An owner switches AI on per organization (a plan feature when billing is on); a monthly
//!   token budget and a cache per input bound what it costs ([`service`]).
//! - With no endpoint, or when it fails, the highlights fall back to Beacon's own statistical
//!   summary ([`highlights::statistical`]), labelled as such.

pub mod client;
pub mod facts;
pub mod highlights;
pub mod issue;
pub mod prompts;
pub mod service;
pub mod vitals;

pub use client::{Ai, AiConfig, AiError};

use chrono::{DateTime, Utc};
use tenant::reports::Period;
use tenant::{Db, OrgId};

use highlights::PeriodData;
use prompts::{Insight, Prepared};
use service::{Answered, Unanswered};

/// The highlights question for `data`.
pub fn highlights_prompt(
    data: &PeriodData,
    project_id: uuid::Uuid,
    project_path: &str,
) -> anyhow::Result<Prepared> {
    let content = &data.content;
    let mut context = tera::Context::new();
    context.insert("project", &content.project);
    context.insert(
        "cadence",
        match content.cadence {
            "custom" => "period",
            cadence => cadence,
        },
    );
    context.insert("period", &content.period_label);
    context.insert("previous", &content.previous.label());
    Prepared::new(
        (Insight::Highlights, project_id),
        highlights::facts(data, project_path),
        context,
    )
}

/// The highlights of `data` for `org`: the AI's when `ai` is configured, `allowed` (the plan
/// has them) and the organization switched them on, within budget; else Beacon's statistical
/// summary. Never fails: an endpoint that does not answer gives the statistical summary too.
#[allow(clippy::too_many_arguments)] // who asks, about what, and when
pub async fn highlights_for(
    db: &Db,
    org: OrgId,
    ai: Option<&Ai>,
    allowed: bool,
    data: &PeriodData,
    (project_id, project_path): (uuid::Uuid, &str),
    now: DateTime<Utc>,
) -> Answered {
    let statistical = || {
        Answered::statistical(
            highlights::statistical(data, project_path),
            highlights::facts(data, project_path),
        )
    };
    let Some(ai) = ai.filter(|_| allowed) else {
        return statistical();
    };
    let prepared = match highlights_prompt(data, project_id, project_path) {
        Ok(prepared) => prepared,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "the highlights prompt failed");
            return statistical();
        }
    };
    match service::answer(db, org, ai, &prepared, now).await {
        Ok(answered) => answered,
        Err(Unanswered::Disabled) => statistical(),
        Err(error) => {
            tracing::warn!(%error, "AI highlights unavailable; sending the statistical summary");
            statistical()
        }
    }
}

/// The explanation question for an issue of project `project_name`.
pub fn issue_prompt(
    data: &issue::IssueData,
    project_name: &str,
    project_path: &str,
) -> anyhow::Result<Prepared> {
    let mut context = tera::Context::new();
    context.insert("project", project_name);
    context.insert("frames", &issue::frames(data));
    Prepared::new(
        (Insight::IssueExplanation, data.issue.project_id),
        issue::facts(data, project_path),
        context,
    )
}

/// The Web Vitals question for `period` of project `project_name`.
pub fn vitals_prompt(
    data: &[vitals::MetricData],
    (project_id, project_name): (uuid::Uuid, &str),
    period: &Period,
    project_path: &str,
) -> anyhow::Result<Prepared> {
    let mut context = tera::Context::new();
    context.insert("project", project_name);
    context.insert("period", &period.label());
    Prepared::new(
        (Insight::VitalsHints, project_id),
        vitals::facts(data, project_path),
        context,
    )
}
