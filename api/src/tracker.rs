//! Serves the tracker scripts built from `web/tracker` (checked in under `web/tracker/dist`, so
//! `cargo build` needs no Node) and embedded in the binary.
//!
//! - `/js/script.js`, and one file per combination of optional modes, named as Plausible names
//!   them: `/js/script.hash.outbound-links.js`, in any order of modes. These URLs are stable,
//!   so they are cached for a day and revalidated: sites get tracker fixes without editing
//!   their pages.
//! - `/js/v/{version}/script….js`: the same files under a content-hash version, cached for a
//!   year as immutable. An old version is redirected (302, not cached) to the current one,
//!   never answered with other content under its URL.
//!
//! Files are gzipped once at startup and served gzipped to clients that accept it.

use std::collections::HashMap;
use std::sync::OnceLock;

use poem::http::{StatusCode, header};
use poem::web::Path;
use poem::{Request, Response, handler};
use rust_embed::Embed;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::static_files::EncodedFile;

#[derive(Embed)]
#[folder = "../web/tracker/dist"]
struct Dist;

/// The optional modes, in the order their names appear in canonical file names.
pub const MODES: [&str; 4] = ["hash", "outbound-links", "file-downloads", "tagged-events"];

/// The optional extensions, each its own file: Core Web Vitals, and session replay's loader
/// and the rrweb recorder it loads for sampled visitors of projects that record.
pub const EXTENSIONS: [&str; 3] = ["vitals.js", "replay.js", "replay-recorder.js"];

struct Scripts {
    by_name: HashMap<String, EncodedFile>,
    version: String,
}

fn scripts() -> &'static Scripts {
    static SCRIPTS: OnceLock<Scripts> = OnceLock::new();
    SCRIPTS.get_or_init(|| {
        let mut names: Vec<String> = Dist::iter().map(|name| name.into_owned()).collect();
        names.sort();
        let mut all = Sha256::new();
        let mut by_name = HashMap::new();
        for name in names {
            let Some(file) = Dist::get(&name) else {
                continue;
            };
            let plain = file.data.into_owned();
            all.update(name.as_bytes());
            all.update(&plain);
            by_name.insert(name, EncodedFile::new(plain));
        }
        Scripts {
            by_name,
            version: hex::encode(all.finalize())[..12].to_owned(),
        }
    })
}

/// The version segment of the immutable URLs (a hash of every bundle).
pub fn version() -> &'static str {
    &scripts().version
}

/// The canonical file name for a requested one: modes in [`MODES`] order, each at most once,
/// or one of the optional extensions ([`EXTENSIONS`]). `None` for anything else.
pub fn canonical_name(requested: &str) -> Option<String> {
    if EXTENSIONS.contains(&requested) {
        return Some(requested.to_owned());
    }
    let middle = requested.strip_prefix("script")?.strip_suffix(".js")?;
    let mut chosen = [false; MODES.len()];
    if !middle.is_empty() {
        for mode in middle.strip_prefix('.')?.split('.') {
            let index = MODES.iter().position(|known| *known == mode)?;
            if std::mem::replace(&mut chosen[index], true) {
                return None;
            }
        }
    }
    let mut name = String::from("script");
    for (mode, on) in MODES.iter().zip(chosen) {
        if on {
            name.push('.');
            name.push_str(mode);
        }
    }
    name.push_str(".js");
    Some(name)
}

fn respond(req: &Request, file: &str, cache_control: &'static str) -> poem::Result<Response> {
    let script = canonical_name(file)
        .and_then(|name| scripts().by_name.get(&name))
        .ok_or_else(|| ApiError::not_found("tracker script"))?;
    let builder = Response::builder()
        .header(header::CACHE_CONTROL, cache_control)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header("cross-origin-resource-policy", "cross-origin");
    Ok(script.respond(req, "application/javascript; charset=utf-8", builder))
}

/// `GET /js/{file}`: the current tracker, revalidated daily.
#[handler]
pub fn current(req: &Request, Path(file): Path<String>) -> poem::Result<Response> {
    respond(
        req,
        &file,
        "public, max-age=86400, stale-while-revalidate=604800",
    )
}

/// `GET /js/v/{version}/{file}`: one version of the tracker, immutable. A page still naming
/// an older version is redirected to the current one (not cached), so it keeps tracking
/// after an upgrade.
#[handler]
pub fn versioned(
    req: &Request,
    Path((wanted, file)): Path<(String, String)>,
) -> poem::Result<Response> {
    if wanted != version() {
        let name = canonical_name(&file).ok_or_else(|| ApiError::not_found("tracker script"))?;
        return Ok(Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, format!("/js/v/{}/{name}", version()))
            .header(header::CACHE_CONTROL, "no-cache")
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
            .finish());
    }
    respond(req, &file, "public, max-age=31536000, immutable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names_are_canonicalized() {
        assert_eq!(canonical_name("script.js").as_deref(), Some("script.js"));
        assert_eq!(
            canonical_name("script.tagged-events.hash.js").as_deref(),
            Some("script.hash.tagged-events.js")
        );
        for bad in [
            "script.hash.hash.js",
            "script.unknown.js",
            "scripthash.js",
            "script.js.map",
            "other.js",
            "script..js",
        ] {
            assert_eq!(canonical_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_combination_of_modes_is_built() {
        for mask in 0..(1 << MODES.len()) {
            let modes: Vec<&str> = (0..MODES.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| MODES[i])
                .collect();
            let requested: String = modes.iter().rev().map(|m| format!(".{m}")).collect();
            let name = canonical_name(&format!("script{requested}.js")).unwrap();
            assert!(scripts().by_name.contains_key(&name), "{name} missing");
        }
    }
}
