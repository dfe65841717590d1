//! Facts: the numbered figures an AI answer may use, and the check that it used no others.
//!
//! Every figure Beacon sends is a line `[F3] Unique visitors: 1,234 (previous period 1,100,
//! +12%)`, and the instructions ask the model to cite the lines it relies on as `[F3]`. The
//! answer is shown with each citation linked to where the figure lives in the dashboard, and
//! any number in the answer that is in none of the prompt's lines is reported as unverified, so
//! a figure the model made up never passes for one of Beacon's.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// One figure (or a few about one thing) an answer may quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// `F3`.
    pub id: String,
    /// The statement, figures included.
    pub text: String,
    /// Where it lives in the dashboard (a path of the web app), when somewhere.
    pub link: Option<String>,
}

/// Facts being numbered.
#[derive(Debug, Clone, Default)]
pub struct Facts(Vec<Fact>);

impl Facts {
    /// Adds the next fact; answers its id (`F3`).
    pub fn add(&mut self, text: impl Into<String>, link: Option<String>) -> String {
        let id = format!("F{}", self.0.len() + 1);
        self.0.push(Fact {
            id: id.clone(),
            text: text.into(),
            link,
        });
        id
    }

    /// The facts, in order.
    pub fn into_vec(self) -> Vec<Fact> {
        self.0
    }
}

static CITATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(F\d{1,3})\]").unwrap_or_else(|_| unreachable!("a valid pattern"))
});
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d[\d,]*(?:\.\d+)?").unwrap_or_else(|_| unreachable!("a valid pattern"))
});

/// A number as written, without thousands separators or a trailing dot (`1,234.50` → `1234.50`).
fn normalized(number: &str) -> String {
    number.replace(',', "").trim_end_matches('.').to_owned()
}

/// The numbers written in `text`, normalized.
fn numbers(text: &str) -> Vec<String> {
    NUMBER
        .find_iter(text)
        .map(|found| normalized(found.as_str()))
        .collect()
}

/// Numbers in `answer` (citations aside) that appear nowhere in `prompt`: figures the model
/// did not take from Beacon's data. Empty when every figure is Beacon's.
pub fn unsupported_figures(answer: &str, prompt: &str) -> Vec<String> {
    let known: HashSet<String> = numbers(prompt).into_iter().collect();
    let uncited = CITATION.replace_all(answer, " ");
    let mut unsupported: Vec<String> = Vec::new();
    for number in numbers(&uncited) {
        if !known.contains(&number) && !unsupported.contains(&number) {
            unsupported.push(number);
        }
    }
    unsupported
}

/// The facts `answer` cites, in the order of `facts`.
pub fn cited<'a>(answer: &str, facts: &'a [Fact]) -> Vec<&'a Fact> {
    let ids: HashSet<&str> = CITATION
        .captures_iter(answer)
        .filter_map(|captures| captures.get(1).map(|id| id.as_str()))
        .collect();
    facts
        .iter()
        .filter(|fact| ids.contains(fact.id.as_str()))
        .collect()
}

/// A piece of an answer: text, or a citation of a fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The text (the fact's number, `1`, for a citation).
    pub text: String,
    /// The cited fact's link (absolute), for a citation with one.
    pub link: Option<String>,
    /// Whether it is a citation.
    pub citation: bool,
}

/// `answer` cut into text and citations, links made absolute with `base` (e-mails).
pub fn segments(answer: &str, facts: &[Fact], base: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = 0;
    for found in CITATION.captures_iter(answer) {
        let (Some(whole), Some(id)) = (found.get(0), found.get(1)) else {
            continue;
        };
        let Some(fact) = facts.iter().find(|fact| fact.id == id.as_str()) else {
            continue;
        };
        if whole.start() > rest {
            out.push(Segment {
                text: answer[rest..whole.start()].to_owned(),
                link: None,
                citation: false,
            });
        }
        out.push(Segment {
            text: fact.id.trim_start_matches('F').to_owned(),
            link: fact.link.as_ref().map(|link| format!("{base}{link}")),
            citation: true,
        });
        rest = whole.end();
    }
    if rest < answer.len() {
        out.push(Segment {
            text: answer[rest..].to_owned(),
            link: None,
            citation: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_from_the_prompt_pass_and_others_are_named() {
        let prompt = "[F1] Unique visitors: 1,234 (previous period 1,100, +12%)\n\
                      [F2] Bounce rate: 41% (previous 38%)";
        assert!(unsupported_figures("Visitors rose 12% to 1,234 [F1].", prompt).is_empty());
        assert!(unsupported_figures("Visitors: 1234 [F1]; bounce 41%. [F2]", prompt).is_empty());
        // The positive control: the same check finds a figure that is not Beacon's.
        assert_eq!(
            unsupported_figures(
                "Visitors rose 15% to 1,234 [F1] and 9,999 signed up.",
                prompt
            ),
            ["15", "9999"]
        );
        // A citation's number is not a figure.
        assert!(unsupported_figures("See [F2].", "nothing").is_empty());
    }

    #[test]
    fn citations_become_linked_segments() {
        let mut facts = Facts::default();
        facts.add("Unique visitors: 10", Some("/orgs/o/projects/p".into()));
        facts.add("Pageviews: 20", None);
        let facts = facts.into_vec();
        let answer = "Up [F1], flat [F2] and [F9].";
        let parts = segments(answer, &facts, "https://b.test");
        let texts: Vec<&str> = parts.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["Up ", "1", ", flat ", "2", " and [F9]."]);
        assert_eq!(
            parts[1].link.as_deref(),
            Some("https://b.test/orgs/o/projects/p")
        );
        assert_eq!(cited(answer, &facts).len(), 2);
    }
}
