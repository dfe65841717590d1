//! The prompts, as tera templates under version control (`worker/templates/ai/`): the same
//! instructions for every feature, and one template per feature that lays out its facts.
//!
//! The prompt is the whole input: its SHA-256, with the model's name, keys the cache, so an
//! answer is reused exactly when the same model would be asked the same thing.

use std::sync::LazyLock;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tera::Tera;

use super::client::Prompt;
use super::facts::Fact;

/// What an answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Insight {
    /// What changed most in a period (reports and the dashboard).
    Highlights,
    /// The likely cause of an error issue and where to look.
    IssueExplanation,
    /// Which pages and elements drive poor Web Vitals.
    VitalsHints,
}

impl Insight {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Insight::Highlights => "highlights",
            Insight::IssueExplanation => "issue_explanation",
            Insight::VitalsHints => "vitals_hints",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Insight::Highlights => "highlights.txt",
            Insight::IssueExplanation => "issue.txt",
            Insight::VitalsHints => "vitals.txt",
        }
    }

    /// Most sentences asked for.
    fn sentences(self) -> u32 {
        match self {
            Insight::Highlights => 6,
            Insight::IssueExplanation => 8,
            Insight::VitalsHints => 8,
        }
    }
}

const TEMPLATES: [(&str, &str); 4] = [
    ("system.txt", include_str!("../../templates/ai/system.txt")),
    (
        "highlights.txt",
        include_str!("../../templates/ai/highlights.txt"),
    ),
    ("issue.txt", include_str!("../../templates/ai/issue.txt")),
    ("vitals.txt", include_str!("../../templates/ai/vitals.txt")),
];

static PROMPTS: LazyLock<Result<Tera, String>> = LazyLock::new(|| {
    let mut tera = Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_templates(TEMPLATES)
        .map(|()| tera)
        .map_err(|error| format!("{error:?}"))
});

/// A question ready to ask: its facts, prompt and cache key.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What it is for.
    pub insight: Insight,
    /// The project it is about.
    pub project_id: uuid::Uuid,
    /// The facts it gives.
    pub facts: Vec<Fact>,
    /// The messages.
    pub prompt: Prompt,
}

impl Prepared {
    /// Renders `insight`'s prompt about project `project_id` with `facts` and the other values
    /// of `context`.
    pub fn new(
        (insight, project_id): (Insight, uuid::Uuid),
        facts: Vec<Fact>,
        mut context: tera::Context,
    ) -> anyhow::Result<Self> {
        let tera = PROMPTS
            .as_ref()
            .map_err(|error| anyhow::anyhow!("the AI prompt templates: {error}"))?;
        let mut system = tera::Context::new();
        system.insert("max_sentences", &insight.sentences());
        context.insert("facts", &facts);
        Ok(Self {
            insight,
            project_id,
            prompt: Prompt {
                system: tera.render("system.txt", &system)?,
                user: tera.render(insight.template(), &context)?,
            },
            facts,
        })
    }

    /// SHA-256 (hex) of `model` and the prompt: the cache key.
    pub fn input_hash(&self, model: &str) -> String {
        let mut hash = Sha256::new();
        for part in [
            self.insight.as_str(),
            model,
            &self.prompt.system,
            &self.prompt.user,
        ] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hex::encode(hash.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::facts::Facts;

    #[test]
    fn the_prompt_lists_every_fact_and_the_hash_follows_model_and_input() {
        let mut facts = Facts::default();
        facts.add("Unique visitors: 1,234", None);
        let mut context = tera::Context::new();
        for (key, value) in [
            ("project", "Shop"),
            ("cadence", "weekly"),
            ("period", "2026-11-16 – 2026-11-22"),
            ("previous", "2026-11-09 – 2026-11-15"),
        ] {
            context.insert(key, value);
        }
        let prepared = Prepared::new(
            (Insight::Highlights, uuid::Uuid::nil()),
            facts.into_vec(),
            context,
        )
        .unwrap();
        assert!(
            prepared
                .prompt
                .user
                .contains("[F1] Unique visitors: 1,234\n")
        );
        assert!(prepared.prompt.system.contains("At most 6 sentences"));
        assert_ne!(prepared.input_hash("a"), prepared.input_hash("b"));
        assert_eq!(prepared.input_hash("a"), prepared.input_hash("a"));
    }
}
