//! Serves the web dashboard (`web/dashboard`, built by Vite into `web/dashboard/dist`) from
//! the binary.
//!
//! - `/assets/…` are content-hashed by the build, so they are cached for a year as immutable.
//! - Any other `GET` for a page (a client route such as `/orgs/…/projects/…`) gets
//!   `index.html`, revalidated on every load so a deploy is picked up at once.
//! - Paths the server owns (`/api/`, `/js/`, `/healthz`, `/readyz`, `/metrics`) never reach
//!   the dashboard.
//!
//! The build output is not checked in. `cargo build` without Node still succeeds (the folder
//! may be missing); such a binary answers pages with a 503 that says how to build the UI.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tenant::problem::ProblemKind;

use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use rust_embed::Embed;

use crate::error::ApiError;
use crate::static_files::EncodedFile;

#[derive(Embed)]
#[folder = "../web/dashboard/dist"]
#[allow_missing = true]
struct Dist;

/// Paths the API server answers itself.
const SERVER_PREFIXES: [&str; 5] = ["/api/", "/js/", "/healthz", "/readyz", "/metrics"];

/// The policy for the HTML page: scripts and styles only from this origin, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The policy for the replay player's and the heatmaps' pages: the same, except that styles
/// may be inline. The player rebuilds a recorded page inside a sandboxed frame without scripts, which inherits
/// this policy; a recorded page's styles are inline (`<style>`, `style=""`), and everything
/// else it names is still confined to this origin and `data:` (a recording cannot make the
/// browser fetch from elsewhere). The dashboard loads this page as a document of its own
/// (`web/dashboard/src/lib/router.tsx`), so no other screen runs under it.
const PLAYER_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Whether `path` is a page that rebuilds a recorded page: the replay player's
/// (`/orgs/<org>/projects/<project>/replays/<id>`) or the heatmaps'
/// (`/orgs/<org>/projects/<project>/heatmaps`, drawn over a recording's snapshot).
fn is_player(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["orgs", org, "projects", project, "replays", id] => {
            !org.is_empty() && !project.is_empty() && !id.is_empty()
        }
        ["orgs", org, "projects", project, "heatmaps"] => !org.is_empty() && !project.is_empty(),
        _ => false,
    }
}

fn files() -> &'static HashMap<String, EncodedFile> {
    static FILES: OnceLock<HashMap<String, EncodedFile>> = OnceLock::new();
    FILES.get_or_init(|| {
        Dist::iter()
            .filter_map(|name| {
                let file = Dist::get(&name)?;
                Some((name.into_owned(), EncodedFile::new(file.data.into_owned())))
            })
            .collect()
    })
}

/// Whether the dashboard was built into this binary (or, in debug builds, onto disk).
pub fn is_built() -> bool {
    files().contains_key("index.html")
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "application/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn wants_page(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The policy for a shared link's page that `origins` may frame.
fn framed_policy(origins: &[String]) -> String {
    CONTENT_SECURITY_POLICY.replace(
        "frame-ancestors 'none'",
        &format!("frame-ancestors {}", origins.join(" ")),
    )
}

/// The origins that may frame the page at `path`: a shared link's (`/share/<token>`) when it is
/// open, has no password and lists some; none for every other page.
async fn frame_origins(req: &Request, path: &str) -> Vec<String> {
    let (Some(token), Some(state)) = (
        path.strip_prefix("/share/")
            .and_then(tenant::sharing::Token::parse),
        req.data::<crate::state::AppState>(),
    ) else {
        return vec![];
    };
    let found = state
        .db
        .scoped(token.org, async |conn| {
            Ok::<_, tenant::DbError>(
                tenant::tables::shared_links::find(conn, token.org, token.link_id).await?,
            )
        })
        .await;
    match found {
        Ok(link) => {
            let now = state.clock.now();
            let open = tenant::sharing::admit(&state.sealing_key, link.as_ref(), &token, None, now);
            match (open, link) {
                (Ok(()), Some(link)) => link.embed_origins,
                _ => vec![],
            }
        }
        Err(error) => {
            tracing::warn!(%error, "reading a shared link's embedding origins");
            vec![]
        }
    }
}

fn index(req: &Request, frames: &[String]) -> Response {
    let Some(page) = files().get("index.html") else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::DashboardNotBuilt,
            "this binary was built without the dashboard: run `npm ci --prefix web && npm \
             --prefix web run build:dashboard`, then build beacon again (`scripts/run` does both)",
        )
        .into_response();
    };
    let builder = Response::builder()
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::REFERRER_POLICY, "same-origin");
    // A shared link's token never leaves the page in a Referer (same-origin above), and a page
    // only the link's origins may frame has no X-Frame-Options (it would forbid them).
    let builder = if frames.is_empty() {
        let policy = if is_player(req.uri().path()) {
            PLAYER_POLICY
        } else {
            CONTENT_SECURITY_POLICY
        };
        builder
            .header(header::CONTENT_SECURITY_POLICY, policy)
            .header(header::X_FRAME_OPTIONS, "DENY")
    } else {
        builder.header(header::CONTENT_SECURITY_POLICY, framed_policy(frames))
    };
    page.respond(req, content_type("index.html"), builder)
}

/// Wraps the server's routes: answers dashboard files and pages, and passes everything else
/// (every server-owned path, and non-page requests for unknown paths) to `next`.
pub async fn around<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    let readable = matches!(*req.method(), Method::GET | Method::HEAD);
    if !readable
        || SERVER_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
    {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let name = path.trim_start_matches('/');
    if name != "index.html"
        && let Some(file) = files().get(name)
    {
        let cache = if name.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let builder = Response::builder().header(header::CACHE_CONTROL, cache);
        return Ok(file.respond(&req, content_type(name), builder));
    }
    if wants_page(&req) {
        let frames = frame_origins(&req, &path).await;
        return Ok(index(&req, &frames));
    }
    next.call(req).await.map(IntoResponse::into_response)
}
