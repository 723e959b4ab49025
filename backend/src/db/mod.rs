//! Database access: one diesel `MultiConnection` over SQLite and PostgreSQL,
//! pooled by r2d2, with migrations embedded and run at start.

pub mod chats;
pub mod gifs;
pub mod models;
pub mod rooms;
pub mod schema;
pub mod users;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

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
                // `checkpoints`, off the writer's path; the writer itself
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

/// A cheap, clonable handle to the pool. Diesel is synchronous, so every use
/// runs on the blocking thread pool, never on an async worker.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// SQLite allows one writer at a time, and a writer that finds the lock
    /// taken sleeps in whole milliseconds. All writes therefore queue for one
    /// connection in-process instead. PostgreSQL writes use the main pool.
    writer: Option<Pool>,
    /// Counts SQLite's write transactions; the checkpointing thread takes
    /// away those it has checkpointed.
    written: Option<Arc<AtomicU32>>,
    kind: DbKind,
}

/// How often the checkpointing thread looks at what was written.
const CHECKPOINT_POLL: Duration = Duration::from_millis(100);
/// The WAL is copied into the SQLite database once this many write
/// transactions have gone into it ...
const CHECKPOINT_AFTER_WRITES: u32 = 256;
/// ... or once the first of them is this old.
const CHECKPOINT_WITHIN: Duration = Duration::from_secs(3);

/// Copies SQLite's WAL into the database file on a thread of its own.
///
/// Left to itself, SQLite checkpoints in whichever connection commits when
/// the WAL passes 1,000 pages: the chat writer, every few seconds under
/// load, and a checkpoint ends in an `fsync` of the database file that can
/// take tens of milliseconds, during which no chat is committed or sent.
/// Here a `PASSIVE` checkpoint on another connection copies what it can
/// without taking the write lock, so commits carry on beside it.
///
/// Not after every write, though: once a checkpoint has copied the whole
/// WAL, the next commit starts the WAL over, and starting it over syncs its
/// header in the committing connection, the writer. That `fsync` is under a
/// millisecond on a quiet disk and has taken 40–190 ms on a busy one, with
/// every chat waiting behind it; checkpointing after a few hundred writes
/// or a few seconds keeps it to one in that many commits. The thread stops
/// once the `Db` is gone.
fn checkpoints(target: &DatabaseTarget, written: Weak<AtomicU32>) -> anyhow::Result<()> {
    let mut conn = Manager {
        target: target.clone(),
    }
    .connect()
    .context("opening the SQLite checkpointer")?;
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            // When the first write since the last checkpoint was seen.
            let mut since: Option<Instant> = None;
            loop {
                std::thread::sleep(CHECKPOINT_POLL);
                let Some(written) = written.upgrade() else {
                    return;
                };
                let writes = written.load(Ordering::Relaxed);
                if writes == 0 {
                    continue;
                }
                let first = *since.get_or_insert_with(Instant::now);
                if writes < CHECKPOINT_AFTER_WRITES && first.elapsed() < CHECKPOINT_WITHIN {
                    continue;
                }
                // Writes counted since the load stay for the next round.
                written.fetch_sub(writes, Ordering::Relaxed);
                since = None;
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    log::warn!("checkpointing the SQLite WAL: {e}");
                }
            }
        })
        .context("starting the SQLite checkpointer")?;
    Ok(())
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
            .build(Manager {
                target: target.clone(),
            })
            .context("connecting to the database")?;
        let writer = match kind {
            DbKind::Sqlite => Some(
                r2d2::Pool::builder()
                    .max_size(1)
                    .test_on_check_out(false)
                    .connection_timeout(Duration::from_secs(10))
                    .build(Manager {
                        target: target.clone(),
                    })
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
        let written = match kind {
            DbKind::Sqlite => {
                let written = Arc::new(AtomicU32::new(0));
                checkpoints(target, Arc::downgrade(&written))?;
                Some(written)
            }
            DbKind::Postgres => None,
        };
        Ok(Db {
            pool,
            writer,
            written,
            kind,
        })
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Runs `f`, which only reads, with a pooled connection.
    ///
    /// On SQLite, when a connection is free at once, `f` runs right here: a
    /// read in WAL mode never waits for the writer and takes microseconds,
    /// less than handing it to the blocking pool and back (two thread
    /// switches, about a fifth of a history request's cost). Otherwise, and
    /// always on PostgreSQL (a network round trip), it goes to the blocking pool.
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

    /// Tells the checkpointing thread (SQLite) that the WAL has grown.
    fn mark_written(&self) {
        if let Some(written) = &self.written {
            written.fetch_add(1, Ordering::Relaxed);
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

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent};

    use super::models::{NewChat, Room};
    use super::*;
    use crate::config::DatabaseTarget;

    /// Records the SQL of every statement the connection compiles to keep.
    struct Kept(Arc<Mutex<Vec<String>>>);

    impl Instrumentation for Kept {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                self.0.lock().unwrap().push(sql.to_owned());
            }
        }
    }

    /// A public room with this id and owner, for tests to create.
    pub(crate) fn room(id: &str, owner: &str) -> Room {
        Room {
            id: id.to_owned(),
            title: "room".into(),
            max_members: 10,
            password_hash: None,
            owner_id: owner.to_owned(),
            last_seq: 0,
            created_at: 0,
            keep: false,
        }
    }

    fn connection(dir: &tempfile::TempDir) -> DbConnection {
        let path = dir.path().join("gifchat.db");
        drop(Db::connect(&DatabaseTarget::Sqlite(path.clone()), 1).unwrap());
        Manager {
            target: DatabaseTarget::Sqlite(path),
        }
        .connect()
        .unwrap()
    }

    /// A chat's statements are compiled once per connection: the first post
    /// prepares each of them, and later posts prepare nothing new.
    #[test]
    fn a_posts_statements_stay_prepared() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = connection(&dir);
        let room = room(&"r".repeat(12), "owner");
        let kept = Arc::new(Mutex::new(Vec::new()));
        conn.set_instrumentation(Kept(kept.clone()));
        rooms::create(&mut conn, &room).unwrap();
        let post = |conn: &mut DbConnection| {
            rooms::find(conn, &room.id).unwrap().unwrap();
            rooms::is_banned(conn, &room.id, "poster").unwrap();
            users::ensure(conn, "poster").unwrap();
            let chat = NewChat {
                room_id: room.id.clone(),
                kind: "text",
                user_id: Some("poster".into()),
                body: Some("hi".into()),
                ..NewChat::default()
            };
            chats::append(conn, &chat).unwrap();
        };
        post(&mut conn);
        let first: Vec<String> = kept.lock().unwrap().clone();
        for needle in [
            "FROM (`rooms`",
            "`room_bans`",
            "INSERT INTO users",
            "UPDATE rooms",
            "INSERT INTO chats",
        ] {
            assert!(
                first.iter().any(|sql| sql.contains(needle)),
                "`{needle}` was not kept prepared: {first:?}"
            );
        }
        post(&mut conn);
        post(&mut conn);
        assert_eq!(
            *kept.lock().unwrap(),
            first,
            "later posts compiled statements again"
        );
    }

    #[test]
    fn many_users_are_found_once_each_with_few_statements() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = connection(&dir);
        let ids: Vec<String> = (0..300).map(|i| format!("user-{i:03}")).collect();
        for id in &ids {
            users::ensure(&mut conn, id).unwrap();
        }
        let kept = Arc::new(Mutex::new(Vec::new()));
        conn.set_instrumentation(Kept(kept.clone()));
        for n in [1usize, 3, 5, 300] {
            for _ in 0..2 {
                let mut asked: Vec<&str> = ids[..n].iter().map(String::as_str).collect();
                asked.push(ids[0].as_str());
                asked.push("nobody");
                let mut got: Vec<String> = users::find_many(&mut conn, &asked)
                    .unwrap()
                    .into_iter()
                    .map(|u| u.id)
                    .collect();
                got.sort();
                assert_eq!(got, ids[..n], "asking for {n}");
            }
        }
        // Widths 2, 4 and 8 for 1 + 1, 3 + 1 and 5 + 1 ids, then 256 and
        // 64 for 301: each compiled the first time only.
        assert_eq!(kept.lock().unwrap().len(), 5, "{:?}", kept.lock().unwrap());
    }

    #[test]
    fn many_chats_go_in_power_of_two_groups_and_keep_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = connection(&dir);
        for id in ["a".repeat(32), "b".repeat(32)] {
            rooms::create(&mut conn, &room(&id, "owner")).unwrap();
        }
        let kept = Arc::new(Mutex::new(Vec::new()));
        conn.set_instrumentation(Kept(kept.clone()));
        let insert = |conn: &mut DbConnection, round: usize| -> Vec<models::Chat> {
            let rows: Vec<(NewChat, i64)> = (0..21)
                .map(|i| {
                    let room = if i % 3 == 0 { "b" } else { "a" }.repeat(32);
                    let chat = NewChat {
                        room_id: room,
                        kind: "text",
                        user_id: Some("owner".into()),
                        body: Some(format!("chat {round}.{i}")),
                        ..NewChat::default()
                    };
                    (chat, (round * 100 + i) as i64)
                })
                .collect();
            let chats = chats::insert_many(conn, &rows).unwrap();
            for ((row, seq), chat) in rows.iter().zip(&chats) {
                let (room, body): (String, Option<String>) = schema::chats::table
                    .find(chat.id)
                    .select((schema::chats::room_id, schema::chats::body))
                    .get_result(conn)
                    .unwrap();
                assert_eq!((&room, &body, chat.seq), (&row.room_id, &row.body, *seq));
            }
            chats
        };
        let inserts = |kept: &Mutex<Vec<String>>| {
            kept.lock()
                .unwrap()
                .iter()
                .filter(|sql| sql.starts_with("INSERT INTO chats"))
                .count()
        };
        assert_eq!(insert(&mut conn, 1).len(), 21);
        assert_eq!(
            inserts(&kept),
            3,
            "16, 4 and 1 rows: {:?}",
            kept.lock().unwrap()
        );
        insert(&mut conn, 2);
        assert_eq!(inserts(&kept), 3, "the same sizes compiled again");
    }

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

    /// What the writer commits reaches the database file within seconds,
    /// copied by the checkpointing thread, long before the WAL would reach
    /// the size at which the writer would copy it itself.
    #[test]
    fn committed_pages_reach_the_database_file_in_the_background() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("checkpoints.db");
        let db = Db::connect(&DatabaseTarget::Sqlite(path.clone()), 1).expect("opening");
        let size = || std::fs::metadata(&path).expect("the database file").len();
        let before = size();
        db.write_blocking(|conn| {
            Ok(conn.batch_execute(
                "CREATE TABLE filler (x BLOB); \
                 INSERT INTO filler WITH RECURSIVE n(i) AS \
                 (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) \
                 SELECT randomblob(1000) FROM n;",
            )?)
        })
        .expect("writing 200 KB");
        let deadline = Instant::now() + CHECKPOINT_WITHIN + Duration::from_secs(7);
        while size() < before + 200_000 {
            assert!(
                Instant::now() < deadline,
                "the database file is still {} bytes ({before} before)",
                size()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
