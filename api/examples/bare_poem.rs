//! The floor under Beacon's per-request cost: a bare poem server answering `GET /healthz` with
//! `ok`, on the same runtime settings as `beacon serve` (tokio's multi-threaded runtime, one
//! worker per core), so `scripts/bench-wrk` can put Beacon's own `/healthz` beside it in one run.
//!
//! `bare_poem 127.0.0.1:18083`

use poem::listener::TcpListener;
use poem::{Route, Server, get, handler};

#[handler]
fn healthz() -> &'static str {
    "ok"
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18083".into());
    Server::new(TcpListener::bind(addr))
        .run(Route::new().at("/healthz", get(healthz)))
        .await?;
    Ok(())
}
