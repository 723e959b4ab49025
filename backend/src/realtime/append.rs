//! Group commit for text chats.
//!
//! Concurrent posts queue for one writer thread, which takes every post
//! waiting (up to `MAX_BATCH`) and commits them in one transaction, each in
//! its own savepoint so one bad post fails alone. Committing once per batch
//! instead of once per chat is what lets a single SQLite file take many
//! thousands of chats a second, and it spares PostgreSQL a flush per chat.
//!
//! The writer publishes the batch while it still holds the connection and
//! the rooms' locks (taken in sorted order, after the connection, as every
//! other chat path does), so sockets keep receiving chats in seq order.

use std::sync::{Arc, Weak};

use diesel::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::api::ChatResponse;
use crate::db::chats;
use crate::db::models::{Chat, NewChat};
use crate::db::{DbConnection, DbKind};
use crate::error::{AppError, AppResult};
use crate::routes::chats::check_recipient;
use crate::routes::rooms::find_readable_room;
use crate::state::AppState;

const MAX_BATCH: usize = 256;
const QUEUE: usize = 8192;

/// A text chat (or whisper) someone posted.
pub struct TextPost {
    pub room_id: String,
    pub user_id: String,
    pub text: String,
    pub to: Option<String>,
}

struct Job {
    post: TextPost,
    reply: oneshot::Sender<AppResult<ChatResponse>>,
}

/// The handle handlers post through.
pub struct Appender {
    tx: mpsc::Sender<Job>,
}

impl Appender {
    /// Starts the writer threads: one for SQLite, which has one writer
    /// anyway; several for PostgreSQL, whose batches for different rooms can
    /// commit side by side (each holds its rooms' locks). They hold the state
    /// weakly and end when it is dropped.
    pub fn start(state: &Arc<AppState>) -> anyhow::Result<Appender> {
        let (tx, rx) = mpsc::channel::<Job>(QUEUE);
        let writers = match state.db.kind() {
            DbKind::Sqlite => 1,
            DbKind::Postgres => (state.settings.db_pool_size as usize / 2).clamp(1, 4),
        };
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..writers {
            let (rx, weak): (_, Weak<AppState>) = (rx.clone(), Arc::downgrade(state));
            std::thread::Builder::new()
                .name(format!("chat-writer-{i}"))
                .spawn(move || loop {
                    let batch = {
                        let mut rx = rx.lock().unwrap_or_else(|p| p.into_inner());
                        let Some(first) = rx.blocking_recv() else {
                            break;
                        };
                        let mut batch = vec![first];
                        while batch.len() < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    let Some(state) = weak.upgrade() else { break };
                    write_batch(&state, batch);
                })?;
        }
        Ok(Appender { tx })
    }

    /// Queues a post and waits for it to be committed and published.
    pub async fn post(&self, post: TextPost) -> AppResult<ChatResponse> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { post, reply })
            .await
            .map_err(|_| AppError::Unavailable(anyhow::anyhow!("the chat writer has stopped")))?;
        answer
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the chat writer dropped a post")))?
    }
}

fn one_post(conn: &mut DbConnection, post: &TextPost) -> AppResult<Chat> {
    let (room, _) = find_readable_room(conn, &post.room_id, &post.user_id)?;
    if let Some(to) = &post.to {
        check_recipient(conn, &room, &post.user_id, to)?;
    }
    let new = NewChat {
        room_id: room.id,
        kind: "text",
        user_id: Some(post.user_id.clone()),
        body: Some(post.text.clone()),
        to_user_id: post.to.clone(),
        ..NewChat::default()
    };
    Ok(chats::append_in_tx(conn, &new)?)
}

fn write_batch(state: &AppState, jobs: Vec<Job>) {
    let outcome = state.db.write_blocking(|conn| {
        let mut rooms: Vec<&str> = jobs.iter().map(|j| j.post.room_id.as_str()).collect();
        rooms.sort_unstable();
        rooms.dedup();
        let locks: Vec<_> = rooms.iter().map(|r| state.room_lock(r)).collect();
        let _ordered: Vec<_> = locks
            .iter()
            .map(|l| l.lock().unwrap_or_else(|p| p.into_inner()))
            .collect();

        let mut results: Vec<AppResult<Chat>> = Vec::with_capacity(jobs.len());
        conn.transaction::<_, AppError, _>(|conn| {
            for job in &jobs {
                // A nested transaction is a savepoint: a failed post rolls back alone.
                results.push(conn.transaction(|conn| one_post(conn, &job.post)));
            }
            Ok(())
        })?;
        let rows: Vec<Chat> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        let mut responses = ChatResponse::load_all(conn, &rows)?.into_iter();
        let answers: Vec<AppResult<ChatResponse>> = results
            .into_iter()
            .map(|r| {
                r.and_then(|_| {
                    responses
                        .next()
                        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("lost a chat")))
                })
            })
            .collect();
        for chat in answers.iter().flatten() {
            state.publish_chat(chat);
        }
        Ok(answers)
    });
    match outcome {
        Ok(answers) => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                let _ = job.reply.send(answer);
            }
        }
        Err(e) => {
            let message = e.to_string();
            log::error!("a batch of {} chats failed: {message}", jobs.len());
            for job in jobs {
                let _ = job.reply.send(Err(AppError::Internal(anyhow::anyhow!(
                    "committing chats failed: {message}"
                ))));
            }
        }
    }
}
