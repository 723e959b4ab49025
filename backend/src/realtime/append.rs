//! Group commit for text chats.
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
//! The writer publishes the batch while it still holds the connection and
//! the rooms' locks (taken in sorted order, after the connection, as every
//! other chat path does), so sockets keep receiving chats in seq order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Weak};

use diesel::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::access::{check_recipient, ensure_can_read, find_room};
use crate::api::ChatResponse;
use crate::db::chats::PostKey;
use crate::db::models::{Chat, NewChat, Room};
use crate::db::DbConnection;
use crate::db::{chats, rooms, users};
use crate::error::{AppError, AppResult};
use crate::realtime::wakes;
use crate::state::AppState;

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

/// A text chat (or whisper) someone posted.
pub struct TextPost {
    pub room_id: String,
    pub user_id: String,
    pub text: String,
    pub to: Option<String>,
    /// The client's name for the post, checked (`ClientId`).
    pub client_id: Option<String>,
}

impl TextPost {
    fn key(&self) -> Option<PostKey<'_>> {
        Some(PostKey {
            room_id: &self.room_id,
            user_id: &self.user_id,
            client_id: self.client_id.as_deref()?,
        })
    }
}

/// What became of a post: its chat, new or the one an earlier post with
/// the same `client_id` made.
#[derive(Debug)]
pub struct Posted {
    pub chat: ChatResponse,
    /// False when the post repeated a `client_id`: nothing was written.
    pub created: bool,
}

/// A post's row: the chat it made, or the one it repeats.
struct Written {
    chat: Chat,
    created: bool,
}

impl Written {
    fn new(chat: Chat) -> Self {
        Self {
            chat,
            created: true,
        }
    }

    fn repeat(chat: Chat) -> Self {
        Self {
            chat,
            created: false,
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
    post: TextPost,
    reply: oneshot::Sender<AppResult<Posted>>,
}

/// The handle handlers post through.
pub struct Appender {
    tx: mpsc::Sender<Job>,
}

impl Appender {
    /// Starts the writer thread. It holds the state weakly and ends when the
    /// state is dropped.
    ///
    /// One writer for PostgreSQL too: each commit there waits for a flush
    /// to disk, and one writer taking everything waiting into one batch
    /// beat two and four writers taking smaller ones, on every measure
    /// (fan-out into 10 and 1000, chats committed per second). Instances
    /// still commit side by side.
    pub fn start(state: &Arc<AppState>) -> anyhow::Result<Appender> {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let weak: Weak<AppState> = Arc::downgrade(state);
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
                            // batch grows from about 6 posts to about 20 instead
                            // of committing as soon as the first has arrived.
                            // With nothing else to run, this returns at once.
                            Err(_) if !yielded => {
                                yielded = true;
                                std::thread::yield_now();
                            }
                            Err(_) => break,
                        }
                    }
                    let Some(state) = weak.upgrade() else { break };
                    write_batch(&state, batch, &mut stored);
                }
            })?;
        Ok(Appender { tx })
    }

    /// Queues a post and waits for it to be committed and published.
    pub async fn post(&self, post: TextPost) -> AppResult<Posted> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { post, reply })
            .await
            .map_err(|_| AppError::Unavailable(anyhow::anyhow!("the chat writer has stopped")))?;
        // Homed: the writer answers a whole batch with one wake-up of this
        // worker (`wakes`).
        wakes::homed(answer)
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the chat writer dropped a post")))?
    }
}

fn new_chat(post: &TextPost) -> NewChat {
    NewChat {
        room_id: post.room_id.clone(),
        kind: "text",
        user_id: Some(post.user_id.clone()),
        body: Some(post.text.clone()),
        to_user_id: post.to.clone(),
        client_id: post.client_id.clone(),
        ..NewChat::default()
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
    let mut next_seq: HashMap<&str, i64> = HashMap::with_capacity(counts.len());
    for (room, count) in counts {
        let last = chats::take_seqs(conn, room, count)?;
        next_seq.insert(room, last - count + 1);
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
        let seq = next_seq
            .get_mut(post.room_id.as_str())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a post's room was not counted")))?;
        rows.push((new_chat(post), *seq));
        *seq += 1;
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

/// Writes, publishes and answers a batch. The wake-ups of the members'
/// connections and of the posts' requests are gathered, so each worker
/// thread is woken once for the whole batch.
fn write_batch(state: &AppState, jobs: Vec<Job>, stored: &mut StoredUsers) {
    wakes::gather(|| write_and_answer(state, jobs, stored));
}

fn write_and_answer(state: &AppState, jobs: Vec<Job>, stored: &mut StoredUsers) {
    let outcome = state.db.write_blocking(|conn| {
        let mut rooms: Vec<&str> = jobs.iter().map(|j| j.post.room_id.as_str()).collect();
        rooms.sort_unstable();
        rooms.dedup();
        let locks: Vec<_> = rooms.iter().map(|r| state.room_lock(r)).collect();
        let _ordered: Vec<_> = locks
            .iter()
            .map(|l| l.lock().unwrap_or_else(|p| p.into_inner()))
            .collect();

        let posts: Vec<&TextPost> = jobs.iter().map(|j| &j.post).collect();
        let results = write_posts(conn, &posts, stored)?;
        let rows: Vec<Chat> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|w| w.chat.clone()))
            .collect();
        let mut responses = ChatResponse::load_all(conn, &rows)?.into_iter();
        let answers: Vec<AppResult<Posted>> = results
            .into_iter()
            .map(|r| {
                r.and_then(|written| {
                    Ok(Posted {
                        chat: responses.next().ok_or_else(lost)?,
                        created: written.created,
                    })
                })
            })
            .collect();
        // Repeats were published when they were new.
        for posted in answers.iter().flatten().filter(|p| p.created) {
            state.publish_chat(&posted.chat);
        }
        Ok(answers)
    });
    match outcome {
        Ok(answers) => {
            stored.record(
                jobs.iter()
                    .zip(&answers)
                    .filter(|(_, answer)| answer.is_ok())
                    .flat_map(|(job, _)| std::iter::once(&job.post.user_id).chain(&job.post.to))
                    .map(String::as_str),
            );
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

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::*;
    use crate::config::DatabaseTarget;
    use crate::db::{schema, Db};

    fn id(n: u8) -> String {
        format!("{n:032x}")
    }

    fn post(room: &str, user: &str, text: &str, to: Option<&str>) -> TextPost {
        TextPost {
            room_id: room.to_owned(),
            user_id: user.to_owned(),
            text: text.to_owned(),
            to: to.map(str::to_owned),
            client_id: None,
        }
    }

    fn named(room: &str, user: &str, text: &str, client_id: &str) -> TextPost {
        TextPost {
            client_id: Some(client_id.to_owned()),
            ..post(room, user, text, None)
        }
    }

    /// A database holding room 1, owned by user 1, with user 2 banned from it.
    fn database(dir: &tempfile::TempDir) -> Db {
        let db = Db::connect(&DatabaseTarget::Sqlite(dir.path().join("chats.db")), 2).unwrap();
        db.write_blocking(|conn| {
            rooms::create(conn, &crate::db::tests::room(&id(1), &id(1)))?;
            crate::db::users::ensure(conn, &id(2))?;
            rooms::ban(conn, &id(1), &id(2))?;
            Ok(())
        })
        .unwrap();
        db
    }

    fn stored(conn: &mut DbConnection) -> (Vec<(i64, String)>, i64) {
        let chats = schema::chats::table
            .filter(schema::chats::kind.eq("text"))
            .select((schema::chats::seq, schema::chats::body.assume_not_null()))
            .order(schema::chats::seq)
            .load(conn)
            .unwrap();
        let last = schema::rooms::table
            .find(id(1))
            .select(schema::rooms::last_seq)
            .get_result(conn)
            .unwrap();
        (chats, last)
    }

    #[test]
    fn refused_posts_fail_alone_and_take_no_seq() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir);
        let posts = [
            post(&id(1), &id(3), "first", None),
            post(&id(1), &id(2), "banned", None),
            post(&id(9), &id(3), "no such room", None),
            post(&id(1), &id(3), "to nobody", Some(&id(8))),
            post(&id(1), &id(4), "to the first poster", Some(&id(3))),
        ];
        let refs: Vec<&TextPost> = posts.iter().collect();
        db.write_blocking(|conn| {
            let results =
                conn.transaction(|conn| write_together(conn, &refs, &StoredUsers::default()))?;
            let seqs: Vec<_> = results
                .iter()
                .map(|r| r.as_ref().map(|w| w.chat.seq))
                .collect();
            assert!(matches!(seqs[0], Ok(n) if n > 0), "{seqs:?}");
            assert!(matches!(results[1], Err(AppError::Banned)));
            assert!(matches!(results[2], Err(AppError::NotFound("room"))));
            assert!(matches!(results[3], Err(AppError::Validation(_))));
            let first = *seqs[0].as_ref().unwrap();
            assert_eq!(*seqs[4].as_ref().unwrap(), first + 1);
            let (chats, last) = stored(conn);
            let bodies: Vec<&str> = chats.iter().map(|(_, b)| b.as_str()).collect();
            assert_eq!(bodies, ["first", "to the first poster"]);
            assert_eq!(last, first + 1);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_failing_write_rolls_back_and_only_its_post_fails() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir);
        let posts = [
            post(&id(1), &id(3), "one", None),
            post(&id(1), &id(3), "boom", None),
            post(&id(1), &id(4), "two", None),
        ];
        let refs: Vec<&TextPost> = posts.iter().collect();
        db.write_blocking(|conn| {
            let (_, before) = stored(conn);
            conn.batch_execute(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON chats WHEN NEW.body = 'boom' \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )?;
            let results = write_posts(conn, &refs, &StoredUsers::default())?;
            assert!(
                results[0].is_ok() && results[2].is_ok(),
                "{:?}",
                results.iter().map(|r| r.is_ok()).collect::<Vec<_>>()
            );
            assert!(matches!(results[1], Err(AppError::Internal(_))));
            let (chats, last) = stored(conn);
            assert_eq!(
                chats,
                [
                    (before + 1, "one".to_owned()),
                    (before + 2, "two".to_owned())
                ],
                "stored once each, with no gap where the failed post was"
            );
            assert_eq!(last, before + 2);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_client_id_makes_one_chat_in_a_batch_and_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir);
        let first = [
            named(&id(1), &id(3), "one", "x"),
            named(&id(1), &id(3), "one again", "x"),
            named(&id(1), &id(4), "another author", "x"),
            TextPost {
                to: Some(id(8)),
                ..named(&id(1), &id(3), "to nobody", "y")
            },
            named(&id(1), &id(3), "after a refusal", "y"),
        ];
        db.write_blocking(|conn| {
            let results = write_posts(
                conn,
                &first.iter().collect::<Vec<_>>(),
                &StoredUsers::default(),
            )?;
            let got: Vec<_> = results
                .iter()
                .map(|r| r.as_ref().map(|w| (w.chat.seq, w.created)).ok())
                .collect();
            let s = got[0].unwrap().0;
            assert_eq!(
                got,
                [
                    Some((s, true)),
                    Some((s, false)),
                    Some((s + 1, true)),
                    None,
                    Some((s + 2, true))
                ]
            );

            let later = [
                named(&id(1), &id(3), "changed text", "x"),
                post(&id(1), &id(3), "plain", None),
            ];
            let results = write_posts(
                conn,
                &later.iter().collect::<Vec<_>>(),
                &StoredUsers::default(),
            )?;
            let repeat = results[0].as_ref().unwrap();
            assert_eq!((repeat.chat.seq, repeat.created), (s, false));
            assert_eq!(repeat.chat.body.as_deref(), Some("one"));
            assert_eq!(
                results[1].as_ref().unwrap().chat.seq,
                s + 3,
                "no seq was taken for the repeat"
            );
            let (chats, last) = stored(conn);
            assert_eq!(chats.len(), 4);
            assert_eq!(last, s + 3);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_repeat_is_refused_to_a_poster_banned_since() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir);
        let posts = [named(&id(1), &id(5), "one", "z")];
        db.write_blocking(|conn| {
            let posts: Vec<&TextPost> = posts.iter().collect();
            assert!(write_posts(conn, &posts, &StoredUsers::default())?[0].is_ok());
            rooms::ban(conn, &id(1), &id(5))?;
            let together = write_posts(conn, &posts, &StoredUsers::default())?;
            assert!(matches!(together[0], Err(AppError::Banned)));
            let one_by_one = write_one_by_one(conn, &posts)?;
            assert!(matches!(one_by_one[0], Err(AppError::Banned)));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn written_one_by_one_a_client_id_is_still_used_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir);
        let posts = [
            named(&id(1), &id(3), "one", "x"),
            named(&id(1), &id(3), "again", "x"),
        ];
        db.write_blocking(|conn| {
            let results = write_one_by_one(conn, &posts.iter().collect::<Vec<_>>())?;
            let (a, b) = (results[0].as_ref().unwrap(), results[1].as_ref().unwrap());
            assert!(a.created && !b.created);
            assert_eq!(a.chat.id, b.chat.id);
            assert_eq!(stored(conn).0.len(), 1);
            Ok(())
        })
        .unwrap();
    }

    /// Counts the statements whose SQL starts with a prefix.
    struct Counting(&'static str, Arc<std::sync::Mutex<usize>>);

    impl diesel::connection::Instrumentation for Counting {
        fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
            if let diesel::connection::InstrumentationEvent::StartQuery { query, .. } = event {
                if query.to_string().starts_with(self.0) {
                    *self.1.lock().unwrap() += 1;
                }
            }
        }
    }

    #[test]
    fn client_ids_cost_one_lookup_per_batch_and_plain_posts_none() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir);
        let lookups = Arc::new(std::sync::Mutex::new(0));
        db.write_blocking(|conn| {
            conn.set_instrumentation(Counting("SELECT id, room_id, seq", lookups.clone()));
            let plain: Vec<TextPost> = (0..5)
                .map(|i| post(&id(1), &id(3), &format!("p{i}"), None))
                .collect();
            write_posts(
                conn,
                &plain.iter().collect::<Vec<_>>(),
                &StoredUsers::default(),
            )?;
            assert_eq!(*lookups.lock().unwrap(), 0);
            let mixed: Vec<TextPost> = (0..8)
                .map(|i| match i % 2 {
                    0 => named(&id(1), &id(3 + i), "named", &format!("c{i}")),
                    _ => post(&id(1), &id(3), "plain", None),
                })
                .collect();
            let results = write_posts(
                conn,
                &mixed.iter().collect::<Vec<_>>(),
                &StoredUsers::default(),
            )?;
            assert!(results.iter().all(|r| r.as_ref().is_ok_and(|w| w.created)));
            assert_eq!(
                *lookups.lock().unwrap(),
                1,
                "one lookup for the batch's four client ids"
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_stored_author_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir);
        let writes = Arc::new(std::sync::Mutex::new(0));
        let mut stored = StoredUsers::default();
        db.write_blocking(|conn| {
            conn.set_instrumentation(Counting("INSERT INTO users", writes.clone()));
            let first = [post(&id(1), &id(3), "one", None)];
            let results = write_posts(conn, &first.iter().collect::<Vec<_>>(), &stored)?;
            assert!(results[0].is_ok());
            assert_eq!(*writes.lock().unwrap(), 1);
            stored.record([id(3).as_str()]);

            let second = [
                post(&id(1), &id(3), "two", None),
                post(&id(1), &id(4), "three", None),
            ];
            let results = write_posts(conn, &second.iter().collect::<Vec<_>>(), &stored)?;
            assert!(results.iter().all(|r| r.is_ok()));
            assert_eq!(*writes.lock().unwrap(), 2, "only the new author's row");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn stored_users_start_over_when_full() {
        let mut stored = StoredUsers::default();
        let ids: Vec<String> = (0..=STORED_USERS).map(|n| n.to_string()).collect();
        stored.record(ids.iter().map(String::as_str));
        assert_eq!(stored.0.len(), 1);
        assert!(stored.contains(&STORED_USERS.to_string()));
    }
}
