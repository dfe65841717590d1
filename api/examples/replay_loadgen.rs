//! Load generator for `POST /api/replay`: session replay chunks over keep-alive HTTP/1.1
//! connections, as `/js/replay-recorder.js` sends them, with varied client IPs
//! (`X-Forwarded-For`; run the server with `BEACON_TRUSTED_PROXIES=127.0.0.1`) and real desktop
//! browser user agents.
//!
//! The chunks come from a real recording: `--chunks FILE` is a JSON array of chunks, each the
//! JSON array of rrweb events one upload carried (chunk 0 holds the meta and full snapshot
//! events; `web/tracker/bench/replay-bench.mjs record` writes such a file from Chromium). At
//! start, every event's timestamp is shifted so the recording ends now (the server refuses
//! events older than 24 hours), and each chunk is gzipped once, as the browser sends it. Each
//! connection then plays simulated sessions one after another: a new random recording id, chunk
//! 0, then the incremental chunks in order (`n` increasing), each waiting for its answer (202
//! only once committed).
//!
//! Saturation: `replay_loadgen --addr 127.0.0.1:8000 --domain bench.example --chunks rec.json
//! --connections 16 --seconds 20`. Fixed rate: add `--rate 200` (chunks/s); latency is then
//! measured from each request's scheduled send time.
//!
//! Prints one JSON object: requests, accepted (202 `stored`), refused (429/503), errors (other
//! statuses or broken connections, with the first few statuses seen), sessions started,
//! throughput (chunks/s and wire MB/s of accepted chunks), the chunk sizes, and p50/p95/p99/max
//! latency in milliseconds (all chunks, and chunk 0 alone).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod http_load;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::BufReader;

use http_load::{due, open, percentile, run_nonce, send};

/// Desktop browsers only: the bench's recording is a desktop page.
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];

struct Args {
    addr: String,
    domain: String,
    chunks: String,
    connections: usize,
    seconds: u64,
    rate: Option<f64>,
}

fn args() -> Args {
    let mut args = Args {
        addr: "127.0.0.1:8000".into(),
        domain: "bench.example".into(),
        chunks: String::new(),
        connections: 16,
        seconds: 20,
        rate: None,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--addr" => args.addr = value,
            "--domain" => args.domain = value,
            "--chunks" => args.chunks = value,
            "--connections" => args.connections = value.parse().expect("--connections N"),
            "--seconds" => args.seconds = value.parse().expect("--seconds N"),
            "--rate" => args.rate = Some(value.parse().expect("--rate N")),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        !args.chunks.is_empty(),
        "--chunks FILE (a JSON array of chunks of rrweb events)"
    );
    args
}

/// The recording's chunks, re-timed to end now and gzipped.
fn bodies(path: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(path).expect("read --chunks");
    let mut chunks: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(&text).expect("--chunks JSON");
    assert!(!chunks.is_empty(), "no chunks");
    let last = chunks
        .iter()
        .flatten()
        .filter_map(|event| event.get("timestamp").and_then(serde_json::Value::as_i64))
        .max()
        .expect("timestamps");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Ends a few seconds ago, so every chunk of the whole run stays within the server's window.
    let shift = now - 5_000 - last;
    for event in chunks.iter_mut().flatten() {
        if let Some(ts) = event.get("timestamp").and_then(serde_json::Value::as_i64) {
            event["timestamp"] = serde_json::json!(ts + shift);
        }
    }
    chunks
        .iter()
        .map(|events| {
            let json = serde_json::to_vec(events).unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&json).unwrap();
            gz.finish().unwrap()
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    first_latencies_us: Vec<u64>,
    accepted: u64,
    accepted_bytes: u64,
    refused: u64,
    errors: u64,
    sessions: u64,
    statuses: Vec<u16>,
}

async fn connection(
    index: usize,
    args: Arc<Args>,
    bodies: Arc<Vec<Vec<u8>>>,
    started: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut stream = BufReader::new(open(&args.addr).await.expect("connect"));
    let end = started + Duration::from_secs(args.seconds);
    let interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.connections as f64 / rate));
    let mut seed = index as u64 * 7919 + 1 + u64::from(run_nonce());
    let mut session = String::new();
    let (mut ip, mut agent) = (String::new(), AGENTS[0]);
    for n in 0u64.. {
        let scheduled = due(started, interval, n, index, args.connections);
        if scheduled >= end {
            break;
        }
        if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        let seq = (n % bodies.len() as u64) as usize;
        if seq == 0 {
            // A new visitor's recording.
            let mut next = || {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                seed
            };
            let (a, b) = (next(), next());
            session = format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                (b >> 48) & 0xfff,
                b & 0xffff_ffff_ffff
            );
            ip = format!(
                "10.{}.{}.{}",
                (b >> 16) % 256,
                (b >> 24) % 256,
                (b >> 32) % 254 + 1
            );
            agent = AGENTS[(a >> 40) as usize % AGENTS.len()];
            tally.sessions += 1;
        }
        let body = &bodies[seq];
        let head = format!(
            "POST /api/replay?d={}&s={session}&n={seq} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {agent}\r\nX-Forwarded-For: {ip}\r\nOrigin: https://{}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
            args.domain,
            args.addr,
            args.domain,
            body.len()
        );
        let mut request = Vec::with_capacity(head.len() + body.len());
        request.extend_from_slice(head.as_bytes());
        request.extend_from_slice(body);
        match send(&mut stream, &request).await {
            Some(202) => {
                tally.accepted += 1;
                tally.accepted_bytes += body.len() as u64;
            }
            Some(status @ (429 | 503)) => {
                tally.refused += 1;
                if tally.statuses.len() < 5 {
                    tally.statuses.push(status);
                }
            }
            Some(status) => {
                tally.errors += 1;
                if tally.statuses.len() < 5 {
                    tally.statuses.push(status);
                }
            }
            None => {
                tally.errors += 1;
                match open(&args.addr).await {
                    Ok(fresh) => stream = BufReader::new(fresh),
                    Err(_) => break,
                }
            }
        }
        let latency = scheduled.elapsed().as_micros() as u64;
        tally.latencies_us.push(latency);
        if seq == 0 {
            tally.first_latencies_us.push(latency);
        }
    }
    tally
}

#[tokio::main]
async fn main() {
    let args = Arc::new(args());
    let bodies = Arc::new(bodies(&args.chunks));
    let mut sizes: Vec<usize> = bodies.iter().skip(1).map(Vec::len).collect();
    sizes.sort_unstable();
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.connections)
        .map(|i| tokio::spawn(connection(i, args.clone(), bodies.clone(), started)))
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await.unwrap();
        all.latencies_us.extend(tally.latencies_us);
        all.first_latencies_us.extend(tally.first_latencies_us);
        all.accepted += tally.accepted;
        all.accepted_bytes += tally.accepted_bytes;
        all.refused += tally.refused;
        all.errors += tally.errors;
        all.sessions += tally.sessions;
        if all.statuses.len() < 5 {
            all.statuses.extend(tally.statuses);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    all.first_latencies_us.sort_unstable();
    let all_bytes: usize = bodies.iter().map(Vec::len).sum();
    println!(
        "{{\"requests\":{},\"accepted\":{},\"refused\":{},\"errors\":{},\"statuses\":{:?},\"sessions\":{},\"seconds\":{:.1},\"throughput\":{:.1},\"mb_per_s\":{:.2},\"chunks_per_session\":{},\"snapshot_chunk_bytes\":{},\"incremental_chunk_bytes_median\":{},\"mean_chunk_bytes\":{},\"p50_ms\":{:.2},\"p95_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2},\"snapshot_p50_ms\":{:.2},\"snapshot_p99_ms\":{:.2}}}",
        all.latencies_us.len(),
        all.accepted,
        all.refused,
        all.errors,
        all.statuses,
        all.sessions,
        elapsed,
        all.accepted as f64 / elapsed,
        all.accepted_bytes as f64 / elapsed / 1e6,
        bodies.len(),
        bodies[0].len(),
        sizes.get(sizes.len() / 2).copied().unwrap_or_default(),
        all_bytes / bodies.len(),
        percentile(&all.latencies_us, 0.5),
        percentile(&all.latencies_us, 0.95),
        percentile(&all.latencies_us, 0.99),
        percentile(&all.latencies_us, 1.0),
        percentile(&all.first_latencies_us, 0.5),
        percentile(&all.first_latencies_us, 0.99),
    );
}
