//! Peak memory of reading one replay chunk, the way Beacon reads it
//! (`tenant::replay::chunk::summarize`: each event's fields kept as references into the body)
//! against reading it into a tree of `serde_json::Value`s (what Beacon did before), for the
//! hostile bodies a site visitor can send within the 8 MiB decoded cap, and for a realistic
//! chunk from the recorder.
//!
//! `cargo run --release -p tenant --example replay_parse_memory`
//!
//! The figures are in `docs/benchmarks.md` ("Session replay").

use std::process::Command;

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A JSON array of `item` repeated to just under 8 MiB.
fn filled(item: &str) -> Vec<u8> {
    let cap = tenant::replay::chunk::MAX_DECODED_BYTES;
    let count = (cap - 2) / (item.len() + 1);
    let mut body = Vec::with_capacity(cap);
    body.push(b'[');
    for i in 0..count {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.as_bytes());
    }
    body.push(b']');
    body
}

/// The bodies measured: (name, body).
fn cases(now: chrono::DateTime<chrono::Utc>) -> Vec<(&'static str, Vec<u8>)> {
    let t = now.timestamp_millis() - 1_000;
    // One string written in place, so building it peaks at about its own size.
    let realistic = {
        use std::fmt::Write;
        let mut body = String::with_capacity(5 << 20);
        let _ = write!(
            body,
            r#"[{{"type":4,"timestamp":{t},"data":{{"href":"https://shop.example/cart","width":1280,"height":800}}}}"#
        );
        for i in 0..20_000 {
            let _ = write!(
                body,
                r#",{{"type":3,"timestamp":{},"data":{{"source":0,"adds":[{{"parentId":{i},"nextId":null,"node":{{"type":2,"tagName":"div","attributes":{{"class":"row"}},"childNodes":[],"id":{}}}}}],"removes":[],"texts":[],"attributes":[]}}}}"#,
                t + i,
                i + 10
            );
        }
        body.push(']');
        body.into_bytes()
    };
    vec![
        ("zeros `[0,0,…]` (refused: not events)", filled("0")),
        (
            "empty objects `[{},{},…]` (refused: over 50,000 events)",
            filled("{}"),
        ),
        (
            "events whose data is nested arrays (refused: over 50,000 events)",
            filled(&format!(
                r#"{{"type":3,"timestamp":{t},"data":[[],[],[],[],[],[],[],[]]}}"#
            )),
        ),
        ("realistic: 20,000 DOM mutations (stored)", realistic),
    ]
}

/// Each case and way of reading runs in a process of its own, so each peak is its own: the
/// process's peak resident memory less that of a process that only built the body.
fn main() -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let args: Vec<String> = std::env::args().collect();
    if let [_, case, mode] = args.as_slice() {
        let index: usize = case.parse()?;
        let (_, body) = cases(now).swap_remove(index);
        match mode.as_str() {
            "beacon" => {
                let _ = std::hint::black_box(tenant::replay::chunk::summarize(&body, now));
            }
            "tree" => {
                let _ =
                    std::hint::black_box(serde_json::from_slice::<Vec<serde_json::Value>>(&body));
            }
            _ => {}
        }
        println!("{}", peak_rss_kib());
        return Ok(());
    }
    let me = std::env::current_exe()?;
    let peak = |case: usize, mode: &str| -> anyhow::Result<f64> {
        let output = Command::new(&me)
            .args([case.to_string(), mode.to_owned()])
            .output()?;
        Ok(String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse::<f64>()?
            / 1024.0)
    };
    println!(
        "| body | size | Beacon's read, peak RSS above the body | tree of values, same | ratio |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (index, (name, body)) in cases(now).into_iter().enumerate() {
        let base = peak(index, "none")?;
        // RSS moves in pages: under 0.1 MiB is shown as such, and the ratio taken from 0.1.
        let beacon = peak(index, "beacon")? - base;
        let tree = peak(index, "tree")? - base;
        let shown = if beacon < 0.1 {
            "< 0.1".to_owned()
        } else {
            format!("{beacon:.1}")
        };
        println!(
            "| {name} | {:.1} MiB | {shown} MiB | {tree:.1} MiB | {:.0}× |",
            body.len() as f64 / 1_048_576.0,
            tree / beacon.max(0.1)
        );
    }
    Ok(())
}
