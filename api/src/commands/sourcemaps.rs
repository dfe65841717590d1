//! `beacon sourcemaps upload --release R DIR`: uploads a build's JavaScript files and source
//! maps to a Beacon server through its API (the same `PUT …/releases/{release}/files` a curl
//! would use), so CI can run it against Beacon Cloud or a self-hosted instance alike.
//!
//! Each `*.js`, `*.mjs`, `*.cjs` and `*.map` file under DIR is named `{url_prefix}/{path in
//! DIR}`; the default prefix `~` matches any host, so `dist/static/app.min.js` uploaded from
//! `dist` becomes `~/static/app.min.js`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// What to upload, and where.
#[derive(Debug, Clone, clap::Args)]
pub struct UploadArgs {
    /// Release the files belong to (the SDK's `release`).
    #[arg(long)]
    pub release: String,
    /// Prefix of the names frames are matched with: `~` (any host), `~/static`, or a URL.
    #[arg(long, default_value = "~")]
    pub url_prefix: String,
    /// Beacon's address.
    #[arg(long, env = "BEACON_URL")]
    pub url: String,
    /// An API key with the `write` scope.
    #[arg(long, env = "BEACON_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// Organization id.
    #[arg(long, env = "BEACON_ORG")]
    pub org: uuid::Uuid,
    /// Project id.
    #[arg(long, env = "BEACON_PROJECT")]
    pub project: uuid::Uuid,
    /// The build directory.
    pub dir: PathBuf,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "js" | "mjs" | "cjs" | "map"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The release file name of `file`, found under `dir`.
pub fn file_name(prefix: &str, dir: &Path, file: &Path) -> anyhow::Result<String> {
    let relative = file
        .strip_prefix(dir)
        .context("a file outside the directory")?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Ok(format!(
        "{}/{}",
        prefix.trim_end_matches('/'),
        parts.join("/")
    ))
}

/// Uploads every file; prints one line per file.
pub async fn upload(args: &UploadArgs) -> anyhow::Result<()> {
    let mut files = Vec::new();
    collect(&args.dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        bail!(
            "no .js, .mjs, .cjs or .map files under {}",
            args.dir.display()
        );
    }
    let client = reqwest::Client::builder()
        .user_agent(concat!("beacon-cli/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .context("building the HTTP client")?;
    let base = args.url.trim_end_matches('/');
    for file in &files {
        let name = file_name(&args.url_prefix, &args.dir, file)?;
        let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let mut url = reqwest::Url::parse(&format!(
            "{base}/api/v1/orgs/{}/projects/{}/releases/placeholder/files",
            args.org, args.project
        ))
        .context("the Beacon URL is not valid")?;
        // The release is one path segment, escaped whatever it contains.
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("the Beacon URL cannot have paths"))?
            .pop()
            .pop()
            .push(&args.release)
            .push("files");
        url.query_pairs_mut().append_pair("name", &name);
        let response = client
            .put(url)
            .bearer_auth(&args.api_key)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .with_context(|| format!("uploading {}", file.display()))?;
        let status = response.status();
        if !status.is_success() {
            let problem = response.text().await.unwrap_or_default();
            bail!("uploading {name} failed with {status}: {problem}");
        }
        println!("uploaded {name}");
    }
    println!("{} files for release {}", files.len(), args.release);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_directory_under_the_prefix() {
        let dir = Path::new("/build/dist");
        let file = Path::new("/build/dist/static/app.min.js");
        assert_eq!(file_name("~", dir, file).unwrap(), "~/static/app.min.js");
        assert_eq!(
            file_name("~/assets/", dir, file).unwrap(),
            "~/assets/static/app.min.js"
        );
        assert_eq!(
            file_name("https://cdn.example", dir, file).unwrap(),
            "https://cdn.example/static/app.min.js"
        );
    }
}
