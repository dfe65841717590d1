//! Load generator for `POST /api/event`: single-event requests over keep-alive connections,
//! with varied client IPs (`X-Forwarded-For`; run the server with
//! `BEACON_TRUSTED_PROXIES=127.0.0.1`) and real browser user agents.
//!
//! With `--envelope '/api/{ingest_id}/envelope/?sentry_key={key}'` it sends Sentry envelopes
//! instead, as the browser SDK does: one error event each (about 3 KB: a stack of 12 frames,
//! 10 breadcrumbs, tags, a request), with 40 distinct errors so grouping works on real issues.
//!
//! Saturation: `loadgen --addr 127.0.0.1:8000 --domain bench.example --connections 64 --seconds 20`
//! Fixed rate: add `--rate 10000`; latency is then measured from each request's scheduled send
//! time, so a stalled server shows up as latency instead of as fewer requests.
//!
//! Prints one JSON object: requests, accepted (202), refused (503), errors, throughput (202/s),
//! and p50/p90/p99/max latency in milliseconds.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod http_load;

use std::time::{Duration, Instant};

use tokio::io::BufReader;

use http_load::{due, open, percentile, run_nonce, send};

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
];

struct Args {
    addr: String,
    domain: String,
    connections: usize,
    seconds: u64,
    rate: Option<u64>,
    envelope: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        addr: "127.0.0.1:8000".into(),
        domain: "bench.example".into(),
        connections: 64,
        seconds: 20,
        rate: None,
        envelope: None,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--addr" => args.addr = value,
            "--domain" => args.domain = value,
            "--connections" => args.connections = value.parse().expect("--connections N"),
            "--seconds" => args.seconds = value.parse().expect("--seconds N"),
            "--rate" => args.rate = Some(value.parse().expect("--rate N")),
            "--envelope" => args.envelope = Some(value),
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    accepted: u64,
    refused: u64,
    errors: u64,
}

async fn connection(index: usize, args: std::sync::Arc<Args>, started: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut stream = BufReader::new(open(&args.addr).await.expect("connect"));
    let end = started + Duration::from_secs(args.seconds);
    let interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.connections as f64 / rate as f64));
    let mut seed = index as u64 * 7919 + 1;
    for n in 0u64.. {
        let scheduled = due(started, interval, n, index, args.connections);
        if scheduled >= end {
            break;
        }
        if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let ip = format!(
            "10.{}.{}.{}",
            (seed >> 16) % 256,
            (seed >> 24) % 256,
            (seed >> 32) % 254 + 1
        );
        let agent = AGENTS[(seed >> 40) as usize % AGENTS.len()];
        let request = match &args.envelope {
            Some(path) => {
                let body = envelope(seed, n, index);
                format!(
                    "POST {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {agent}\r\nX-Forwarded-For: {ip}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
                    args.addr,
                    body.len()
                )
            }
            None => {
                let body = format!(
                    r#"{{"n":"pageview","u":"https://{}/page/{}","d":"{}","r":"https://www.google.com/"}}"#,
                    args.domain,
                    (seed >> 8) % 200,
                    args.domain
                );
                format!(
                    "POST /api/event HTTP/1.1\r\nHost: {}\r\nUser-Agent: {agent}\r\nX-Forwarded-For: {ip}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                    args.addr,
                    body.len()
                )
            }
        };
        match send(&mut stream, request.as_bytes()).await {
            Some(202 | 200) => tally.accepted += 1,
            Some(429) => tally.refused += 1,
            Some(503) => tally.refused += 1,
            Some(_) => tally.errors += 1,
            None => {
                tally.errors += 1;
                match open(&args.addr).await {
                    Ok(fresh) => stream = BufReader::new(fresh),
                    Err(_) => break,
                }
            }
        }
        tally
            .latencies_us
            .push(scheduled.elapsed().as_micros() as u64);
    }
    tally
}

/// A browser SDK envelope with one error event, one of 40 distinct errors; every event id is
/// new, so each request does the full work (an SDK retry of a stored id would be a no-op).
fn envelope(seed: u64, n: u64, connection: usize) -> String {
    let kind = seed % 40;
    let event_id = format!(
        "{:08x}{:08x}{:08x}{:08x}",
        run_nonce(),
        (seed >> 32) as u32,
        n as u32,
        connection as u32
    );
    let frames: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"filename":"https://shop.example/static/app.{kind}.min.js","function":"fn{i}_{kind}","lineno":1,"colno":{},"in_app":true}}"#,
                100 + i * 37
            )
        })
        .collect();
    let crumbs: Vec<String> = (0..10)
        .map(|i| format!(r#"{{"timestamp":1795334400.{i},"category":"ui.click","message":"button#buy-{i} clicked"}}"#))
        .collect();
    let event = format!(
        r#"{{"event_id":"{event_id}","timestamp":{},"platform":"javascript","level":"error","release":"shop@1.0.{}","environment":"production","exception":{{"values":[{{"type":"TypeError","value":"Cannot read properties of undefined (reading 'amount{kind}')","mechanism":{{"type":"auto.browser.global_handlers.onerror","handled":false}},"stacktrace":{{"frames":[{}]}}}}]}},"breadcrumbs":[{}],"tags":{{"page":"checkout","ab":"variant-{}"}},"user":{{"id":"user-{}"}},"request":{{"url":"https://shop.example/checkout?step=2","headers":{{"User-Agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}}}},"sdk":{{"name":"sentry.javascript.browser","version":"11.12.0"}}}}"#,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default(),
        seed % 3,
        frames.join(","),
        crumbs.join(","),
        seed % 2,
        seed % 5000,
    );
    format!(
        "{{\"event_id\":\"{event_id}\",\"sdk\":{{\"name\":\"sentry.javascript.browser\",\"version\":\"11.12.0\"}}}}\n{{\"type\":\"event\"}}\n{event}"
    )
}

#[tokio::main]
async fn main() {
    let args = std::sync::Arc::new(args());
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.connections)
        .map(|i| tokio::spawn(connection(i, args.clone(), started)))
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await.unwrap();
        all.latencies_us.extend(tally.latencies_us);
        all.accepted += tally.accepted;
        all.refused += tally.refused;
        all.errors += tally.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let pct = |p: f64| percentile(&all.latencies_us, p);
    println!(
        "{{\"requests\":{},\"accepted\":{},\"refused\":{},\"errors\":{},\"seconds\":{:.1},\"throughput\":{:.0},\"p50_ms\":{:.2},\"p90_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2}}}",
        all.latencies_us.len(),
        all.accepted,
        all.refused,
        all.errors,
        elapsed,
        all.accepted as f64 / elapsed,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
}
