//! Starts the real application on port 0 with a fresh database: a temporary
//! SQLite file, or a new PostgreSQL database on the local server.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use gifchat::config::Settings;
use gifchat::startup::Application;
use gifchat::state::AppState;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn admin_url() -> String {
    std::env::var("TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub state: actix_web::web::Data<AppState>,
    pub settings: Settings,
    pub data_dir: tempfile::TempDir,
    handle: actix_web::dev::ServerHandle,
    pg_db: Option<String>,
}

/// Settings for a test: a private data folder, rate limits off unless a test
/// turns them on, and short graces.
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    let mut s = Settings::from_env().expect("default settings parse");
    s.port = 0;
    s.bind_addr = "127.0.0.1".parse().unwrap();
    s.data_dir = data_dir.to_owned();
    s.database_url = Some(data_dir.join("test.db").to_string_lossy().into_owned());
    s.upload_dir = None;
    s.session_key = None;
    s.rate_limits = false;
    s.workers = Some(2);
    s.leave_grace_secs = 1;
    s.room_empty_grace_secs = 3600;
    s.db_pool_size = 8;
    s
}

impl TestApp {
    /// Starts an app on `backend`. `None` when PostgreSQL is wanted but cannot
    /// be reached outside CI (under `CI=true` that is a failure).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(
        backend: Backend,
        tweak: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let data_dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(data_dir.path());
        let mut pg_db = None;
        if backend == Backend::Postgres {
            let name = format!("gifchat_test_{}", uuid::Uuid::new_v4().simple());
            match create_pg_database(&name) {
                Ok(url) => {
                    settings.database_url = Some(url);
                    pg_db = Some(name);
                }
                Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                    panic!("PostgreSQL is required under CI but unreachable: {e}")
                }
                Err(e) => {
                    eprintln!("\n!!! SKIPPED the PostgreSQL half of this test: {e} !!!\n");
                    return None;
                }
            }
        }
        tweak(&mut settings);
        Some(Self::start(backend, settings, data_dir, pg_db).await)
    }

    async fn start(
        backend: Backend,
        settings: Settings,
        data_dir: tempfile::TempDir,
        pg_db: Option<String>,
    ) -> TestApp {
        let app = Application::build(settings.clone())
            .await
            .expect("app starts");
        let port = app.port();
        let state = app.state();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            backend,
            state,
            settings,
            data_dir,
            handle,
            pg_db,
        }
    }

    /// Stops this instance and starts a new one on the same database, data
    /// folder and settings (a restart).
    pub async fn restart(mut self) -> TestApp {
        self.handle.stop(true).await;
        let pg_db = self.pg_db.take();
        let settings = self.settings.clone();
        let mut fresh =
            Self::start(self.backend, settings, tempfile::tempdir().unwrap(), pg_db).await;
        std::mem::swap(&mut fresh.data_dir, &mut self.data_dir);
        fresh
    }

    /// As [`TestApp::restart`], after the clean stop SIGTERM makes.
    pub async fn restart_cleanly(self) -> TestApp {
        gifchat::startup::stop(&self.state, &self.handle).await;
        self.restart().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /metrics`, checked to be Prometheus's text format. The metrics
    /// are the process's, shared by every test app in it.
    pub async fn metrics(&self) -> String {
        let res = reqwest::get(self.url("/metrics")).await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        res.text().await.unwrap()
    }

    /// A new person: a client with its own cookie jar.
    pub fn user(&self) -> Client {
        Client::new(&self.base)
    }

    /// Runs SQL against the app's own database and returns one count.
    pub async fn count(&self, sql: &'static str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.state
            .db
            .run(move |conn| Ok(diesel::sql_query(sql).get_result::<Row>(conn)?.n))
            .await
            .unwrap()
    }

    /// Files in the upload folder, the temporary ones of every instance as
    /// `.tmp/{name}` (not counting the folders and their locks).
    pub fn stored_files(&self) -> Vec<String> {
        let dir = self.settings.upload_dir();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".tmp")
            .collect();
        names.extend(temp_files(&dir).iter().map(|n| format!(".tmp/{n}")));
        names.sort();
        names
    }
}

impl TestApp {
    /// The stored GIFs alone, without their posters and renditions.
    pub fn stored_gifs(&self) -> Vec<String> {
        let mut gifs = self.stored_files();
        gifs.retain(|n| n.ends_with(".gif") && !n.starts_with(".tmp/"));
        gifs
    }

    /// Waits (up to 30 s) until `room`'s chat at `seq`, as `user` sees it,
    /// has its GIF's renditions, and returns that chat.
    pub async fn with_renditions(&self, user: &Client, room: &str, seq: i64) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let page = user.history(room, "").await;
            let chat = page.body["chats"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["seq"] == seq).cloned())
                .expect("the chat is in the room");
            if chat["gif"]["variants"]
                .as_array()
                .is_some_and(|v| !v.is_empty())
            {
                return chat;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no renditions came: {chat}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Temporary files under `upload_dir/.tmp`, at any depth, but not the locks
/// that mark an instance's temporary folder as in use.
pub fn temp_files(upload_dir: &std::path::Path) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if entry.file_name() != ".lock" {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(&upload_dir.join(".tmp"), &mut out);
    out.sort();
    out
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent on call; there is no runtime here to await completion.
        drop(self.handle.stop(false));
        if let Some(name) = self.pg_db.take() {
            // The pool may still hold connections; force them out.
            std::thread::spawn(move || {
                if let Ok(mut conn) = PgConnection::establish(&admin_url()) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            })
            .join()
            .ok();
        }
    }
}

fn create_pg_database(name: &str) -> Result<String, String> {
    let admin = admin_url();
    let mut conn = PgConnection::establish(&format!("{admin}?connect_timeout=3"))
        .map_err(|e| e.to_string())?;
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_owned();
    Ok(format!("{base}/{name}"))
}

/// One person talking to the app.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

pub struct Res {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Res {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }

    /// The stored file name of the GIF in a chat answer, as a re-post names it.
    pub fn gif_file(&self) -> String {
        let url = self.body["chat"]["gif"]["url"]
            .as_str()
            .expect("a GIF chat");
        url.trim_start_matches("/gif/").to_owned()
    }
}

impl Client {
    /// A new person talking to the server at `base`, with their own cookie jar.
    pub fn new(base: &str) -> Client {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Client {
            http: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: base.to_owned(),
            jar,
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Res {
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Res {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Res {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn delete(&self, path: &str) -> Res {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Res {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Res {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn put(&self, path: &str) -> Res {
        self.send(self.http.put(format!("{}{path}", self.base)))
            .await
    }

    /// Edits the chat at `seq`.
    pub async fn edit(&self, room: &str, seq: i64, text: &str) -> Res {
        self.patch(
            &format!("/api/rooms/{room}/chats/{seq}"),
            json!({ "text": text }),
        )
        .await
    }

    /// Deletes the chat at `seq`.
    pub async fn delete_chat(&self, room: &str, seq: i64) -> Res {
        self.delete(&format!("/api/rooms/{room}/chats/{seq}")).await
    }

    /// Adds this person's `emoji` to the chat at `seq`.
    pub async fn react(&self, room: &str, seq: i64, emoji: &str) -> Res {
        self.put(&format!("/api/rooms/{room}/chats/{seq}/reactions/{emoji}"))
            .await
    }

    /// Removes it.
    pub async fn unreact(&self, room: &str, seq: i64, emoji: &str) -> Res {
        self.delete(&format!("/api/rooms/{room}/chats/{seq}/reactions/{emoji}"))
            .await
    }

    /// This person's user id (making sure they have a session).
    pub async fn id(&self) -> String {
        self.me().await["id"].as_str().unwrap().to_owned()
    }

    /// Opens the socket with this person's cookie and reads `hello`.
    pub async fn ws(&self) -> crate::ws::Ws {
        self.me().await;
        crate::ws::Ws::connect(&self.base, self.cookie(), None)
            .await
            .expect("socket opens")
    }

    /// This person's `Cookie` header, once they have one.
    pub fn cookie(&self) -> Option<String> {
        let cookie = reqwest::cookie::CookieStore::cookies(&*self.jar, &self.base.parse().unwrap());
        cookie.map(|c| c.to_str().unwrap().to_owned())
    }

    pub async fn me(&self) -> Value {
        self.get("/api/me").await.body["user"].clone()
    }

    /// Creates a room and returns it.
    pub async fn create_room(&self, body: Value) -> Value {
        let res = self.post("/api/rooms", body).await;
        assert_eq!(res.status, 201, "create room: {}", res.body);
        res.body["room"].clone()
    }

    pub async fn public_room(&self) -> String {
        self.create_room(json!({"title": "a room"})).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn say(&self, room: &str, text: &str) -> Res {
        self.post(&format!("/api/rooms/{room}/chats"), json!({ "text": text }))
            .await
    }

    /// Posts a text chat under a `client_id`.
    pub async fn say_once(&self, room: &str, text: &str, client_id: &str) -> Res {
        self.post(
            &format!("/api/rooms/{room}/chats"),
            json!({ "text": text, "client_id": client_id }),
        )
        .await
    }

    /// Uploads a GIF with a `client_id` part, before or after the file.
    pub async fn upload_once(
        &self,
        room: &str,
        bytes: Vec<u8>,
        client_id: &str,
        id_first: bool,
    ) -> Res {
        let part = Part::bytes(bytes)
            .file_name("once.gif")
            .mime_str("image/gif")
            .unwrap();
        let form = if id_first {
            Form::new()
                .text("client_id", client_id.to_owned())
                .part("gif", part)
        } else {
            Form::new()
                .part("gif", part)
                .text("client_id", client_id.to_owned())
        };
        self.send(
            self.http
                .post(format!("{}/api/rooms/{room}/gifs", self.base))
                .multipart(form),
        )
        .await
    }

    pub async fn rename(&self, nickname: &str) -> Res {
        let res = self.patch("/api/me", json!({ "nickname": nickname })).await;
        assert_eq!(res.status, 200, "rename: {}", res.body);
        res
    }

    /// The events of the room's system chats in the latest page, in order.
    pub async fn events(&self, room: &str) -> Vec<String> {
        self.history(room, "").await.body["chats"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["event"].as_str().map(str::to_owned))
            .collect()
    }

    pub async fn history(&self, room: &str, query: &str) -> Res {
        self.get(&format!("/api/rooms/{room}/chats{query}")).await
    }

    pub async fn upload(&self, room: &str, bytes: Vec<u8>, file_name: &str, mime: &str) -> Res {
        let part = Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .unwrap();
        let form = Form::new().part("gif", part);
        self.send(
            self.http
                .post(format!("{}/api/rooms/{room}/gifs", self.base))
                .multipart(form),
        )
        .await
    }
}

/// A small valid animated GIF whose pixels depend on `seed`.
pub fn make_gif(width: u16, height: u16, frames: usize, seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let palette = [0, 0, 0, 255, 255, 255, seed, 0, 255 - seed, 30, 200, 90];
        let mut enc = gif::Encoder::new(&mut out, width, height, &palette).unwrap();
        for f in 0..frames {
            let pixels: Vec<u8> = (0..width as usize * height as usize)
                .map(|i| ((i + f + seed as usize) % 4) as u8)
                .collect();
            enc.write_frame(&gif::Frame::from_indexed_pixels(
                width, height, pixels, None,
            ))
            .unwrap();
        }
    }
    out
}

/// Declares each test twice: once on SQLite, once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($(async fn $name:ident($app:ident) $(where $tweak:expr;)? $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                #[allow(unused_imports)]
                use $crate::helpers::*;

                #[allow(unused_variables)]
                fn tweak(settings: &mut gifchat::config::Settings) {
                    $( ($tweak)(settings); )?
                }

                async fn run($app: TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(TestApp::spawn_with(Backend::Sqlite, tweak).await.expect("sqlite app")).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = TestApp::spawn_with(Backend::Postgres, tweak).await {
                        run(app).await;
                    }
                }
            }
        )*
    };
}

/// A decompression bomb: `frames` frames of `side`×`side` pixels of one
/// colour, which LZW squeezes to a few KiB each.
pub fn gif_bomb(side: u16, frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, side, side, &[0, 0, 0, 255, 255, 255]).unwrap();
        let pixels = vec![0u8; usize::from(side) * usize::from(side)];
        let mut frame = gif::Frame::from_indexed_pixels(side, side, pixels, None);
        frame.make_lzw_pre_encoded();
        for _ in 0..frames {
            enc.write_lzw_pre_encoded_frame(&frame).unwrap();
        }
    }
    out
}

/// A GIF of noise: `frames` frames of `side`×`side` pixels in four colours
/// that LZW can barely shrink, the most decoding work a byte can ask for.
pub fn noisy_gif(side: u16, frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    {
        let palette = [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255];
        let mut enc = gif::Encoder::new(&mut out, side, side, &palette).unwrap();
        for _ in 0..frames {
            let pixels: Vec<u8> = (0..usize::from(side) * usize::from(side))
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 62) as u8
                })
                .collect();
            let mut frame = gif::Frame::from_indexed_pixels(side, side, pixels, None);
            frame.make_lzw_pre_encoded();
            enc.write_lzw_pre_encoded_frame(&frame).unwrap();
        }
    }
    out
}

/// The value of the sample whose line starts with `series` (a metric's name
/// and labels) in a `/metrics` text; 0 when there is none.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
