//! The connection pool: one diesel `MultiConnection` over SQLite and
//! PostgreSQL, pooled by r2d2, with migrations embedded and run at start,
//! and the one place reads and writes get their connection.

use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::checkpoint::Checkpoints;
use crate::config::DatabaseTarget;
use crate::error::{AppError, AppResult};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Opens connections of the kind `DATABASE_URL` names, with SQLite tuned for
/// concurrent use: WAL, a busy timeout instead of instant `SQLITE_BUSY`, and
/// foreign keys enforced (they cascade room deletion to chats).
#[derive(Debug)]
pub struct Manager {
    target: DatabaseTarget,
}

impl Manager {
    pub(crate) fn new(target: DatabaseTarget) -> Self {
        Self { target }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            DatabaseTarget::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseTarget::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                // WAL is set once on the file, in `Db::connect`: switching
                // needs the file to itself, which pooled connections opening
                // side by side do not have. Temporary storage stays in
                // memory: a batch of chats is one multi-row `INSERT ...
                // RETURNING`, whose statement journal and result table would
                // otherwise spill into a new file in the system's temporary
                // folder for every batch (and fail where that folder is not
                // writable). The WAL is copied into the database by
                // `checkpoint.rs`, off the writer's path; the writer itself
                // does it only if that falls far behind.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; \
                     PRAGMA wal_autocheckpoint = 10000;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// A cheap, clonable handle to the pool. Diesel is synchronous, so whatever
/// may wait runs on the blocking thread pool, not on an async worker (see
/// [`Db::run`] for the one exception).
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// SQLite allows one writer at a time, and a writer that finds the lock
    /// taken sleeps in whole milliseconds. All writes therefore queue for one
    /// connection in-process instead. PostgreSQL writes use the main pool.
    writer: Option<Pool>,
    /// SQLite's checkpointing thread, told of every write transaction.
    checkpoints: Option<Checkpoints>,
    kind: DbKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// Creates the SQLite file readable by its owner only (it holds password
/// hashes), or narrows an existing one to that. SQLite gives the `-wal` and
/// `-shm` files it makes the database file's permissions.
fn create_private(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        for file in [
            path.to_owned(),
            sidecar(path, "-wal"),
            sidecar(path, "-shm"),
        ] {
            match std::fs::metadata(&file) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .with_context(|| format!("making {} private", file.display()))?;
                    log::info!("made {} readable by its owner only", file.display());
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn sidecar(path: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

impl Db {
    /// Connects, creating the SQLite file's folder if needed, and runs pending migrations.
    pub fn connect(target: &DatabaseTarget, pool_size: u32) -> anyhow::Result<Db> {
        let kind = match target {
            DatabaseTarget::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating database folder {}", dir.display()))?;
                }
                create_private(path)?;
                SqliteConnection::establish(&path.to_string_lossy())
                    .context("opening the SQLite database")?
                    .batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
                    .context("switching the SQLite database to WAL")?;
                DbKind::Sqlite
            }
            DatabaseTarget::Postgres(_) => DbKind::Postgres,
        };
        // A SQLite connection is an open file and cannot go stale, so it is
        // not checked with a query each time it is taken from the pool.
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .test_on_check_out(kind == DbKind::Postgres)
            .connection_timeout(Duration::from_secs(5))
            .build(Manager::new(target.clone()))
            .context("connecting to the database")?;
        let writer = match kind {
            DbKind::Sqlite => Some(
                r2d2::Pool::builder()
                    .max_size(1)
                    .test_on_check_out(false)
                    .connection_timeout(Duration::from_secs(10))
                    .build(Manager::new(target.clone()))
                    .context("opening the SQLite writer")?,
            ),
            DbKind::Postgres => None,
        };
        let mut conn = pool.get().context("connecting to the database")?;
        let applied = match &mut *conn {
            DbConnection::Pg(c) => {
                // Instances starting together take turns; the later ones find nothing to do.
                const MIGRATIONS_LOCK: i64 = 0x6769_6663_6861_7402;
                diesel::sql_query("SELECT pg_advisory_lock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(MIGRATIONS_LOCK)
                    .execute(c)
                    .context("waiting for other instances' migrations")?;
                let applied = c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len());
                let _ = diesel::sql_query("SELECT pg_advisory_unlock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(MIGRATIONS_LOCK)
                    .execute(c);
                applied
            }
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        }
        .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
        if applied > 0 {
            log::info!("applied {applied} database migration(s)");
        }
        let checkpoints = match kind {
            DbKind::Sqlite => Some(Checkpoints::start(target)?),
            DbKind::Postgres => None,
        };
        Ok(Db {
            pool,
            writer,
            checkpoints,
            kind,
        })
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Runs `f`, which only reads, with a pooled connection.
    ///
    /// On SQLite, when a connection is free at once, `f` runs right here: a
    /// read in WAL mode never waits for the writer, and is shorter than the
    /// two thread switches of handing it to the blocking pool and back.
    /// Otherwise, and always on PostgreSQL (a network round trip), it goes
    /// to the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        if self.kind == DbKind::Sqlite {
            if let Some(mut conn) = self.pool.try_get() {
                return f(&mut conn);
            }
        }
        Self::on(self.pool.clone(), f).await
    }

    /// Runs `f`, which writes, on the writer connection (SQLite) or the pool.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let result = Self::on(self.writer.as_ref().unwrap_or(&self.pool).clone(), f).await;
        self.mark_written();
        result
    }

    /// As [`Db::write`], from a thread that may block (the chat writer).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> AppResult<T>,
    ) -> AppResult<T> {
        let mut conn = self.writer.as_ref().unwrap_or(&self.pool).get()?;
        let result = f(&mut conn);
        self.mark_written();
        result
    }

    /// As [`Db::run`], from a thread that may block (the media workers).
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> AppResult<T>,
    ) -> AppResult<T> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Tells the checkpointing thread (SQLite) that the WAL has grown.
    fn mark_written(&self) {
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.wrote();
        }
    }

    async fn on<T, F>(pool: Pool, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> AppResult<()> {
        self.run(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| AppError::Unavailable(anyhow::Error::new(e)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        value: i64,
    }

    /// A pragma's value, read through its table-valued function, whose one
    /// column is named after it (`busy_timeout`'s is `timeout`).
    fn setting(conn: &mut DbConnection, pragma: &str) -> i64 {
        let column = pragma.strip_prefix("busy_").unwrap_or(pragma);
        diesel::sql_query(format!("SELECT {column} AS value FROM pragma_{pragma}()"))
            .get_result::<Setting>(conn)
            .map(|s| s.value)
            .expect("reading a pragma")
    }

    #[test]
    fn every_sqlite_connection_gets_the_services_settings() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let target = DatabaseTarget::Sqlite(dir.path().join("settings.db"));
        let db = Db::connect(&target, 2).expect("opening the database");
        let mut reader = db.pool.get().expect("a reader");
        let mut writer = db
            .writer
            .as_ref()
            .expect("SQLite has a writer")
            .get()
            .expect("the writer");
        for conn in [&mut *reader, &mut *writer] {
            assert_eq!(setting(conn, "foreign_keys"), 1);
            assert_eq!(setting(conn, "busy_timeout"), 10_000);
            // 1 = NORMAL: durable at checkpoints, which WAL makes enough.
            assert_eq!(setting(conn, "synchronous"), 1);
            // 2 = MEMORY: a batch's statement journal never becomes a file.
            assert_eq!(setting(conn, "temp_store"), 2);
        }
    }
}
