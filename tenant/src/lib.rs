//! Beacon's domain and data layer.
//!
//! Everything tenant-owned is reached through [`Db::scoped`], which opens a transaction and
//! sets the organization for PostgreSQL's row-level security. Code that forgets the scope sees
//! no rows instead of everybody's. HTTP types never appear here: the API and the worker both
//! build on this crate.

pub mod actor;
pub mod alerts;
pub mod audit;
pub mod backoff;
pub mod cache;
pub mod clock;
pub mod csv;
pub mod dashboards;
pub mod db;
pub mod embedded;
pub mod errors;
pub mod hostname;
pub mod ids;
pub mod ingest;
pub mod migrate;
pub mod problem;
pub mod replay;
pub mod reports;
#[allow(missing_docs)]
pub mod schema;
pub mod sealed;
pub mod secrets;
pub mod sharing;
pub mod stats;
pub mod tables;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use actor::Actor;
pub use clock::Clock;
pub use db::{AppRole, Conn, Db, DbError, PoolStatus, ScopeFn, ScopedTransaction};
pub use ids::{OrgId, ProjectId, UserId};

pub use diesel;
pub use diesel_async;
