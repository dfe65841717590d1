//! Source maps: frames of minified code mapped back to the original file, line, column and
//! function, with context lines when the map embeds its sources.
//!
//! A frame's URL is matched to a release file as Sentry's release artifacts are: the full URL,
//! the URL without query, then `~/path` (any host) with and without the query. The map is the
//! file named by the minified file's `//# sourceMappingURL=`, resolved against the file's URL,
//! else the file's name plus `.map`. Parsed maps are kept in memory for a minute.
//!
//! Function names: the token at a call site names the function called there, so a frame's
//! original name is read at its caller's position (the frame before it), falling back to the
//! declaration the minified name points at, then to the minified name.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::BoundedCache;
use crate::tables::release_files;
use diesel_async::AsyncPgConnection;
use sourcemap::{DecodedMap, SourceMap, SourceView};
use uuid::Uuid;

use super::event::{Exception, Frame, truncate};

/// Lines of context on each side of the line.
const CONTEXT_LINES: u32 = 5;
/// Characters kept of a context line.
const CONTEXT_WIDTH: usize = 300;
/// How long a parsed map (or its absence) is remembered.
const TTL: Duration = Duration::from_secs(60);
/// Bytes of parsed maps remembered at most.
const CACHE_BYTES: u64 = 256 * 1024 * 1024;
/// Distinct files looked up for one event at most.
const MAX_FILES_PER_EVENT: usize = 20;

/// A minified file and its parsed map.
struct Resolved {
    map: SourceMap,
    minified: SourceView,
    /// What it costs in memory, about: parsed maps take a few times the size of their JSON.
    bytes: usize,
}

type Key = (Uuid, String, String);

/// Parsed maps, per project, release and file URL, within [`CACHE_BYTES`] (weighed by the
/// stored files' sizes, so a few huge maps cannot hold gigabytes).
pub struct SourceMaps {
    cache: BoundedCache<Key, Option<Arc<Resolved>>>,
}

impl Default for SourceMaps {
    fn default() -> Self {
        Self {
            cache: BoundedCache::new(CACHE_BYTES, |(_, release, url), resolved| {
                release.len() + url.len() + resolved.as_ref().map_or(0, |r| r.bytes)
            }),
        }
    }
}

/// Where a frame's position maps to.
struct Mapped {
    resolved: Arc<Resolved>,
    line0: u32,
    col0: u32,
}

fn strip_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Release file names to try for a frame URL, most specific first.
pub fn candidates(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let bare = strip_query(url);
    if bare != url {
        out.push(bare.to_owned());
    }
    let path = if let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    {
        rest.find('/').map(|slash| &rest[slash..])
    } else if let Some(rest) = url
        .strip_prefix("app://")
        .or_else(|| url.strip_prefix("file://"))
    {
        Some(rest)
    } else if url.starts_with('/') {
        Some(url)
    } else {
        None
    };
    if let Some(path) = path {
        out.push(format!("~{path}"));
        let bare_path = strip_query(path);
        if bare_path != path {
            out.push(format!("~{bare_path}"));
        }
    }
    out.dedup();
    out
}

/// The URL `reference` names, relative to the minified file at `file_url`.
fn join(file_url: &str, reference: &str) -> String {
    if reference.contains("://") || reference.starts_with("~/") {
        return reference.to_owned();
    }
    if let Ok(base) = url::Url::parse(file_url)
        && let Ok(joined) = base.join(reference)
    {
        return joined.to_string();
    }
    let base = strip_query(file_url);
    if reference.starts_with('/') {
        return format!("~{reference}");
    }
    match base.rfind('/') {
        Some(slash) => format!("{}{reference}", &base[..=slash]),
        None => reference.to_owned(),
    }
}

fn parse_map(bytes: &[u8]) -> Option<SourceMap> {
    match sourcemap::decode_slice(bytes).ok()? {
        DecodedMap::Regular(map) => Some(map),
        DecodedMap::Index(index) => index.flatten().ok(),
        DecodedMap::Hermes(_) => None,
    }
}

impl SourceMaps {
    async fn load(
        &self,
        conn: &mut AsyncPgConnection,
        org_id: Uuid,
        project_id: Uuid,
        release: &str,
        file_url: &str,
    ) -> diesel::QueryResult<Option<Arc<Resolved>>> {
        let key = (project_id, release.to_owned(), file_url.to_owned());
        if let Some(resolved) = self.cache.get(&key) {
            return Ok(resolved);
        }
        let resolved = self
            .fetch(
                conn,
                crate::OrgId::from_uuid(org_id),
                crate::ProjectId::from_uuid(project_id),
                release,
                file_url,
            )
            .await?
            .map(Arc::new);
        self.cache.insert(key, resolved.clone(), TTL);
        Ok(resolved)
    }

    async fn fetch(
        &self,
        conn: &mut AsyncPgConnection,
        org_id: crate::OrgId,
        project_id: crate::ProjectId,
        release: &str,
        file_url: &str,
    ) -> diesel::QueryResult<Option<Resolved>> {
        let Some((name, _, minified)) =
            release_files::find_first(conn, org_id, project_id, release, &candidates(file_url))
                .await?
        else {
            return Ok(None);
        };
        let reference = sourcemap::locate_sourcemap_reference_slice(&minified)
            .ok()
            .flatten()
            .map(|r| r.get_url().to_owned())
            .filter(|url| !url.starts_with("data:"));
        let mut map_names = match &reference {
            Some(reference) => candidates(&join(file_url, reference)),
            None => Vec::new(),
        };
        map_names.extend(candidates(&format!("{}.map", strip_query(file_url))));
        if name.starts_with('~') {
            map_names.push(format!("{name}.map"));
        }
        let Some((_, _, map_bytes)) =
            release_files::find_first(conn, org_id, project_id, release, &map_names).await?
        else {
            return Ok(None);
        };
        // Parsing a large map is CPU work: off the async threads.
        let parsed = tokio::task::spawn_blocking(move || {
            let map = parse_map(&map_bytes)?;
            let bytes = 3 * map_bytes.len() + 2 * minified.len();
            let minified = SourceView::from_string(String::from_utf8_lossy(&minified).into_owned());
            Some(Resolved {
                map,
                minified,
                bytes,
            })
        })
        .await
        .ok()
        .flatten();
        Ok(parsed)
    }

    /// Maps the frames of `exceptions` for `release`; returns how many frames were mapped.
    pub async fn apply(
        &self,
        conn: &mut AsyncPgConnection,
        org_id: Uuid,
        project_id: Uuid,
        release: Option<&str>,
        exceptions: &mut [Exception],
    ) -> diesel::QueryResult<usize> {
        let Some(release) = release else {
            return Ok(0);
        };
        // Files looked up for this event: each once, and at most MAX_FILES_PER_EVENT, so an
        // event with thousands of invented file names costs a bounded number of queries.
        let mut files: HashMap<String, Option<Arc<Resolved>>> = HashMap::new();
        for url in frame_urls(exceptions) {
            if files.len() >= MAX_FILES_PER_EVENT {
                break;
            }
            if !files.contains_key(url) {
                let resolved = self.load(conn, org_id, project_id, release, url).await?;
                files.insert(url.to_owned(), resolved);
            }
        }
        Ok(map_frames(exceptions, &files))
    }

    /// As [`SourceMaps::apply`] when every file it needs is cached (what it knew of each file
    /// a minute ago, found or not): then no query is made. `None` when a file is not cached,
    /// and `exceptions` are left as they were.
    pub fn apply_cached(
        &self,
        project_id: Uuid,
        release: Option<&str>,
        exceptions: &mut [Exception],
    ) -> Option<usize> {
        let Some(release) = release else {
            return Some(0);
        };
        let mut files: HashMap<String, Option<Arc<Resolved>>> = HashMap::new();
        for url in frame_urls(exceptions) {
            if files.len() >= MAX_FILES_PER_EVENT {
                break;
            }
            if !files.contains_key(url) {
                let key = (project_id, release.to_owned(), url.to_owned());
                files.insert(url.to_owned(), self.cache.get(&key)?);
            }
        }
        Some(map_frames(exceptions, &files))
    }
}

/// The file URLs of `exceptions`' frames that have a position, in order (with repeats).
fn frame_urls(exceptions: &[Exception]) -> Vec<&str> {
    exceptions
        .iter()
        .flat_map(|exception| &exception.frames)
        .filter_map(|frame| position(frame).map(|(url, _, _)| url))
        .collect()
}

/// A frame's file URL and zero-based line and column, when it has all three.
fn position(frame: &Frame) -> Option<(&str, u32, u32)> {
    match (frame.abs_path.as_deref(), frame.lineno, frame.colno) {
        (Some(url), Some(line), Some(col)) if line > 0 && col > 0 => Some((url, line - 1, col - 1)),
        _ => None,
    }
}

/// Maps `exceptions`' frames through the resolved `files` (a file missing from it, past the
/// per-event bound, is left alone); returns how many frames were mapped.
fn map_frames(
    exceptions: &mut [Exception],
    files: &HashMap<String, Option<Arc<Resolved>>>,
) -> usize {
    let mut mapped_count = 0;
    for exception in exceptions.iter_mut() {
        let mapped: Vec<Option<Mapped>> = exception
            .frames
            .iter()
            .map(|frame| {
                let (url, line0, col0) = position(frame)?;
                let resolved = files.get(url)?.clone()?;
                Some(Mapped {
                    resolved,
                    line0,
                    col0,
                })
            })
            .collect();
        // Names first (they read the caller's position), then positions.
        let names: Vec<Option<String>> = (0..exception.frames.len())
            .map(|i| original_name(&exception.frames, &mapped, i))
            .collect();
        for ((frame, mapping), name) in exception.frames.iter_mut().zip(&mapped).zip(names) {
            if let Some(mapping) = mapping
                && apply_one(frame, mapping, name)
            {
                mapped_count += 1;
            }
        }
    }
    mapped_count
}

/// The original name of frame `i`: from its caller's call site, else from the declaration.
fn original_name(frames: &[Frame], mapped: &[Option<Mapped>], i: usize) -> Option<String> {
    let own = mapped.get(i)?.as_ref()?;
    if i > 0
        && let Some(Some(caller)) = mapped.get(i - 1)
        && let Some(token) = caller.resolved.map.lookup_token(caller.line0, caller.col0)
        && token.get_dst_line() == caller.line0
        && let Some(name) = token.get_name()
    {
        return Some(name.to_owned());
    }
    let minified = frames[i].function.as_deref()?;
    let minified = minified.rsplit('.').next().unwrap_or(minified);
    own.resolved
        .map
        .get_original_function_name(own.line0, own.col0, minified, &own.resolved.minified)
        .map(str::to_owned)
}

fn context_line(view: &SourceView, line0: u32) -> Option<String> {
    view.get_line(line0)
        .map(|line| truncate(line, CONTEXT_WIDTH))
}

fn apply_one(frame: &mut Frame, mapping: &Mapped, name: Option<String>) -> bool {
    let map = &mapping.resolved.map;
    let Some(token) = map.lookup_token(mapping.line0, mapping.col0) else {
        return false;
    };
    if token.get_dst_line() != mapping.line0 {
        return false;
    }
    let Some(source) = token.get_source() else {
        return false;
    };
    frame.minified = Some(format!(
        "{}:{}:{}{}",
        frame.abs_path.as_deref().unwrap_or(""),
        mapping.line0 + 1,
        mapping.col0 + 1,
        frame
            .function
            .as_deref()
            .map(|f| format!(" {f}"))
            .unwrap_or_default()
    ));
    let src_line0 = token.get_src_line();
    frame.abs_path = Some(source.to_owned());
    frame.filename = Some(source.rsplit('/').next().unwrap_or(source).to_owned());
    frame.lineno = Some(src_line0 + 1);
    frame.colno = Some(token.get_src_col() + 1);
    if let Some(name) = name {
        frame.function = Some(name);
    }
    frame.module = None;
    if let Some(view) = map.get_source_view(token.get_src_id()) {
        frame.context_line = context_line(view, src_line0);
        frame.pre_context = (src_line0.saturating_sub(CONTEXT_LINES)..src_line0)
            .filter_map(|n| context_line(view, n))
            .collect();
        frame.post_context = (src_line0 + 1..=src_line0 + CONTEXT_LINES)
            .filter_map(|n| context_line(view, n))
            .collect();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_urls_match_release_file_names_like_sentry() {
        assert_eq!(
            candidates("https://shop.example/static/app.min.js?v=3"),
            [
                "https://shop.example/static/app.min.js?v=3",
                "https://shop.example/static/app.min.js",
                "~/static/app.min.js?v=3",
                "~/static/app.min.js"
            ]
        );
        assert_eq!(
            candidates("/srv/app/dist/index.js"),
            ["/srv/app/dist/index.js", "~/srv/app/dist/index.js"]
        );
        assert_eq!(candidates("~/static/app.min.js"), ["~/static/app.min.js"]);
    }

    #[test]
    fn map_references_resolve_against_the_file() {
        assert_eq!(
            join("https://x.test/static/app.min.js?v=1", "app.min.js.map"),
            "https://x.test/static/app.min.js.map"
        );
        assert_eq!(
            join("https://x.test/static/app.min.js", "/maps/app.map"),
            "https://x.test/maps/app.map"
        );
        assert_eq!(
            join("~/static/app.min.js", "app.min.js.map"),
            "~/static/app.min.js.map"
        );
    }
}
