//! The test harness: a real router on a fresh database, users made quickly, and a real SMTP
//! server (aiosmtpd) for the e-mail flows.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::middleware::Plumbing;
use api::state::AppState;
use poem::Response;
use poem::test::{TestClient, TestResponse};
use serde_json::{Value, json};
use tenant::test_support::TestDb;
use uuid::Uuid;

/// The application under test.
pub type Client = TestClient<Plumbing<poem::endpoint::BoxEndpoint<'static, Response>>>;

/// Installs the job queue into the test template.
pub fn queue_hook(
    url: String,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> {
    Box::pin(async move { worker::queue::setup(&url).await })
}

/// A test application.
pub struct TestApp {
    pub client: Client,
    pub test_db: TestDb,
    pub state: AppState,
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: Uuid,
    pub cookie: String,
    pub csrf: String,
}

/// Who sends a request.
#[derive(Clone, Debug)]
pub enum As {
    User(Session),
    Key(String),
    Nobody,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub async fn new() -> Self {
        Self::with_admins(vec![]).await
    }

    pub async fn with_admins(admin_emails: Vec<String>) -> Self {
        Self::build(admin_emails, Default::default()).await
    }

    /// An app whose ingestion writer is sized by `writer`.
    pub async fn with_writer(writer: tenant::ingest::writer::WriterConfig) -> Self {
        Self::build(vec![], writer).await
    }

    async fn build(
        admin_emails: Vec<String>,
        writer: tenant::ingest::writer::WriterConfig,
    ) -> Self {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let test_db = TestDb::new(Some(queue_hook)).await.expect("test database");
        let ingest_db = tenant::Db::connect_as(
            &test_db.owner_url,
            tenant::AppRole::Ingest,
            &tenant::db::PoolConfig::default(),
        )
        .unwrap();
        // The settings `beacon serve` would get here (BEACON_GEOIP_DB and
        // BEACON_REFERRER_LIST come from the test command), assembled the same way.
        let mut server = api::config::ServerArgs::from_env().expect("default settings");
        server.admin_emails = admin_emails;
        server.ingest_queue = writer.queue_capacity;
        server.ingest_batch = writer.max_batch;
        server.ingest_writers = writer.writers;
        let state = AppState::assemble(
            test_db.db.clone(),
            ingest_db,
            &server,
            Default::default(),
            // The system time until a test sets it (`TestApp::set_now`).
            tenant::Clock::settable(),
        )
        .expect("app state");
        let app = api::app::build_boxed(state.clone(), api::config::DEFAULT_MAX_BODY_BYTES);
        Self {
            client: TestClient::new(app),
            test_db,
            state,
        }
    }

    /// The same app with its state changed by `change` (limits, tokens), routed afresh.
    pub fn reconfigured(mut self, change: impl FnOnce(&mut AppState)) -> Self {
        change(&mut self.state);
        self.client = TestClient::new(api::app::build_boxed(
            self.state.clone(),
            api::config::DEFAULT_MAX_BODY_BYTES,
        ));
        self
    }

    /// Stops the app's clock (and the clock of its job contexts) at `now`.
    pub fn set_now(&self, now: chrono::DateTime<chrono::Utc>) {
        assert!(
            self.state.clock.set(now),
            "the test app's clock is settable"
        );
    }

    /// Serves the app on a loopback port (for real clients such as SDKs); the server stops
    /// when the test's runtime ends.
    pub async fn listen(&self) -> u16 {
        use poem::listener::{Acceptor, Listener};
        let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let app = api::app::build_boxed(self.state.clone(), api::config::DEFAULT_MAX_BODY_BYTES);
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        port
    }

    /// A verified user, signed in through the API.
    pub async fn user(&self, email: &str) -> Session {
        let hash = tenant::secrets::hash_password(PASSWORD).unwrap();
        let email = email.to_owned();
        let mut conn = self.state.db.conn().await.unwrap();
        let user = tenant::tables::users::create(&mut conn, &email, &hash)
            .await
            .unwrap()
            .expect("new user");
        tenant::tables::users::mark_verified(&mut conn, user.id)
            .await
            .unwrap();
        drop(conn);
        self.login(&email, PASSWORD).await
    }

    /// Signs in; panics unless it works.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let resp = self
            .client
            .post("/api/v1/auth/login")
            .body_json(&json!({"email": email, "password": password}))
            .send()
            .await;
        resp.assert_status_is_ok();
        let set_cookie = resp
            .0
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let body = resp.json().await;
        let body = body.value();
        Session {
            user_id: body
                .object()
                .get("user")
                .object()
                .get("id")
                .string()
                .parse()
                .unwrap(),

            cookie,
            csrf: body.object().get("csrf_token").string().to_owned(),
        }
    }

    /// Sends a request as `who`.
    pub async fn call(
        &self,
        who: &As,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> TestResponse {
        let method = poem::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, path);
        match who {
            As::User(session) => {
                req = req
                    .header("cookie", &session.cookie)
                    .header("x-csrf-token", &session.csrf);
            }
            As::Key(key) => req = req.header("authorization", format!("Bearer {key}")),
            As::Nobody => {}
        }
        if let Some(body) = body {
            req = req.body_json(&body);
        }
        req.send().await
    }

    /// Sends a request and returns status and JSON body (Null when empty).
    pub async fn json(
        &self,
        who: &As,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let resp = self.call(who, method, path, body).await;
        status_and_json(resp).await
    }

    /// Creates an organization as `owner`; returns its id.
    pub async fn org(&self, owner: &Session, name: &str) -> Uuid {
        let (status, body) = self
            .json(
                &As::User(owner.clone()),
                "POST",
                "/api/v1/orgs",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Creates a project; returns its JSON.
    pub async fn project(&self, who: &As, org: Uuid, domain: &str) -> Value {
        let (status, body) = self
            .json(
                who,
                "POST",
                &format!("/api/v1/orgs/{org}/projects"),
                Some(json!({"name": "Site", "domains": [domain], "timezone": "Europe/Berlin"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Creates an API key; returns (id, secret).
    pub async fn api_key(&self, who: &As, org: Uuid, scopes: &[&str]) -> (Uuid, String) {
        let (status, body) = self
            .json(
                who,
                "POST",
                &format!("/api/v1/orgs/{org}/api-keys"),
                Some(json!({"name": "test key", "scopes": scopes})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["key"]["id"].as_str().unwrap().parse().unwrap(),
            body["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Adds `user` to `org` with `role` directly (as an accepted invitation would).
    pub async fn add_member(
        &self,
        org: Uuid,
        user: &Session,
        role: tenant::tables::memberships::Role,
    ) {
        self.state
            .db
            .scoped(tenant::OrgId::from_uuid(org), async |conn| {
                Ok::<_, tenant::DbError>(
                    tenant::tables::memberships::upsert(
                        conn,
                        tenant::OrgId::from_uuid(org),
                        tenant::UserId::from_uuid(user.user_id),
                        role,
                    )
                    .await?,
                )
            })
            .await
            .unwrap();
    }

    /// Runs SQL as the owner (bypassing nothing: the owner is also under forced RLS, so this is
    /// for catalog and job-queue checks).
    pub async fn owner_conn(&self) -> tenant::diesel_async::AsyncPgConnection {
        use tenant::diesel_async::AsyncConnection;
        tenant::diesel_async::AsyncPgConnection::establish(&self.test_db.owner_url)
            .await
            .unwrap()
    }
}

/// Every row of one organization, by tenant table: row JSON (`row_to_json`), sorted.
pub type TenantRows = std::collections::BTreeMap<String, Vec<Value>>;

#[derive(tenant::diesel::QueryableByName)]
struct TableName {
    #[diesel(sql_type = tenant::diesel::sql_types::Text)]
    name: String,
}

#[derive(tenant::diesel::QueryableByName)]
struct RowJson {
    #[diesel(sql_type = tenant::diesel::sql_types::Text)]
    row: String,
}

impl TestApp {
    /// The tenant tables, found in the catalog so a new one is covered without a change here:
    /// every table of `public` with an `org_id` column (partitions are read through their parent).
    /// (`erased_organizations` is global, not a tenant table: what is left of an erased
    /// organization, checked by the deletion test.)
    pub async fn tenant_tables(&self) -> Vec<String> {
        use tenant::diesel_async::RunQueryDsl;
        let mut conn = self.owner_conn().await;
        let tables: Vec<TableName> = tenant::diesel::sql_query(
            "SELECT c.relname::text AS name FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
             AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                         AND a.attname = 'org_id' AND NOT a.attisdropped) \
             AND c.relname <> 'erased_organizations' \
             ORDER BY 1",
        )
        .load(&mut conn)
        .await
        .unwrap();
        tables.into_iter().map(|t| t.name).collect()
    }

    /// Every row of `org` in every tenant table (empty tables included), read as the owner
    /// inside the organization's scope (so also when the owner is not a superuser).
    pub async fn tenant_rows(&self, org: Uuid) -> TenantRows {
        use tenant::diesel_async::{RunQueryDsl, SimpleAsyncConnection};
        let tables = self.tenant_tables().await;
        let mut conn = self.owner_conn().await;
        conn.batch_execute(&format!(
            "BEGIN; SELECT set_config('app.org_id', '{org}', true)"
        ))
        .await
        .unwrap();
        let mut out = TenantRows::new();
        for table in tables {
            let rows: Vec<RowJson> = tenant::diesel::sql_query(format!(
                "SELECT row_to_json(t)::text AS row FROM \"{table}\" t WHERE org_id = $1"
            ))
            .bind::<tenant::diesel::sql_types::Uuid, _>(org)
            .load(&mut conn)
            .await
            .unwrap();
            let mut rows: Vec<Value> = rows
                .into_iter()
                .map(|r| serde_json::from_str(&r.row).unwrap())
                .collect();
            rows.sort_by_cached_key(|row| row.to_string());
            out.insert(table, rows);
        }
        conn.batch_execute("COMMIT").await.unwrap();
        out
    }
}

/// Status and JSON body of a response.
pub async fn status_and_json(resp: TestResponse) -> (u16, Value) {
    let status = resp.0.status().as_u16();
    let text = resp.0.into_body().into_string().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Asserts a problem+json answer with `status` and `kind`.
pub async fn assert_problem(resp: TestResponse, status: u16, kind: &str) -> Value {
    let content_type = resp
        .0
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let (got, body) = status_and_json(resp).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "{body}"
    );
    assert_eq!(
        body["type"].as_str(),
        Some(format!("https://beacon.dev/problems/{kind}").as_str()),
        "{body}"
    );
    assert_eq!(body["status"].as_u64(), Some(u64::from(status)));
    body
}

/// A real SMTP server (aiosmtpd) writing every message to a maildir.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A temporary directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl SmtpServer {
    pub fn start() -> Self {
        let python = std::env::var("BEACON_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let dir = std::env::temp_dir().join(format!("beacon-smtp-{}", Uuid::new_v4().simple()));
        let maildir = dir.join("maildir");
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting aiosmtpd with {python}: {e} (run scripts/test)"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start; is it installed?"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            maildir,
            _dir: tempdir::Dir(dir),
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The maildir messages are written to (`new/` holds one file per message).
    pub fn maildir(&self) -> &std::path::Path {
        &self.maildir
    }

    /// Every message received so far, decoded (quoted-printable undone).
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for entry in entries.flatten() {
                    if let Ok(raw) = std::fs::read_to_string(entry.path()) {
                        out.push(decode_qp(&raw));
                    }
                }
            }
        }
        out
    }

    /// Waits for a message to `to` whose text contains `needle`, and returns it. Patient: on
    /// 2 cores shared with Chromium and the other tests, a job may need its retries.
    pub async fn wait_for(&self, to: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(msg) = self
                .messages()
                .into_iter()
                .find(|m| m.contains(&format!("To: {to}")) && m.contains(needle))
            {
                return msg;
            }
            assert!(
                Instant::now() < deadline,
                "no e-mail to {to} containing {needle:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Extracts the value of `token=` from the first link in a message.
pub fn token_from(message: &str) -> String {
    let start = message.find("token=").expect("a link with a token") + "token=".len();
    message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect()
}

fn decode_qp(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'=' && i + 2 < bytes.len())
            .then(|| u8::from_str_radix(&joined[i + 1..i + 3], 16).ok())
            .flatten();
        if let Some(byte) = hex {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the job workers against the test database, sending mail to `smtp`, until dropped.
pub struct Workers {
    /// What the workers report for `/readyz`.
    pub health: Arc<worker::WorkerHealth>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// What jobs run with, against `app`'s database: e-mail to `smtp_url`, or to files without.
pub fn job_context(app: &TestApp, smtp_url: Option<&str>) -> worker::JobContext {
    let mailer = worker::Mailer::new(&worker::MailConfig {
        smtp_url: smtp_url.map(str::to_owned),
        outbox: std::env::temp_dir(),
        from: "Beacon <beacon@test.local>".into(),
    })
    .unwrap();
    let sweeper = tenant::Db::connect_as(
        &app.test_db.owner_url,
        tenant::AppRole::Sweeper,
        &tenant::db::PoolConfig::default(),
    )
    .unwrap();
    worker::JobContext {
        db: app.state.db.clone(),
        sweeper,
        mailer: Arc::new(mailer),
        public_url: "http://beacon.test".into(),
        clock: app.state.clock.clone(),
        billing: app.state.billing.clone(),
        audit_stream: worker::outbound::Outbound::new(None, true, worker::audit_stream::TIMEOUT)
            .unwrap(),
        sealing_key: app.state.sealing_key.clone(),
        exports_dir: app.state.exports_dir.clone(),
        dns: app.state.dns.clone(),
        audit_key: app.state.audit_key.clone(),
        ai: app.state.ai.clone(),
        blobs: app.state.blobs.clone(),
    }
}

impl Workers {
    pub fn start(app: &TestApp, smtp: &SmtpServer) -> Self {
        Self::start_with_smtp(app, &smtp.url())
    }

    pub fn start_with_smtp(app: &TestApp, smtp_url: &str) -> Self {
        // Job failures (e.g. an SMTP error before a retry) show in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn,worker=info")
            .try_init();
        let ctx = job_context(app, Some(smtp_url));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let url = app.test_db.owner_url.clone();
        let health = Arc::new(worker::WorkerHealth::default());
        let running = health.clone();
        let handle = tokio::spawn(async move {
            worker::run_until(&url, ctx, running, async move {
                let _ = rx.await;
            })
            .await
        });
        Self {
            health,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// Stops the workers and waits for them to drain.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }
}

/// The npm package with the browser code and the test scripts.
pub fn web_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// Debian's Chromium (or `BEACON_CHROMIUM`); fails the test, naming the fix, when missing.
pub fn chromium() -> String {
    let chromium = std::env::var("BEACON_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium is missing at {chromium}: install it with `apt-get install chromium` (scripts/test does)"
    );
    chromium
}

/// Runs the browser journey `web/dashboard/e2e/<script>` in Debian's Chromium against Beacon
/// on `port`, with the SMTP server's `maildir`, the screenshot directory
/// (`target/screenshots/`) and `extra` arguments; fails the test when the script does, and
/// answers the JSON report it printed.
pub fn run_journey(script: &str, port: u16, maildir: &std::path::Path, extra: &[String]) -> Value {
    let chromium = chromium();
    assert!(
        web_dir().join("dashboard/dist/index.html").exists(),
        "the dashboard is not built: run `npm --prefix web run build:dashboard` (scripts/test does)"
    );
    let shots = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    let output = std::process::Command::new("node")
        .arg(web_dir().join("dashboard/e2e").join(script))
        .arg(port.to_string())
        .arg(maildir)
        .arg(&shots)
        .args(extra)
        .env("BEACON_CHROMIUM", &chromium)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser run failed:\n{stdout}\n{stderr}"
    );
    // The report is the last line (a library the script runs may print before it).
    let last = stdout.lines().rev().find(|line| !line.trim().is_empty());
    let report: Value = last
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no JSON report on the last line:\n{stdout}\n{stderr}"));
    eprintln!("{report:#}");
    report
}

/// Starts one of the fakes in `tests/fakes/` (Python ones with the test Python, `.mjs` ones
/// with Node, from `web/` so they find its npm packages) and waits for its first line,
/// `listening on <port> [<port> …]`; answers the process and those ports.
pub fn start_fake(script: &str, args: &[&std::ffi::OsStr]) -> (std::process::Child, Vec<u16>) {
    use std::io::{BufRead, BufReader};
    let python = if script.ends_with(".mjs") {
        "node".to_owned()
    } else {
        std::env::var("BEACON_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fakes")
        .join(script);
    let mut command = std::process::Command::new(&python);
    // A fake is killed, not stopped, so what it makes in the temporary directory stays: inside
    // the run's throwaway cluster directory, `scripts/test` removes it with the cluster.
    if let Some(dir) = std::env::var_os("BEACON_TEST_PG_DIR") {
        command.env("TMPDIR", dir);
    }
    let mut child = command
        .current_dir(web_dir())
        .arg(&path)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {script} with {python}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports: Option<Vec<u16>> = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|ports| ports.split(' ').map(|p| p.parse().ok()).collect());
    let ports = ports.unwrap_or_else(|| panic!("{script} said {line:?}"));
    (child, ports)
}
