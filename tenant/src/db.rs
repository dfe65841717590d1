//! The connection pool and the scopes through which all data is reached.
//!
//! Every pooled connection switches to the `beacon_app` role as soon as it is opened: a role
//! that owns no table and cannot bypass row-level security. A transaction then says whose data
//! it may see with `SET LOCAL app.org_id` (an organization scope) or `SET LOCAL app.user_id`
//! (a user scope, which only reveals that user's own memberships). Both settings vanish at
//! commit, so a connection returned to the pool carries no tenant with it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::Text;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
    TransactionManager,
};
use futures::FutureExt;

use crate::actor::Actor;
use crate::audit::RequestContext;
use crate::ids::{OrgId, UserId};

/// A pooled connection, already switched to the application role.
pub type Conn = Object<AsyncPgConnection>;

/// Errors from the pool or the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had from the pool in time.
    #[error("database pool: {0}")]
    Pool(String),
    /// A query failed.
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Most connections open at once.
    pub max_size: usize,
    /// How long a caller waits for a free connection.
    pub wait_timeout: Duration,
    /// `statement_timeout` set on every connection.
    pub statement_timeout: Duration,
}

impl PoolConfig {
    /// Default connections in a pool (also `BEACON_DB_POOL_SIZE`'s default).
    pub const MAX_SIZE: usize = 16;
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_size: Self::MAX_SIZE,
            wait_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
        }
    }
}

/// The least-privilege roles connections switch to (created by the migrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppRole {
    /// The API and tenant-scoped jobs: every row through a scope.
    App,
    /// The ingestion writer: reads project settings and salts, inserts events.
    Ingest,
    /// Jobs that sweep every tenant (salt rotation, partitions, retention).
    Sweeper,
}

impl AppRole {
    fn name(self) -> &'static str {
        match self {
            Self::App => "beacon_app",
            Self::Ingest => "beacon_ingest",
            Self::Sweeper => "beacon_sweeper",
        }
    }
}

/// Current use of the pool, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStatus {
    /// Connections open.
    pub size: usize,
    /// Connections idle in the pool.
    pub available: usize,
    /// Most connections allowed.
    pub max_size: usize,
}

/// A closure run inside a scope: `async |conn| { ... }`.
///
/// This names the shape diesel-async uses for transactions, so that async closures borrowing the
/// connection infer their signature, and their future can be required to be `Send`.
pub trait ScopeFn<C, R>: AsyncFnOnce(C) -> R + FnOnce(C) -> <Self as ScopeFn<C, R>>::Fut {
    /// The future the closure returns.
    type Fut: Future<Output = R>;
}

impl<F, C, Fut, R> ScopeFn<C, R> for F
where
    F: AsyncFnOnce(C) -> R + FnOnce(C) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

/// The database: a pool of application-role connections.
#[derive(Clone)]
pub struct Db {
    pool: Pool<AsyncPgConnection>,
    /// What the pool was built from, for [`Db::dedicated`].
    origin: Arc<(String, AppRole, PoolConfig)>,
}

impl Db {
    /// Builds a pool for `url`. Each new connection runs `SET ROLE beacon_app` and sets the
    /// statement timeout; no connection is opened until first use.
    pub fn connect(url: &str, config: &PoolConfig) -> Result<Self, DbError> {
        Self::connect_as(url, AppRole::App, config)
    }

    /// Builds a pool whose connections act as `role`.
    pub fn connect_as(url: &str, role: AppRole, config: &PoolConfig) -> Result<Self, DbError> {
        let timeout_ms = config.statement_timeout.as_millis();
        let role_name = role.name();
        let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
        // No `SELECT 1` on every checkout (a round trip per request, and per ingest batch): a
        // connection the server closed (a restart) is seen closed without a query and
        // replaced; one that fails in use is marked broken and dropped, and its request fails
        // once (ingestion answers 503, which clients retry).
        manager_config.recycling_method = RecyclingMethod::Fast;
        manager_config.custom_setup = Box::new(move |url| {
            let url = url.to_owned();
            async move {
                let mut conn = AsyncPgConnection::establish(&url).await?;
                conn.batch_execute(&format!(
                    "SET ROLE {role_name}; SET statement_timeout = {timeout_ms}; \
                     SET idle_in_transaction_session_timeout = {timeout_ms}"
                ))
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(conn)
            }
            .boxed()
        });
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, manager_config);
        let pool = Pool::builder(manager)
            .max_size(config.max_size)
            .wait_timeout(Some(config.wait_timeout))
            .create_timeout(Some(config.wait_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            origin: Arc::new((url.to_owned(), role, config.clone())),
        })
    }

    /// A pool of its own, of at most `max_size` connections, to the same database as the same
    /// role. A connection's I/O runs on the runtime that opened it, so a task on a runtime of
    /// its own (the group-commit writers) needs connections that it opens itself, not ones
    /// the request handlers' runtime opened and drives.
    pub fn dedicated(&self, max_size: usize) -> Result<Self, DbError> {
        let (url, role, config) = self.origin.as_ref();
        let config = PoolConfig {
            max_size: max_size.max(1),
            ..config.clone()
        };
        Self::connect_as(url, *role, &config)
    }

    /// A connection with no scope: it sees global tables (users, sessions, tokens) and no
    /// tenant rows at all.
    pub async fn conn(&self) -> Result<Conn, DbError> {
        self.pool
            .get()
            .await
            .map_err(|e| DbError::Pool(e.to_string()))
    }

    /// Pool usage right now.
    pub fn status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            size: status.size,
            available: status.available,
            max_size: status.max_size,
        }
    }

    /// Runs `f` in a transaction scoped to `org`: row-level security shows and accepts only
    /// that organization's rows. Commits when `f` returns `Ok`, rolls back otherwise.
    pub async fn scoped<T, E, F>(&self, org: OrgId, f: F) -> Result<T, E>
    where
        F: for<'r> ScopeFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send> + Send,
        E: From<DbError>,
    {
        self.in_transaction("app.org_id", &org.to_string(), f).await
    }

    /// Opens a transaction scoped to `org` (as [`Db::scoped`]) and keeps it open: the scope
    /// extractors of the API resolve and check the caller in it, set the actor with
    /// [`ScopedTransaction::act_as`], then hand it to the handler, which finishes it with
    /// [`ScopedTransaction::run`]. One request, one transaction.
    pub async fn begin_scoped(&self, org: OrgId) -> Result<ScopedTransaction, DbError> {
        self.begin("app.org_id", &org.to_string()).await
    }

    /// Runs `f` in a transaction scoped to `org` on behalf of `actor` (a job or a sign-in
    /// outside a request's scope), so the audit records it writes name who acted.
    pub async fn scoped_as<T, E, F>(&self, org: OrgId, actor: &Actor, f: F) -> Result<T, E>
    where
        F: for<'r> ScopeFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send> + Send,
        E: From<DbError>,
    {
        self.scoped_as_for(org, actor, &RequestContext::default(), f)
            .await
    }

    /// As [`Db::scoped_as`], with the request's context (sign-ins record the client's).
    pub async fn scoped_as_for<T, E, F>(
        &self,
        org: OrgId,
        actor: &Actor,
        request: &RequestContext,
        f: F,
    ) -> Result<T, E>
    where
        F: for<'r> ScopeFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send> + Send,
        E: From<DbError>,
    {
        let mut tx = self.begin_scoped(org).await?;
        tx.act_as(actor, request).await?;
        tx.run(f).await
    }

    /// Runs `f` in a transaction scoped to a signed-in user: it sees that user's memberships and
    /// their organizations' rows in `organizations`, nothing else of any tenant.
    pub async fn user_scoped<T, E, F>(&self, user: UserId, f: F) -> Result<T, E>
    where
        F: for<'r> ScopeFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send> + Send,
        E: From<DbError>,
    {
        self.in_transaction("app.user_id", &user.to_string(), f)
            .await
    }

    /// Runs `f` in a transaction with no scope (global tables only).
    pub async fn unscoped<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'r> ScopeFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send> + Send,
        E: From<DbError>,
    {
        self.in_transaction("app.unscoped", "", f).await
    }

    async fn in_transaction<T, E, F>(&self, setting: &str, value: &str, f: F) -> Result<T, E>
    where
        F: for<'r> ScopeFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send> + Send,
        E: From<DbError>,
    {
        self.begin(setting, value).await?.run(f).await
    }

    /// Opens a transaction with the transaction-local `setting` set to `value`.
    async fn begin(&self, setting: &str, value: &str) -> Result<ScopedTransaction, DbError> {
        let mut conn = self.conn().await?;
        let raw: &mut AsyncPgConnection = &mut conn;
        AnsiTransactionManager::begin_transaction(raw).await?;
        if let Err(error) = set_local(raw, setting, value).await {
            let _ = AnsiTransactionManager::rollback_transaction(raw).await;
            return Err(error.into());
        }
        Ok(ScopedTransaction { conn: Some(conn) })
    }
}

/// Sets the actor and request context of the open transaction (see
/// [`ScopedTransaction::act_as`]); absent context values are set to the empty string, which
/// audit records read as none.
pub async fn act_as(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    request: &RequestContext,
) -> Result<(), diesel::result::Error> {
    diesel::sql_query(
        "SELECT set_config('app.actor', $1, true), set_config('app.request_id', $2, true), \
         set_config('app.client_ip', $3, true), set_config('app.user_agent', $4, true)",
    )
    .bind::<Text, _>(actor.setting())
    .bind::<Text, _>(request.request_id.as_deref().unwrap_or(""))
    .bind::<Text, _>(request.client_ip.as_deref().unwrap_or(""))
    .bind::<Text, _>(request.user_agent.as_deref().unwrap_or(""))
    .execute(conn)
    .await
    .map(drop)
}

/// Sets a transaction-local setting (`set_config(…, true)`: gone at commit or rollback).
async fn set_local(
    conn: &mut AsyncPgConnection,
    setting: &str,
    value: &str,
) -> Result<(), diesel::result::Error> {
    diesel::sql_query("SELECT set_config($1, $2, true)")
        .bind::<Text, _>(setting)
        .bind::<Text, _>(value)
        .execute(conn)
        .await
        .map(drop)
}

/// An open organization-scoped transaction (see [`Db::begin_scoped`]). It commits only through
/// [`ScopedTransaction::run`]; dropped unfinished (an early error), it is rolled back.
pub struct ScopedTransaction {
    conn: Option<Conn>,
}

impl ScopedTransaction {
    /// The transaction's connection, for the checks made before the handler runs.
    pub fn conn(&mut self) -> Result<&mut AsyncPgConnection, DbError> {
        self.conn
            .as_deref_mut()
            .ok_or_else(|| DbError::Pool("the transaction is already finished".into()))
    }

    /// Records who acts in this transaction (`app.actor`) and the request's context for its
    /// audit records (`app.request_id`, `app.client_ip`, `app.user_agent`), in one statement.
    pub async fn act_as(&mut self, actor: &Actor, request: &RequestContext) -> Result<(), DbError> {
        act_as(self.conn()?, actor, request).await?;
        Ok(())
    }

    /// Runs `f` in the transaction, then commits when it returns `Ok`, rolls back otherwise.
    pub async fn run<T, E, F>(mut self, f: F) -> Result<T, E>
    where
        F: for<'r> ScopeFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send> + Send,
        E: From<DbError>,
    {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| E::from(DbError::Pool("the transaction is already finished".into())))?;
        let conn: &mut AsyncPgConnection = &mut conn;
        let result = f(&mut *conn).await;
        let end = match &result {
            Ok(_) => AnsiTransactionManager::commit_transaction(conn).await,
            Err(_) => AnsiTransactionManager::rollback_transaction(conn).await,
        };
        end.map_err(DbError::from)?;
        result
    }
}

impl Drop for ScopedTransaction {
    fn drop(&mut self) {
        // Unfinished (the request failed before its handler ran the transaction): roll back
        // off the request path, then the connection returns to the pool clean.
        if let Some(mut conn) = self.conn.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = AnsiTransactionManager::rollback_transaction(&mut *conn).await;
            });
        }
    }
}
