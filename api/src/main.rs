//! The `beacon` binary: `serve`, `worker`, `migrate`, `openapi`, `seed`.

use std::path::PathBuf;

use anyhow::Context;
use api::commands;
use api::config::{BillingArgs, DatabaseArgs, MailArgs, ServerArgs};
use clap::{Parser, Subcommand};
use tenant::Db;
use tenant::db::PoolConfig;

/// Beacon: privacy-first analytics.
#[derive(Debug, Parser)]
#[command(name = "beacon", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once at startup; boxing the server settings would buy nothing"
)]
enum Command {
    /// Run the HTTP server (and the job workers, unless --no-worker).
    Serve {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        mail: MailArgs,
        /// Seed the demo organization first and print its login.
        #[arg(long)]
        demo: bool,
    },
    /// Run only the job workers.
    Worker {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        mail: MailArgs,
        #[command(flatten)]
        billing: BillingArgs,
        /// Key that signs audit-log checkpoints (see `beacon serve --help`).
        #[arg(long, env = "BEACON_AUDIT_KEY", hide_env_values = true)]
        audit_key: Option<String>,
        /// Key that seals stored secrets (see `beacon serve --help`); the same as the server's.
        #[arg(long, env = "BEACON_SECRET_KEY", hide_env_values = true)]
        secret_key: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Build every project's hourly rollups as far as they are settled, and exit (the
    /// workers do this every minute).
    Rollup {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Source maps for JS error stack traces.
    Sourcemaps {
        #[command(subcommand)]
        command: SourcemapsCommand,
    },
    /// Write the OpenAPI document.
    Openapi {
        /// Output file.
        #[arg(long, default_value = "openapi/openapi.json")]
        out: PathBuf,
    },
    /// Create (or find again) demo data.
    Seed {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Seed the demo user, organization, project and API key.
        #[arg(long, required = true)]
        demo: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Demo user's e-mail.
        #[arg(long, default_value = commands::seed::DEMO_EMAIL)]
        email: String,
        /// Demo user's password.
        #[arg(long, default_value = commands::seed::DEMO_PASSWORD)]
        password: String,
        /// Demo project's domain.
        #[arg(long, default_value = commands::seed::DEMO_DOMAIN)]
        domain: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check organizations' audit hash chains; prints one line each and exits 1 when one is
    /// broken.
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Only this organization (default: every organization with audit records).
        #[arg(long)]
        org: Option<uuid::Uuid>,
        /// The key checkpoints are signed with, to check them too.
        #[arg(long, env = "BEACON_AUDIT_KEY", hide_env_values = true)]
        audit_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum SourcemapsCommand {
    /// Upload a build directory's .js and .map files for a release.
    Upload(commands::sourcemaps::UploadArgs),
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BEACON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// mimalloc instead of glibc's malloc: under error ingestion a sixth of the server's CPU was
/// in glibc's malloc and free, and its per-thread arenas keep freed memory (docs/benchmarks.md).
/// Built without transparent huge pages (the `no_thp` feature) and told to return freed memory
/// after 10 ms ([`return_freed_memory_soon`]): with its defaults the server held 115 MiB idle
/// and peaked at 173–184 MiB under 1,024 connections; with both, 60 and 130–133 MiB, for
/// about a tenth of the throughput at that load (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's C API (`mimalloc.h`): `void mi_option_set(mi_option_t option, long value)`.
#[allow(
    unsafe_code,
    reason = "one declaration of a C function the linked mimalloc exports"
)]
mod mimalloc_options {
    use std::ffi::{c_int, c_long};

    // SAFETY: the signature is the one in mimalloc.h (an enum is a C int); the function only
    // stores an integer in mimalloc's option table, which any value is valid for.
    unsafe extern "C" {
        pub safe fn mi_option_set(option: c_int, value: c_long);
    }

    /// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (the 16th entry; the Rust
    /// bindings do not name it).
    pub const PURGE_DELAY: c_int = 15;
}

/// Makes mimalloc give freed pages back to the OS 10 ms after they are free rather than after
/// its default second, so memory freed by one burst of requests is not held while the next
/// one allocates more. At once (0) cost a fifth of the throughput at 1,024 connections (a
/// system call for every page freed); 10 ms is mimalloc 2's default.
fn return_freed_memory_soon() {
    mimalloc_options::mi_option_set(mimalloc_options::PURGE_DELAY, 10);
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    return_freed_memory_soon();
    let cli = Cli::parse();
    init_logging();
    // Two TLS crypto backends get linked; pick one before any TLS client is built.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints a failure for people: `error: <what failed>: <why>: …` on one line. anyhow's
/// `Debug` form (returning the error from `main`) adds a stack backtrace whenever
/// `RUST_BACKTRACE` is set, as it often is on developers' machines; that form is only printed
/// when `BEACON_BACKTRACE=1` asks for it.
fn report(error: &anyhow::Error) {
    if std::env::var_os("BEACON_BACKTRACE").is_some_and(|value| value == "1") {
        eprintln!("error: {error:?}");
    } else {
        eprintln!("error: {error:#}");
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            database,
            server,
            mail,
            demo,
        } => commands::serve::run(&database, &server, &mail, demo).await,
        Command::Sourcemaps {
            command: SourcemapsCommand::Upload(args),
        } => commands::sourcemaps::upload(&args).await,
        Command::Worker {
            database,
            mail,
            billing,
            audit_key,
            secret_key,
        } => {
            // Built (and its settings checked) before the database is opened.
            let billing = std::sync::Arc::new(billing::Billing::new(&billing.config())?);
            let audit_key = api::config::audit_key(audit_key.as_deref())?;
            let sealing_key = match api::config::secret_key(secret_key.as_deref())? {
                Some(key) => key,
                None => tenant::sealed::SealingKey::load_or_create(
                    &database.data_dir.join("secret.key"),
                )?,
            };
            let mut db_handle = api::database::open_and_migrate(&database).await?;
            db_handle.supervise();
            let db = Db::connect(&db_handle.owner_url, &PoolConfig::default())?;
            let public_url = mail.public_url("127.0.0.1:8000".parse()?);
            commands::worker::run(
                &db_handle.owner_url,
                db,
                commands::worker::JobSettings {
                    database: &database,
                    mail: &mail,
                    public_url,
                    billing,
                    audit_key,
                    sealing_key: std::sync::Arc::new(sealing_key),
                },
                Default::default(),
                commands::serve::wait_for_signal(),
            )
            .await?;
            db_handle.shutdown()
        }
        Command::Audit {
            command:
                AuditCommand::Verify {
                    database,
                    org,
                    audit_key,
                },
        } => {
            let key = api::config::audit_key(audit_key.as_deref())?;
            let db_handle = api::database::open_and_migrate(&database).await?;
            let checked = commands::audit::verify(&db_handle.owner_url, org, key.as_ref()).await?;
            for check in &checked {
                println!("{}", check.line);
            }
            let broken = checked.iter().filter(|c| !c.intact).count();
            db_handle.shutdown()?;
            if broken > 0 {
                anyhow::bail!("{broken} audit chain(s) broken");
            }
            if checked.is_empty() {
                println!("no audit records yet");
            }
            Ok(())
        }
        Command::Migrate { database } => {
            let db_handle = api::database::open_and_migrate(&database).await?;
            println!("migrations applied");
            db_handle.shutdown()
        }
        Command::Rollup { database } => {
            let db_handle = api::database::open_and_migrate(&database).await?;
            let sweeper = Db::connect_as(
                &db_handle.owner_url,
                tenant::AppRole::Sweeper,
                &PoolConfig {
                    max_size: 1,
                    statement_timeout: std::time::Duration::from_secs(3600),
                    ..Default::default()
                },
            )?;
            let minutes =
                worker::jobs::rollup_all_tenants::advance_all(&sweeper, &tenant::Clock::system())
                    .await?;
            println!("rolled up {:.1} project-hours", minutes as f64 / 60.0);
            db_handle.shutdown()
        }
        Command::Openapi { out } => {
            commands::openapi::write(&out)?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Seed {
            database,
            demo: _,
            json,
            email,
            password,
            domain,
        } => {
            let db_handle = api::database::open_and_migrate(&database).await?;
            let db = Db::connect(&db_handle.owner_url, &PoolConfig::default())?;
            let seeded = commands::seed::ensure_demo(&db, &email, &domain, &password)
                .await
                .context("seeding demo data")?;
            let ingest_db = Db::connect_as(
                &db_handle.owner_url,
                tenant::AppRole::Ingest,
                &PoolConfig::default(),
            )?;
            let ingest =
                api::state::ingest(&db, ingest_db, &api::config::ServerArgs::from_env()?, false)?;
            let traffic =
                commands::demo_traffic::for_demo(&db_handle.owner_url, &db, &ingest, &seeded).await;
            ingest.writer.shutdown().await;
            ingest.errors.shutdown().await;
            commands::seed::print(&seeded, json)?;
            if let (Some(traffic), false) = (traffic?, json) {
                println!("{traffic}");
            }
            db_handle.shutdown()
        }
    }
}
