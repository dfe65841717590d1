//! Ingestion against the real binary: every acknowledged event survives a SIGKILL of the
//! server mid-load, and no IP address or user agent string reaches the database or the logs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::{BigInt, Text};
use tenant::diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::cli::{DataDir, beacon, free_port, get, seed};

/// One POST over a kept-alive connection; the status, or None when the connection broke.
pub(crate) fn post_event(
    stream: &mut BufReader<TcpStream>,
    body: &str,
    headers: &str,
) -> Option<u16> {
    let request = format!(
        "POST /api/event HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.get_mut().write_all(request.as_bytes()).ok()?;
    let mut status_line = String::new();
    stream.read_line(&mut status_line).ok()?;
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).ok()?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).ok()?;
    Some(status)
}

pub(crate) fn start(data: &Path, port: u16, log: &Path) -> crate::cli::Served {
    let child = crate::cli::Served(
        beacon(data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("BEACON_TRUSTED_PROXIES", "127.0.0.1")
            .env("BEACON_LOG", "info")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .unwrap(),
            )
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while get(port, "/readyz").map(|(status, _)| status) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "beacon serve did not become ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

#[derive(QueryableByName)]
struct Path_ {
    #[diesel(sql_type = Text)]
    pathname: String,
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    schema: String,
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Text)]
    column: String,
    #[diesel(sql_type = Text)]
    data_type: String,
}

/// Rows whose `column` holds `needle`: a bytea column as raw bytes, any other in its text form.
async fn count(db: &mut AsyncPgConnection, column: &Column, needle: &[u8]) -> i64 {
    let (schema, table, name) = (&column.schema, &column.table, &column.column);
    let sql = if column.data_type == "bytea" {
        format!(
            "SELECT count(*) AS n FROM \"{schema}\".\"{table}\" WHERE position($1 IN \"{name}\") > 0"
        )
    } else {
        format!(
            "SELECT count(*) AS n FROM \"{schema}\".\"{table}\" \
             WHERE strpos(\"{name}\"::text, convert_from($1, 'UTF8')) > 0"
        )
    };
    let found: Found = tenant::diesel::sql_query(sql)
        .bind::<tenant::diesel::sql_types::Binary, _>(needle.to_vec())
        .get_result(db)
        .await
        .unwrap();
    found.n
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_events_survive_sigkill_and_no_ip_or_agent_is_stored() {
    let data = DataDir::new();
    let log = data.0.join("beacon.log");
    let port = free_port();
    let mut server = start(&data.0, port, &log);
    let seeded = seed(
        &data.0,
        &[
            "--domain",
            "durable.example",
            "--email",
            "durable@example.com",
        ],
    );
    assert_eq!(seeded["domain"], "durable.example");

    // Four clients send events over keep-alive until the server dies under them.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let acked = acked.clone();
            std::thread::spawn(move || {
                let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else { return };
                let mut stream = BufReader::new(stream);
                let deadline = Instant::now() + Duration::from_secs(20);
                for i in 0.. {
                    if Instant::now() > deadline {
                        break;
                    }
                    let path = format!("/k/{client}/{i}");
                    let body = format!(r#"{{"n":"pageview","u":"https://durable.example{path}","d":"durable.example"}}"#);
                    let headers = format!("User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\nX-Forwarded-For: 203.0.113.{}\r\n", i % 250);
                    match post_event(&mut stream, &body, &headers) {
                        Some(202) => acked.lock().unwrap().push(path),
                        Some(_) => {}
                        None => break,
                    }
                }
            })
        })
        .collect();
    // Kill once enough events are acknowledged to mean something (a fixed sleep gave too few
    // on a loaded machine), or after 15 s, when the assertion below reports the shortfall.
    let waited = Instant::now();
    while acked.lock().unwrap().len() < 200 && waited.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    for client in clients {
        client.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "too little load to mean anything: {}",
        acked.len()
    );

    // Restart and count: every acknowledged event is there.
    let mut server = start(&data.0, port, &log);
    let url = format!(
        "postgres://beacon@localhost/beacon?host={}",
        data.0.join("run").display()
    );
    let mut db = AsyncPgConnection::establish(&url).await.unwrap();
    let stored: Vec<Path_> =
        tenant::diesel::sql_query("SELECT pathname FROM events WHERE pathname LIKE '/k/%'")
            .load(&mut db)
            .await
            .unwrap();
    let stored: std::collections::HashSet<String> =
        stored.into_iter().map(|p| p.pathname).collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|path| !stored.contains(*path))
        .collect();
    eprintln!(
        "acknowledged {} events before SIGKILL, stored {}, lost {}",
        acked.len(),
        stored.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "acknowledged but lost: {:?}",
        &lost[..lost.len().min(10)]
    );

    // Privacy: a known IP and user agent leave no trace in any table or log.
    const IP: &str = "198.51.100.77";
    const OTHER_IP: &str = "198.51.100.78";
    const AGENT: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 PrivacyProbe/7.7";
    let mut stream = BufReader::new(TcpStream::connect(("127.0.0.1", port)).unwrap());
    for (path, ip) in [
        ("/privacy", IP),
        ("/privacy-other", OTHER_IP),
        ("/privacy-again", IP),
    ] {
        let body = format!(
            r#"{{"n":"Signup","u":"https://durable.example{path}","d":"durable.example","p":{{"plan":"pro"}}}}"#
        );
        let headers = format!("User-Agent: {AGENT}\r\nX-Forwarded-For: {ip}\r\n");
        assert_eq!(
            post_event(&mut stream, &body, &headers),
            Some(202),
            "{path}"
        );
    }
    #[derive(QueryableByName)]
    struct Visitor {
        #[diesel(sql_type = Text)]
        pathname: String,
        #[diesel(sql_type = BigInt)]
        visitor_id: i64,
    }
    let visitors: std::collections::HashMap<String, i64> = tenant::diesel::sql_query(
        "SELECT pathname, visitor_id FROM events WHERE pathname LIKE '/privacy%'",
    )
    .load::<Visitor>(&mut db)
    .await
    .unwrap()
    .into_iter()
    .map(|v| (v.pathname, v.visitor_id))
    .collect();
    assert_eq!(visitors.len(), 3, "the probe events were stored");
    // Positive control: the probe IP reached the visitor id (the IP the search below must not
    // find was really the one used): another IP is another visitor, the same IP the same one.
    assert_ne!(visitors["/privacy"], visitors["/privacy-other"]);
    assert_eq!(visitors["/privacy"], visitors["/privacy-again"]);
    let columns: Vec<Column> = tenant::diesel::sql_query(
        "SELECT c.table_schema::text AS schema, c.table_name::text AS table, \
                c.column_name::text AS column, c.data_type::text AS data_type \
         FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' \
         WHERE c.table_schema IN ('public', 'apalis')",
    )
    .load(&mut db)
    .await
    .unwrap();
    assert!(columns.len() > 50);
    assert!(columns.iter().any(|c| c.data_type == "bytea"));
    // Every column in its text form; bytea columns also as raw bytes: the needles' UTF-8, and
    // the IP's own four bytes and its IPv4-mapped IPv6 form (how the visitor hash takes it).
    let ip: std::net::Ipv4Addr = IP.parse().unwrap();
    let raw_ip = [ip.octets().to_vec(), ip.to_ipv6_mapped().octets().to_vec()];
    let (mut text_control, mut bytea_control) = (0, 0);
    for column in &columns {
        let mut needles: Vec<&[u8]> = vec![IP.as_bytes(), b"PrivacyProbe"];
        if column.data_type == "bytea" {
            needles.extend(raw_ip.iter().map(Vec::as_slice));
            // Positive control: the job payloads are bytea, searched raw.
            bytea_control += count(&mut db, column, b"rollup_all_tenants").await;
        } else {
            text_control += count(&mut db, column, b"/privacy").await;
        }
        for needle in needles {
            let hits = count(&mut db, column, needle).await;
            assert_eq!(
                hits,
                0,
                "{:?} found in {}.{}.{}",
                String::from_utf8_lossy(needle),
                column.schema,
                column.table,
                column.column
            );
        }
    }
    assert!(
        text_control > 0,
        "the text search finds the stored path (positive control)"
    );
    assert!(
        bytea_control > 0,
        "the raw bytea search finds a job payload (positive control)"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    let beacon_log = std::fs::read_to_string(&log).unwrap();
    let postgres_log = data.0.join("postgres/server.log");
    let postgres_log = std::fs::read_to_string(&postgres_log)
        .unwrap_or_else(|e| panic!("the PostgreSQL log {}: {e}", postgres_log.display()));
    assert!(
        beacon_log.contains("send_event"),
        "the access log was written"
    );
    assert!(
        postgres_log.contains("database system is ready to accept connections"),
        "the PostgreSQL log was written: {postgres_log}"
    );
    let logs = beacon_log + &postgres_log;
    for needle in [IP, "PrivacyProbe", "203.0.113."] {
        assert!(!logs.contains(needle), "{needle} reached a log");
    }
}
