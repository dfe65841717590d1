//! Host names as projects are keyed by: the one check used where a project's domains are set
//! and wherever an untrusted request names a domain (events, Web Vitals, the Stats API), so a
//! name that no project can have is refused before any lookup or cache sees it.

/// Longest host name (RFC 1035).
pub const MAX_LEN: usize = 253;

/// `raw` as a stored domain (trimmed, lower-case, no trailing dot), or `None` if it is not a
/// host name such as `example.com`: at most 253 bytes, dot-separated labels of 1 to 63 ASCII
/// letters, digits and inner hyphens.
pub fn normalize(raw: &str) -> Option<String> {
    let domain = raw.trim().trim_end_matches('.');
    let valid = !domain.is_empty()
        && domain.len() <= MAX_LEN
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        });
    valid.then(|| domain.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_host_names_and_refuses_the_rest() {
        assert_eq!(normalize(" Example.COM. ").as_deref(), Some("example.com"));
        assert_eq!(normalize("a-b.c1.io").as_deref(), Some("a-b.c1.io"));
        let longest = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(longest.len(), 253);
        assert!(normalize(&longest).is_some());
        for bad in [
            "",
            ".",
            "a..b",
            "-a.com",
            "a-.com",
            "exa mple.com",
            "example.com/path",
            "example.com:8080",
            "https://example.com",
            "ex\0ample.com",
            "exämple.com",
            &format!("{longest}x"),
            &format!("{}.com", "a".repeat(64)),
            &"a.".repeat(30_000),
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }
}
