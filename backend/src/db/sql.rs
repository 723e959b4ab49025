//! Helpers for the SQL the row modules write: time, locks, placeholders,
//! and statements the connection keeps prepared.

use std::sync::OnceLock;

use diesel::prelude::*;

use super::DbConnection;

/// Inside a transaction: excludes every other instance's GIF file changes
/// until it ends (PostgreSQL advisory lock; SQLite's one writer already does).
pub fn lock_gif_files(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    /// Any fixed number, the same in every instance.
    const GIF_FILES_LOCK: i64 = 0x6769_6663_6861_7401;
    if let DbConnection::Pg(_) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(GIF_FILES_LOCK)
            .execute(conn)?;
    }
    Ok(())
}

/// Milliseconds since the Unix epoch: how every table stores time.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `count` numbered parameters from `$first` on, comma-separated, for SQL
/// built with a given number of values.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    let params: Vec<String> = (first..first + count).map(|i| format!("${i}")).collect();
    params.join(", ")
}

/// The text of a statement whose shape depends only on a power of two (how
/// many rows it inserts, how many ids it asks for), built once per size:
/// building it is hundreds of small allocations, and the chat writer needs
/// one for every batch.
pub(crate) struct SqlBySize {
    texts: [OnceLock<String>; 9],
    build: fn(usize) -> String,
}

impl SqlBySize {
    pub(crate) const fn new(build: fn(usize) -> String) -> Self {
        Self {
            texts: [const { OnceLock::new() }; 9],
            build,
        }
    }

    /// The text for `size`, a power of two; built each time past 256.
    pub(crate) fn get(&self, size: usize) -> String {
        debug_assert!(size.is_power_of_two());
        match self.texts.get(size.ilog2() as usize) {
            Some(text) => text.get_or_init(|| (self.build)(size)).clone(),
            None => (self.build)(size),
        }
    }
}

/// Runs a statement on the backend's own connection instead of through
/// `MultiConnection`, for the hottest checks (a post's room, ban and access).
/// `MultiConnection` hands each statement on wrapped in a type that renders
/// its SQL again on every run to find it in the statement cache; the
/// backend's connection finds a DSL statement by its type alone.
macro_rules! native {
    ($conn:expr, |$c:ident| $run:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $run,
            $crate::db::DbConnection::Sqlite($c) => $run,
        }
    };
}
pub(crate) use native;

/// A raw statement with fixed SQL that the connection may keep prepared.
///
/// diesel never caches `sql_query` statements, since it cannot know that
/// their text does not vary. Ours is fixed at each call site (or one of a
/// few), with the same binds every time, so the hot ones (a chat's seq and
/// insert, the user row) are wrapped in this and compiled once per
/// connection instead of once per chat.
///
/// Run it with `load` or `get_result`, never `execute`: through
/// `MultiConnection`, `execute` hands the statement on by reference, and a
/// reference does not pass this promise on, so the statement would be
/// compiled again every time. A statement without rows to return gets a
/// `RETURNING` clause instead.
pub struct Prepared<Q>(pub Q);

impl<Q> diesel::query_builder::QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB, Q> diesel::query_builder::QueryFragment<DB> for Prepared<Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(
        &'b self,
        pass: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> diesel::QueryResult<bool> {
        Ok(true)
    }
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> diesel::RunQueryDsl<Conn> for Prepared<Q> {}
