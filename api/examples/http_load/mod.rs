//! The HTTP/1.1 plumbing the load generators share (`loadgen`, `replay_loadgen`): a keep-alive
//! connection without Nagle's delay, when each request is due, one request written at once and
//! its answer read, a run's nonce, and latency percentiles.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A connection to `addr` with `TCP_NODELAY`, as a browser's.
pub async fn open(addr: &str) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends one request (head and body in one write, as a browser does: two writes would meet
/// Nagle's algorithm and the server's delayed ACK, about 40 ms each) and reads its answer;
/// its status, or `None` when the connection broke.
pub async fn send(stream: &mut BufReader<TcpStream>, request: &[u8]) -> Option<u16> {
    stream.get_mut().write_all(request).await.ok()?;
    let mut line = String::new();
    stream.read_line(&mut line).await.ok()?;
    let status = line.split(' ').nth(1)?.parse().ok()?;
    let mut length = 0usize;
    loop {
        line.clear();
        stream.read_line(&mut line).await.ok()?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().ok()?;
        }
    }
    let mut answer = vec![0; length];
    stream.read_exact(&mut answer).await.ok()?;
    Some(status)
}

/// Distinguishes this run's ids (event ids, recording ids) from an earlier run's.
pub fn run_nonce() -> u32 {
    static NONCE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *NONCE.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ d.as_secs() as u32)
            .unwrap_or_default()
    })
}

/// The `p` quantile (0 to 1) of `sorted` microseconds, in milliseconds.
pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        0.0
    } else {
        sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
    }
}

/// When request `n` of connection `index` (of `connections`) is due: at once without a rate;
/// with one, every `interval` from `started`, the connections spread evenly across it (latency
/// is then measured from this moment, so a stalled server shows as latency).
pub fn due(
    started: Instant,
    interval: Option<Duration>,
    n: u64,
    index: usize,
    connections: usize,
) -> Instant {
    match interval {
        Some(interval) => {
            started
                + interval.mul_f64(n as f64)
                + interval.mul_f64(index as f64 / connections as f64)
        }
        None => Instant::now(),
    }
}
