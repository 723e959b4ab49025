//! A room's timeline has one way in: every chat (text, GIF and system)
//! is a [`Post`] handed to [`Appender::post`].
//!
//! Concurrent posts queue for one writer thread, which takes every post
//! waiting (up to `MAX_BATCH`) and commits them in one transaction.
//! Committing once per batch instead of once per chat is what lets a single
//! SQLite file take many thousands of chats a second, and it spares
//! PostgreSQL a flush per chat.
//!
//! A post that fails its checks (a room that is gone, a ban, a bad whisper)
//! fails alone and writes nothing. Each room is read once per batch and each
//! author's row written once. Should a write itself fail, the batch is rolled
//! back and written again with each post in its own savepoint, so that only
//! the post at fault fails; savepoints cost two more statements per post,
//! which is why they are not the first resort.
//!
//! A post with a `client_id` its author already used in the room makes no
//! chat: it is answered with the chat the first one made. The batch looks
//! all of its `client_id`s up in one statement; two posts of one batch that
//! share one make one chat. Should another instance commit the same
//! `client_id` meanwhile, the unique index refuses this batch's chat, the
//! batch is written again one by one, and that post finds the other's chat.
//!
//! The writer remembers which users it has seen stored (users are never
//! deleted), so a regular's post does not write their row again.
//!
//! Text posts, the bulk of any batch, are written together as above. A GIF
//! or system post in the batch is written in its own savepoint after them,
//! in the same transaction: it fails alone, and commits with the rest. A
//! GIF's file is in place before the commit; if the commit fails, files the
//! batch placed without a row are removed.
//!
//! The writer publishes the batch, in seq order, while it still holds the
//! connection and the rooms' locks (taken in sorted order, after the
//! connection), so sockets receive every room's chats in seq order.

use crate::sync::LockOrRecover;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use diesel::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::access::{check_recipient, check_reply, ensure_can_read, find_room};
use crate::db::chats::PostKey;
use crate::db::models::{Chat, Room};
use crate::db::{chats, rooms, users};
use crate::db::{Db, DbConnection};
use crate::error::{AppError, AppResult};
use crate::realtime::transport::wakes;
use crate::realtime::Realtime;
use crate::storage::gifs::GifStore;
use posts::{new_chat, Written};
pub use posts::{
    Change, ChangePost, Effect, GifPost, GifSource, Post, Posted, SystemPost, TextPost,
};

const MAX_BATCH: usize = 256;
const QUEUE: usize = 8192;

/// The most users the writer remembers as stored before it starts over.
const STORED_USERS: usize = 65_536;

/// Users the writer has seen committed. Users are never deleted, so their
/// row needs no `INSERT … ON CONFLICT DO NOTHING` before their next chat.
#[derive(Default)]
struct StoredUsers(HashSet<Box<str>>);

impl StoredUsers {
    fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }

    /// Records users whose rows a committed transaction wrote or found.
    fn record<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            if self.0.len() >= STORED_USERS {
                self.0.clear();
            }
            if !self.0.contains(id) {
                self.0.insert(id.into());
            }
        }
    }
}

/// What the writer does with one post of a batch.
enum Verdict<'a> {
    /// It passed its checks and becomes a chat.
    New,
    /// Its `client_id` was used before: the chat the first post made.
    Repeat(&'a Chat),
    /// Its `client_id` is that of an earlier post in the batch (at this
    /// index), which becomes the chat.
    SameAs(usize),
    Refused(AppError),
}

struct Job {
    post: Post,
    reply: oneshot::Sender<AppResult<Posted>>,
}

/// The handle handlers post through.
pub struct Appender {
    tx: mpsc::Sender<Job>,
}

impl Appender {
    /// Starts the writer thread. It ends when the handle is dropped.
    ///
    /// One writer for PostgreSQL too: each commit there waits for a flush
    /// to disk, so one writer taking everything waiting into one batch
    /// pays one flush for many chats, where several writers would each pay
    /// one for a smaller batch (measured in BENCHMARKS.md). Instances still
    /// commit side by side.
    pub fn start(
        db: Db,
        realtime: Arc<Realtime>,
        gifs: GifStore,
        edit_secs: u64,
    ) -> anyhow::Result<Appender> {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let timeline = Timeline {
            db,
            realtime,
            gifs,
            edit_secs,
        };
        std::thread::Builder::new()
            .name("chat-writer".into())
            .spawn(move || {
                let mut stored = StoredUsers::default();
                loop {
                    let Some(first) = rx.blocking_recv() else {
                        break;
                    };
                    let mut batch = vec![first];
                    let mut yielded = false;
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            // Once, give way to the threads that are handing in
                            // posts: when they share a core with this one, the
                            // batch then takes the posts they hand in meanwhile
                            // instead of committing as soon as the first has
                            // arrived (BENCHMARKS.md). With nothing else to
                            // run, this returns at once.
                            Err(_) if !yielded => {
                                yielded = true;
                                std::thread::yield_now();
                            }
                            Err(_) => break,
                        }
                    }
                    write_batch(&timeline, batch, &mut stored);
                }
            })?;
        Ok(Appender { tx })
    }

    /// Queues a post and waits for it to be committed and published.
    ///
    /// The writer answers a whole batch at once: a caller on an actix
    /// worker wraps this in [`wakes::batched`] so that the answers reach
    /// each worker with one wake-up. Tasks elsewhere (timers, the cluster's
    /// sweep) await it as it is.
    pub async fn post(&self, post: Post) -> AppResult<Posted> {
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

/// Whether the author may post this chat to this room. `recipient_stored`
/// says a whisper's recipient is known to have a row already.
fn check(
    conn: &mut DbConnection,
    room: &Room,
    post: &TextPost,
    recipient_stored: bool,
) -> AppResult<()> {
    ensure_can_read(conn, room, &post.user_id)?;
    if let Some(to) = &post.to {
        check_recipient(conn, room, &post.user_id, to, recipient_stored)?;
    }
    if let Some(seq) = post.reply_to {
        check_reply(conn, room, &post.user_id, post.to.as_deref(), seq)?;
    }
    Ok(())
}

fn lost() -> AppError {
    AppError::Internal(anyhow::anyhow!("lost a chat"))
}

/// Writes a batch without savepoints: the batch's `client_id`s are looked
/// up; every post is checked, in order (a repeat only for its poster's
/// access to the room); the rooms' seqs are taken
/// with one statement per room; then the authors' rows and the chats that
/// passed are written. An `Err` means a statement failed and the caller
/// must roll the whole transaction back.
fn write_together(
    conn: &mut DbConnection,
    posts: &[&TextPost],
    stored: &StoredUsers,
) -> AppResult<Vec<AppResult<Written>>> {
    let keys: Vec<PostKey<'_>> = posts.iter().filter_map(|p| p.key()).collect();
    let found = if keys.is_empty() {
        Vec::new()
    } else {
        chats::find_posted(conn, &keys)?
    };
    let earlier: HashMap<PostKey<'_>, &Chat> = found
        .iter()
        .filter_map(|chat| {
            let key = PostKey {
                room_id: &chat.room_id,
                user_id: chat.user_id.as_deref()?,
                client_id: chat.client_id.as_deref()?,
            };
            Some((key, chat))
        })
        .collect();
    // The first post of the batch to pass its checks under each key.
    let mut claimed: HashMap<PostKey<'_>, usize> = HashMap::new();
    let mut found_rooms: HashMap<&str, Option<Room>> = HashMap::new();
    let mut authors: HashSet<&str> = HashSet::new();
    let mut verdicts: Vec<Verdict> = Vec::with_capacity(posts.len());
    for (i, post) in posts.iter().enumerate() {
        let room = match found_rooms.get(post.room_id.as_str()) {
            Some(room) => room,
            None => {
                let room = rooms::find(conn, &post.room_id)?.map(|(room, _)| room);
                found_rooms.entry(&post.room_id).or_insert(room)
            }
        };
        let key = post.key();
        let repeat = key.and_then(|key| match earlier.get(&key) {
            Some(chat) => Some(Verdict::Repeat(chat)),
            None => claimed.get(&key).map(|&first| Verdict::SameAs(first)),
        });
        if let Some(repeat) = repeat {
            // Its poster must still be able to read the room; what it says
            // no longer matters.
            let verdict = match room {
                Some(room) => ensure_can_read(conn, room, &post.user_id),
                None => Err(AppError::NotFound("room")),
            };
            verdicts.push(match verdict {
                Ok(()) => repeat,
                Err(e @ AppError::Internal(_)) => return Err(e),
                Err(refused) => Verdict::Refused(refused),
            });
            continue;
        }
        // A recipient who wrote earlier in the batch is stored by the time
        // this chat is.
        let recipient_stored = post
            .to
            .as_deref()
            .is_some_and(|to| stored.contains(to) || authors.contains(to));
        let verdict = match room {
            Some(room) => check(conn, room, post, recipient_stored),
            None => Err(AppError::NotFound("room")),
        };
        verdicts.push(match verdict {
            Ok(()) => {
                authors.insert(&post.user_id);
                if let Some(key) = key {
                    claimed.insert(key, i);
                }
                Verdict::New
            }
            Err(e @ AppError::Internal(_)) => return Err(e),
            Err(refused) => Verdict::Refused(refused),
        });
    }

    // In sorted order, as every writer takes rooms, so that PostgreSQL
    // writers never wait on each other's rows in a cycle.
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for (post, verdict) in posts.iter().zip(&verdicts) {
        if matches!(verdict, Verdict::New) {
            *counts.entry(&post.room_id).or_default() += 1;
        }
    }
    // Each room's next (seq, rev): creating a chat takes one of each.
    let mut next: HashMap<&str, (i64, i64)> = HashMap::with_capacity(counts.len());
    for (room, count) in counts {
        let taken = chats::take_seqs(conn, room, count)?;
        next.insert(
            room,
            (taken.last_seq - count + 1, taken.last_rev - count + 1),
        );
    }

    // Users whose row this batch has written or found.
    let mut ensured: HashSet<&str> = HashSet::new();
    let mut rows = Vec::with_capacity(posts.len());
    for (post, verdict) in posts.iter().zip(&verdicts) {
        if !matches!(verdict, Verdict::New) {
            continue;
        }
        for user in std::iter::once(&post.user_id).chain(&post.to) {
            if !stored.contains(user) && ensured.insert(user) {
                users::ensure(conn, user)?;
            }
        }
        let (seq, rev) = next
            .get_mut(post.room_id.as_str())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a post's room was not counted")))?;
        rows.push((new_chat(post), *seq, *rev));
        *seq += 1;
        *rev += 1;
    }
    let mut created = chats::insert_many(conn, &rows)?.into_iter();
    let mut results: Vec<AppResult<Written>> = Vec::with_capacity(posts.len());
    for verdict in verdicts {
        let result = match verdict {
            Verdict::New => Ok(Written::new(created.next().ok_or_else(lost)?)),
            Verdict::Repeat(chat) => Ok(Written::repeat(chat.clone())),
            Verdict::SameAs(first) => match results.get(first) {
                Some(Ok(made)) => Ok(Written::repeat(made.chat.clone())),
                _ => Err(lost()),
            },
            Verdict::Refused(refused) => Err(refused),
        };
        results.push(result);
    }
    Ok(results)
}

/// Writes a batch with each post in its own savepoint, so that a post whose
/// write fails rolls back alone. A post whose chat the unique index refused
/// repeats a `client_id` another instance committed meanwhile, and is
/// answered with that chat.
fn write_one_by_one(
    conn: &mut DbConnection,
    posts: &[&TextPost],
) -> AppResult<Vec<AppResult<Written>>> {
    let one = |conn: &mut DbConnection, post: &TextPost| -> AppResult<Written> {
        let (room, _) = find_room(conn, &post.room_id)?;
        if let Some(key) = post.key() {
            if let Some(chat) = chats::find_one_posted(conn, key)? {
                ensure_can_read(conn, &room, &post.user_id)?;
                return Ok(Written::repeat(chat));
            }
        }
        check(conn, &room, post, false)?;
        Ok(Written::new(chats::append_in_tx(conn, &new_chat(post))?))
    };
    conn.transaction(|conn| {
        Ok(posts
            .iter()
            .map(
                |post| match (conn.transaction(|conn| one(conn, post)), post.key()) {
                    (Err(failed), Some(key)) if failed.is_unique_violation() => {
                        match chats::find_one_posted(conn, key)? {
                            Some(chat) => Ok(Written::repeat(chat)),
                            None => Err(failed),
                        }
                    }
                    (written, _) => written,
                },
            )
            .collect())
    })
}

/// Commits a batch: together if every write succeeds, else one by one.
/// Returns each post's chat or the reason it was refused, in order.
fn write_posts(
    conn: &mut DbConnection,
    posts: &[&TextPost],
    stored: &StoredUsers,
) -> AppResult<Vec<AppResult<Written>>> {
    let metrics = crate::metrics::metrics();
    metrics.commit_batch_size.observe(posts.len() as f64);
    let _timer = metrics.commit_seconds.start_timer();
    match conn.transaction(|conn| write_together(conn, posts, stored)) {
        Ok(results) => Ok(results),
        // Another instance committed a `client_id` of this batch first.
        Err(e) if e.is_unique_violation() => {
            log::debug!(
                "a client_id in a batch of {} chats was used meanwhile; writing them one by one",
                posts.len()
            );
            write_one_by_one(conn, posts)
        }
        Err(e) => {
            log::warn!(
                "writing {} chats together failed, writing them one by one: {e:?}",
                posts.len()
            );
            write_one_by_one(conn, posts)
        }
    }
}

/// Writes a batch of any kinds of post in one transaction: text posts
/// together ([`write_posts`]), then each other post in its own savepoint.
fn write_mixed(
    conn: &mut DbConnection,
    posts: &[&Post],
    stored: &StoredUsers,
    gifs: &GifStore,
    edit_secs: u64,
) -> AppResult<Vec<AppResult<Written>>> {
    let texts: Vec<&TextPost> = posts.iter().filter_map(|p| p.as_text()).collect();
    if texts.len() == posts.len() {
        return write_posts(conn, &texts, stored);
    }
    conn.transaction(|conn| {
        let mut written_texts = if texts.is_empty() {
            Vec::new()
        } else {
            write_posts(conn, &texts, stored)?
        }
        .into_iter();
        posts
            .iter()
            .map(|post| match post {
                Post::Text(_) => written_texts.next().ok_or_else(lost),
                Post::Gif(gif) => Ok(alone::write_gif(conn, gif, gifs)),
                Post::System(system) => Ok(alone::write_system(conn, system)),
                Post::Change(change) => {
                    Ok(conn
                        .transaction(|conn| changes::write_change(conn, change, gifs, edit_secs)))
                }
            })
            .collect()
    })
}

/// Writes, publishes and answers a batch. The wake-ups of the members'
/// connections and of the posts' requests are batched, so each worker
/// thread is woken once for the whole batch.
fn write_batch(timeline: &Timeline, jobs: Vec<Job>, stored: &mut StoredUsers) {
    wakes::batch_wakeups(|| write_and_answer(timeline, jobs, stored));
}

/// What the writer thread writes to and publishes through.
struct Timeline {
    db: Db,
    realtime: Arc<Realtime>,
    gifs: GifStore,
    /// `CHAT_EDIT_SECS`.
    edit_secs: u64,
}

fn write_and_answer(timeline: &Timeline, jobs: Vec<Job>, stored: &mut StoredUsers) {
    let realtime = &timeline.realtime;
    let outcome = timeline.db.write_blocking(|conn| {
        let mut rooms: Vec<&str> = jobs.iter().map(|j| j.post.room_id()).collect();
        rooms.sort_unstable();
        rooms.dedup();
        let locks: Vec<_> = rooms.iter().map(|r| realtime.room_lock(r)).collect();
        let _ordered: Vec<_> = locks.iter().map(|l| l.lock_or_recover()).collect();

        let posts: Vec<&Post> = jobs.iter().map(|j| &j.post).collect();
        let results = write_mixed(conn, &posts, stored, &timeline.gifs, timeline.edit_secs)?;
        // Committed: the files of GIFs no chat uses any more can go.
        let released: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .flat_map(|w| w.released.iter().cloned())
            .collect();
        if !released.is_empty() {
            if let Err(e) = timeline.gifs.discard_unrecorded(conn, &released) {
                log::warn!("could not remove released GIFs {released:?}: {e}");
            }
        }
        let (rows, is_new): (Vec<Chat>, Vec<bool>) = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|w| (w.chat.clone(), w.effect == Effect::Created))
            .unzip();
        let mut responses = chats::load_responses_of_new(conn, &rows, &is_new)?.into_iter();
        let answers: Vec<AppResult<Posted>> = results
            .into_iter()
            .map(|r| {
                r.and_then(|written| {
                    Ok(Posted {
                        chat: responses.next().ok_or_else(lost)?,
                        effect: written.effect,
                    })
                })
            })
            .collect();
        // Repeats were published when they were new. In each room, new
        // chats and changes go out in the order of their revs.
        let mut published: Vec<&Posted> = answers
            .iter()
            .flatten()
            .filter(|p| matches!(p.effect, Effect::Created | Effect::Changed))
            .collect();
        published.sort_by_key(|posted| posted.chat.rev);
        for posted in published {
            if posted.effect == Effect::Created {
                realtime.publish_chat(&posted.chat);
            } else {
                realtime.publish_chat_updated(&posted.chat);
            }
        }
        Ok(answers)
    });
    match outcome {
        Ok(answers) => {
            stored.record(
                jobs.iter()
                    .zip(&answers)
                    .filter(|(_, answer)| answer.is_ok())
                    .flat_map(|(job, _)| job.post.users()),
            );
            for (job, answer) in jobs.into_iter().zip(answers) {
                let _ = job.reply.send(answer);
            }
        }
        Err(e) => {
            let message = e.to_string();
            log::error!("a batch of {} chats failed: {message}", jobs.len());
            discard_placed(timeline, &jobs);
            for job in jobs {
                let _ = job.reply.send(Err(AppError::Internal(anyhow::anyhow!(
                    "committing chats failed: {message}"
                ))));
            }
        }
    }
}

/// Removes the files a failed batch's GIF posts placed without a row.
fn discard_placed(timeline: &Timeline, jobs: &[Job]) {
    let files: Vec<String> = jobs
        .iter()
        .filter_map(|job| match &job.post {
            Post::Gif(GifPost {
                source: GifSource::Upload(checked),
                ..
            }) => Some(checked.file_name()),
            _ => None,
        })
        .collect();
    if files.is_empty() {
        return;
    }
    let discarded = timeline
        .db
        .write_blocking(|conn| timeline.gifs.discard_unrecorded(conn, &files));
    if let Err(e) = discarded {
        log::warn!("could not remove the GIFs of a failed batch: {e}");
    }
}

mod alone;
mod changes;
mod posts;
#[cfg(test)]
mod tests;
