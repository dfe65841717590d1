//! Bind parameters for SQL assembled from fragments.
//!
//! The stats statements change shape with the query (dimensions, filters, rollups or raw
//! events), which Diesel's typed query builder cannot express, so the planner writes SQL text.
//! [`Params::bind`] records a value and returns its placeholder in one call: no fragment
//! computes a parameter number, and every user value reaches PostgreSQL as a parameter, never
//! as SQL text. Placeholders are numbered in the order of `bind` calls, so one query always
//! yields the same text (`tenant/tests/stats_sql.rs` snapshots it).

use std::fmt;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A `uuid`.
    Uuid(Uuid),
    /// A `text`.
    Text(String),
    /// A `text[]`.
    TextArray(Vec<String>),
    /// A `timestamptz`.
    Timestamptz(DateTime<Utc>),
    /// A `bigint`.
    BigInt(i64),
    /// A `bigint[]`.
    BigIntArray(Vec<i64>),
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Self::BigInt(value)
    }
}

impl From<Vec<i64>> for Param {
    fn from(value: Vec<i64>) -> Self {
        Self::BigIntArray(value)
    }
}

impl From<Uuid> for Param {
    fn from(value: Uuid) -> Self {
        Self::Uuid(value)
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<Vec<String>> for Param {
    fn from(value: Vec<String>) -> Self {
        Self::TextArray(value)
    }
}

impl From<DateTime<Utc>> for Param {
    fn from(value: DateTime<Utc>) -> Self {
        Self::Timestamptz(value)
    }
}

/// The placeholder of a bound value (`$1`, `$2`, …), to write into SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder(usize);

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.0)
    }
}

/// The values bound while a statement's text is assembled, in placeholder order.
#[derive(Debug, Default)]
pub struct Params(Vec<Param>);

impl Params {
    /// Binds `value`; returns the placeholder that stands for it in the SQL text.
    pub fn bind(&mut self, value: impl Into<Param>) -> Placeholder {
        self.0.push(value.into());
        Placeholder(self.0.len())
    }

    /// The finished statement: `sql` with the values bound so far.
    pub fn finish(self, sql: String) -> Statement {
        Statement {
            sql,
            params: self.0,
        }
    }
}

/// SQL text and its parameters: what is sent to PostgreSQL, and what the SQL snapshot tests
/// review.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL, with placeholders `$1` … `$n`.
    pub sql: String,
    /// The value of `$i` at index `i - 1`.
    pub params: Vec<Param>,
}

impl Statement {
    /// The statement as a Diesel query with every parameter bound.
    pub fn into_query(self) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut query = diesel::sql_query(self.sql).into_boxed();
        for param in self.params {
            query = match param {
                Param::Uuid(value) => query.bind::<SqlUuid, _>(value),
                Param::Text(value) => query.bind::<Text, _>(value),
                Param::TextArray(values) => query.bind::<Array<Text>, _>(values),
                Param::Timestamptz(value) => query.bind::<Timestamptz, _>(value),
                Param::BigInt(value) => query.bind::<BigInt, _>(value),
                Param::BigIntArray(values) => query.bind::<Array<BigInt>, _>(values),
            };
        }
        query
    }
}
