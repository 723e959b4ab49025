//! The real binary as a child process, for what an in-process server cannot
//! show: being killed with SIGKILL, and what it writes to its log.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::Client;

pub struct Server {
    pub port: u16,
    pub base: String,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the binary on SQLite in `data_dir` (and the upload folder in
    /// it unless `env` says otherwise), on a free port, rate limits off.
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gifchat"))
            // No `.env` file of the checkout's applies.
            .current_dir(data_dir)
            .env("PORT", "0")
            .env("BIND_ADDR", "127.0.0.1")
            .env("DATA_DIR", data_dir)
            .env("DATABASE_URL", data_dir.join("gifchat.db"))
            .env("STATIC_DIR", data_dir.join("no-web-app"))
            .env("RATE_LIMITS", "off")
            .env("RUST_LOG", "info")
            .env_remove("UPLOAD_DIR")
            .env_remove("REDIS_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gifchat binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("listening on port ")
                    .nth(1)
                    .and_then(|p| p.trim().parse::<u16>().ok())
                {
                    let _ = port_tx.send(port);
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no port in the log: {}", log.lock().unwrap()));
        Server {
            port,
            base: format!("http://127.0.0.1:{port}"),
            child,
            log,
        }
    }

    pub fn user(&self) -> Client {
        Client::new(&self.base)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL: no destructor, no shutdown, nothing cleaned up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A data folder for a child server.
pub fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    (dir, path)
}
