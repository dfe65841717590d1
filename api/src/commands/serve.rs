//! `beacon serve`: the HTTP server, with the job workers in-process unless told otherwise.
//! The embedded PostgreSQL (without `DATABASE_URL`) is watched and started again when it dies;
//! the workers reconnect by themselves. SIGINT or SIGTERM stops accepting, drains requests and
//! running jobs, then stops the embedded PostgreSQL if this process owns it (it started it, or
//! found it left running by a Beacon that was killed).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::Server;
use poem::listener::{Acceptor, TcpAcceptor};
use tenant::Db;
use tenant::db::PoolConfig;
use tokio::sync::watch;
use worker::WorkerHealth;

use crate::commands::seed;
use crate::config::{DatabaseArgs, MailArgs, ServerArgs};
use crate::database;
use crate::health::Health;
use crate::state::AppState;

/// Runs the server until a shutdown signal. With `demo`, seeds the demo organization first and
/// prints its login.
pub async fn run(
    db_args: &DatabaseArgs,
    server: &ServerArgs,
    mail: &MailArgs,
    demo: bool,
) -> anyhow::Result<()> {
    server.billing.config().check()?;
    crate::config::audit_key(server.audit_key.as_deref())?;
    let mut database = database::open_and_migrate(db_args).await?;
    let health = Health {
        worker: (!server.no_worker).then(|| Arc::new(WorkerHealth::default())),
        embedded_postgres: database.supervise(),
    };
    let db = Db::connect(
        &database.owner_url,
        &PoolConfig {
            max_size: db_args.db_pool_size,
            ..PoolConfig::default()
        },
    )?;
    let ingest_db = Db::connect_as(
        &database.owner_url,
        tenant::AppRole::Ingest,
        &PoolConfig {
            max_size: 8,
            ..PoolConfig::default()
        },
    )?;
    let mut state = AppState::assemble(
        db.clone(),
        ingest_db,
        server,
        health.clone(),
        tenant::Clock::system(),
    )?;
    state.ai = mail.ai.client()?;
    state.blobs = db_args.blob_store()?;
    let ingest = state.ingest.clone();
    let acceptor =
        listen(server.listen).with_context(|| format!("listening on {}", server.listen))?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().copied())
        .unwrap_or(server.listen);
    let public_url = mail.public_url(local);
    state.public_url = Some(public_url.clone());
    state.exports_dir = db_args.data_dir.join("exports");
    state.dns = worker::dns::TxtChecker::new(mail.dns_server)?;
    if server.secret_key.is_none() {
        state.sealing_key = Arc::new(tenant::sealed::SealingKey::load_or_create(
            &db_args.data_dir.join("secret.key"),
        )?);
    }
    state.outbound = worker::outbound::Outbound::new(
        mail.extra_ca_certs.as_deref(),
        mail.allow_private_outbound,
        crate::state::OUTBOUND_TIMEOUT,
    )?;

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    let workers = health.worker.clone().map(|worker_health| {
        let owner_url = database.owner_url.clone();
        let (db, db_args, mail, public_url, billing) = (
            db.clone(),
            db_args.clone(),
            mail.clone(),
            public_url.clone(),
            state.billing.clone(),
        );
        let audit_key = state.audit_key.clone();
        let sealing_key = state.sealing_key.clone();
        let stop = stopped(stop_rx.clone());
        tokio::spawn(async move {
            crate::commands::worker::run(
                &owner_url,
                db,
                crate::commands::worker::JobSettings {
                    database: &db_args,
                    mail: &mail,
                    public_url,
                    billing,
                    audit_key,
                    sealing_key,
                },
                worker_health,
                stop,
            )
            .await
        })
    });

    if demo {
        let seeded = seed::ensure_demo(
            &db,
            seed::DEMO_EMAIL,
            seed::DEMO_DOMAIN,
            seed::DEMO_PASSWORD,
        )
        .await?;
        let traffic =
            crate::commands::demo_traffic::for_demo(&database.owner_url, &db, &ingest, &seeded)
                .await?;
        println!(
            "Beacon demo organization ready. Sign in as {} / {}",
            seeded.email, seeded.password
        );
        if let Some(traffic) = traffic {
            println!("{traffic}");
        }
    }
    if let Some(note) = database.relocation_note(db_args) {
        println!("{note}");
    }
    println!("Beacon is running at {public_url} (API docs: {public_url}/api/docs)");
    tracing::info!(listen = %local, "listening");

    let app = crate::app::build(state, server.max_body_bytes);
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, stopped(stop_rx), Some(Duration::from_secs(30)))
        .await
        .context("HTTP server")?;
    tracing::info!("HTTP server drained");
    ingest.writer.shutdown().await;
    ingest.errors.shutdown().await;
    if let Some(workers) = workers {
        match workers.await {
            Ok(Ok(())) => tracing::info!("workers drained"),
            Ok(Err(error)) => tracing::error!(error = %format!("{error:#}"), "workers failed"),
            Err(error) => tracing::error!(%error, "worker task panicked"),
        }
    }
    database.shutdown()
}

/// Resolves once the watch says stop.
pub async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Waits for SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
    tracing::info!("shutdown requested");
}

/// Connections the kernel may hold for the server before it accepts them. The standard
/// library's 128 overflowed whenever a few hundred clients connected at once: the kernel then
/// drops their handshakes and they retry after a second, which the load generator measured as
/// one-second requests (`nstat` counted the `TcpExtListenOverflows`; docs/benchmarks.md). The
/// kernel caps it at `net.core.somaxconn` (4,096 by default).
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` (with `SO_REUSEADDR`, as the standard listener does) and listens with
/// [`LISTEN_BACKLOG`].
fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpAcceptor> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    TcpAcceptor::from_tokio(socket.listen(LISTEN_BACKLOG)?)
}
