//! The latest chats of active rooms, as the JSON they are sent as, so the
//! most-read page of history (the latest one, as a room opens) needs no
//! chat, user or GIF query.
//!
//! Each room's tail is a run of consecutive seqs, fed by every chat this
//! instance publishes or receives from other instances, always after it was
//! committed. A tail is only trusted when it reaches the room's `last_seq`
//! and `last_rev` as just read from the database, so a tail that missed a
//! chat or a change (a lost bus message) is never served; the database
//! answers instead, and the next chat that does not follow on (in seq and
//! in rev) starts the tail afresh.
//!
//! A change to a chat (an edit, a deletion, a reaction) also changes the
//! replies that quote it, so it drops the room's tail: the next chat
//! starts a new one.
//!
//! Chats embed the names of the users they show (author, recipient,
//! subject), so when a nickname changes, every instance drops from each
//! tail the chats up to the last one that shows that user; the rest of the
//! tail stays consecutive and is still served once it is long enough. A
//! chat serialized just before the change may still be on its way (from
//! this instance's writer, or over the bus from another), so for a few
//! seconds after it a chat that shows the user is not kept either.

use crate::sync::LockOrRecover;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Chats kept per room: enough for the default page and more.
const PER_ROOM: usize = 128;
/// Rooms kept; the one written to longest ago goes first.
const ROOMS: usize = 256;
/// How long after a nickname change chats showing that user are not kept:
/// far longer than a chat takes from being serialized to being recorded
/// here, on this instance or another.
const RENAME_SETTLES: Duration = Duration::from_secs(5);

struct Entry {
    seq: i64,
    /// A whisper's two parties; everyone may see the others.
    parties: Option<[Box<str>; 2]>,
    json: Bytes,
}

struct Tail {
    chats: VecDeque<Entry>,
    /// The rev of the last chat recorded.
    rev: i64,
    touched: u64,
}

#[derive(Default)]
struct Inner {
    rooms: HashMap<String, Tail>,
    clock: u64,
    /// Users whose name changed lately (as `"id"`, the way chat JSON holds
    /// it), and when.
    renamed: Vec<(String, Instant)>,
}

/// Whether a chat's JSON shows this user (`quoted_id` is `"id"`). A user
/// appears in a chat only with their id, and an id in quotes is never part
/// of escaped text; it may match a `client_id` that copies an id, which
/// only drops a chat that was fine.
fn shows(json: &[u8], quoted_id: &str) -> bool {
    std::str::from_utf8(json).map_or(true, |text| text.contains(quoted_id))
}

#[derive(Default)]
pub struct Recent {
    inner: Mutex<Inner>,
}

/// A page served from memory: chats' JSON in ascending seq.
pub struct Hit {
    pub chats: Vec<Bytes>,
    pub has_more: bool,
}

impl Hit {
    /// The body `GET /rooms/{id}/chats` answers with (`ChatsPage`).
    pub fn body(&self) -> Bytes {
        let size = self.chats.iter().map(|c| c.len() + 1).sum::<usize>() + 48;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(b"{\"chats\":[");
        for (i, chat) in self.chats.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(chat);
        }
        out.extend_from_slice(if self.has_more {
            b"],\"meta\":{\"has_more\":true}}"
        } else {
            b"],\"meta\":{\"has_more\":false}}"
        });
        Bytes::from(out)
    }
}

impl Recent {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock_or_recover()
    }

    /// Records a committed chat.
    pub fn record(&self, room: &str, seq: i64, rev: i64, parties: Option<[&str; 2]>, json: Bytes) {
        let entry = Entry {
            seq,
            parties: parties.map(|[a, b]| [a.into(), b.into()]),
            json,
        };
        let mut inner = self.lock();
        if !inner.renamed.is_empty() {
            inner
                .renamed
                .retain(|(_, at)| at.elapsed() < RENAME_SETTLES);
            if inner.renamed.iter().any(|(id, _)| shows(&entry.json, id)) {
                // Perhaps serialized before the change: not kept, and the
                // tail cannot go on past it.
                inner.rooms.remove(room);
                return;
            }
        }
        inner.clock += 1;
        let touched = inner.clock;
        if let Some(tail) = inner.rooms.get_mut(room) {
            tail.touched = touched;
            match tail.chats.back().map(|e| e.seq) {
                Some(last) if seq <= last => {}
                Some(last) if seq == last + 1 && rev == tail.rev + 1 => {
                    if tail.chats.len() == PER_ROOM {
                        tail.chats.pop_front();
                    }
                    tail.chats.push_back(entry);
                    tail.rev = rev;
                }
                _ => {
                    tail.chats.clear();
                    tail.chats.push_back(entry);
                    tail.rev = rev;
                }
            }
            return;
        }
        if inner.rooms.len() >= ROOMS {
            let oldest = inner
                .rooms
                .iter()
                .min_by_key(|(_, t)| t.touched)
                .map(|(r, _)| r.clone());
            if let Some(oldest) = oldest {
                inner.rooms.remove(&oldest);
            }
        }
        inner.rooms.insert(
            room.to_owned(),
            Tail {
                chats: VecDeque::from([entry]),
                rev,
                touched,
            },
        );
    }

    /// The latest `limit` chats `viewer` may see, if the tail reaches the
    /// room's `last_seq` and `last_rev` and holds enough of them (or the
    /// whole room).
    pub fn latest(
        &self,
        room: &str,
        viewer: &str,
        (last_seq, last_rev): (i64, i64),
        limit: usize,
    ) -> Option<Hit> {
        let inner = self.lock();
        let tail = inner.rooms.get(room)?;
        if tail.chats.back()?.seq < last_seq || tail.rev < last_rev {
            return None;
        }
        let mut picked: Vec<Bytes> = Vec::with_capacity(limit);
        for entry in tail.chats.iter().rev() {
            let visible = entry
                .parties
                .as_ref()
                .is_none_or(|p| p.iter().any(|u| &**u == viewer));
            if !visible {
                continue;
            }
            if picked.len() == limit {
                picked.reverse();
                return Some(Hit {
                    chats: picked,
                    has_more: true,
                });
            }
            picked.push(entry.json.clone());
        }
        // The tail ran out: only an answer if it starts at the room's first chat.
        (tail.chats.front()?.seq == 1).then(|| {
            picked.reverse();
            Hit {
                chats: picked,
                has_more: false,
            }
        })
    }

    pub fn forget_room(&self, room: &str) {
        self.lock().rooms.remove(room);
    }

    /// A chat in the room changed, as rev `rev`: the tail no longer says
    /// what the room holds.
    pub fn changed(&self, room: &str, _rev: i64) {
        self.forget_room(room);
    }

    /// A user's name changed: drops every chat that shows them with the
    /// chats before it, and keeps none that shows them for a while.
    pub fn renamed(&self, user_id: &str) {
        let quoted = format!("\"{user_id}\"");
        let mut inner = self.lock();
        for tail in inner.rooms.values_mut() {
            if let Some(last) = tail.chats.iter().rposition(|e| shows(&e.json, &quoted)) {
                tail.chats.drain(..=last);
            }
        }
        inner.rooms.retain(|_, tail| !tail.chats.is_empty());
        inner
            .renamed
            .retain(|(id, at)| at.elapsed() < RENAME_SETTLES && *id != quoted);
        inner.renamed.push((quoted, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(recent: &Recent, seq: i64, parties: Option<[&str; 2]>) {
        recent.record(
            "r",
            seq,
            seq,
            parties,
            Bytes::from(format!("{{\"seq\":{seq}}}")),
        );
    }

    fn seqs(hit: &Hit) -> String {
        let parts: Vec<String> = hit
            .chats
            .iter()
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        parts.join(",")
    }

    #[test]
    fn serves_the_latest_page_only_when_it_is_complete() {
        let recent = Recent::default();
        for seq in 1..=5 {
            chat(&recent, seq, None);
        }
        let hit = recent.latest("r", "v", (5, 5), 3).unwrap();
        assert_eq!(seqs(&hit), r#"{"seq":3},{"seq":4},{"seq":5}"#);
        assert!(hit.has_more);
        let all = recent.latest("r", "v", (5, 5), 10).unwrap();
        assert!(!all.has_more);
        assert_eq!(
            String::from_utf8(all.body().to_vec()).unwrap(),
            r#"{"chats":[{"seq":1},{"seq":2},{"seq":3},{"seq":4},{"seq":5}],"meta":{"has_more":false}}"#
        );
        assert!(
            recent.latest("r", "v", (6, 6), 3).is_none(),
            "the database knows a newer chat"
        );
        assert!(
            recent.latest("r", "v", (5, 6), 3).is_none(),
            "the database knows a newer change"
        );
    }

    #[test]
    fn a_change_drops_the_tail_and_a_missed_rev_restarts_it() {
        let recent = Recent::default();
        for seq in 1..=3 {
            chat(&recent, seq, None);
        }
        recent.changed("r", 4);
        assert!(recent.latest("r", "v", (3, 4), 1).is_none());
        let record = |seq: i64, rev: i64| {
            recent.record(
                "r",
                seq,
                rev,
                None,
                Bytes::from(format!("{{\"seq\":{seq}}}")),
            );
        };
        record(4, 5);
        record(5, 6);
        assert_eq!(
            seqs(&recent.latest("r", "v", (5, 6), 1).unwrap()),
            r#"{"seq":5}"#
        );
        // Rev 7 went to a change this instance never heard of.
        record(6, 8);
        record(7, 9);
        assert!(
            recent.latest("r", "v", (7, 9), 2).is_none(),
            "the tail started again at seq 6"
        );
        assert!(recent.latest("r", "v", (7, 9), 1).is_some());
    }

    fn said(recent: &Recent, seq: i64, user: &str) {
        let json = format!("{{\"seq\":{seq},\"user\":{{\"id\":\"{user}\"}}}}");
        recent.record("r", seq, seq, None, Bytes::from(json));
    }

    #[test]
    fn a_rename_drops_the_chats_that_show_the_old_name_and_keeps_the_rest() {
        let recent = Recent::default();
        for (seq, user) in [(1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "b")] {
            said(&recent, seq, user);
        }
        recent.renamed("a");
        assert!(
            recent.latest("r", "v", (5, 5), 2).is_none(),
            "only seqs 4 and 5 are left: not enough to say what lies before"
        );
        let rest = recent.latest("r", "v", (5, 5), 1).unwrap();
        assert_eq!(seqs(&rest), r#"{"seq":5,"user":{"id":"b"}}"#);

        // Until the change has settled, chats that show `a` are not kept.
        said(&recent, 6, "a");
        assert!(recent.latest("r", "v", (6, 6), 1).is_none());
        said(&recent, 7, "b");
        said(&recent, 8, "b");
        assert!(
            recent.latest("r", "v", (8, 8), 1).is_some(),
            "a new tail starts"
        );
        recent.renamed("c");
        assert!(
            recent.latest("r", "v", (8, 8), 1).is_some(),
            "nobody else's chats are dropped"
        );
    }

    #[test]
    fn a_gap_restarts_the_tail_and_whispers_stay_private() {
        let recent = Recent::default();
        chat(&recent, 1, None);
        chat(&recent, 2, Some(["a", "b"]));
        chat(&recent, 3, None);
        let seen_by_c = recent.latest("r", "c", (3, 3), 10).unwrap();
        assert_eq!(seqs(&seen_by_c), r#"{"seq":1},{"seq":3}"#);
        let seen_by_b = recent.latest("r", "b", (3, 3), 10).unwrap();
        assert_eq!(seen_by_b.chats.len(), 3);
        chat(&recent, 5, None);
        assert!(
            recent.latest("r", "c", (5, 5), 10).is_none(),
            "seq 4 was missed"
        );
        chat(&recent, 4, None);
        assert!(
            recent.latest("r", "c", (5, 5), 10).is_none(),
            "late chats are not spliced in"
        );
    }
}
