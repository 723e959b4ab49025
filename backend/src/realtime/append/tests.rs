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
        reply_to: None,
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
            .map(|r| {
                r.as_ref()
                    .map(|w| (w.chat.seq, w.effect == Effect::Created))
                    .ok()
            })
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
        assert_eq!((repeat.chat.seq, repeat.effect), (s, Effect::Repeated));
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
        assert!(a.effect == Effect::Created && b.effect == Effect::Repeated);
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
        assert!(results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|w| w.effect == Effect::Created)));
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

fn system(room: &str, subject: &str) -> Post {
    Post::System(SystemPost {
        room_id: room.to_owned(),
        event: crate::api::SystemEvent::Joined,
        subject_id: subject.to_owned(),
    })
}

#[test]
fn a_mixed_batch_commits_together_in_seq_order_and_a_failing_post_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir);
    let gifs = GifStore::open(
        &dir.path().join("gifs"),
        crate::storage::gifs::GifLimits {
            max_bytes: 1 << 20,
            max_dimension: 512,
            max_frames: 10,
            max_pixels: 1 << 22,
        },
    )
    .unwrap();
    let posts = [
        system(&id(1), &id(3)),
        Post::Text(post(&id(1), &id(3), "hello", None)),
        system(&id(9), &id(3)),
        Post::Text(post(&id(1), &id(2), "banned", None)),
        Post::Text(post(&id(1), &id(4), "hi", None)),
    ];
    let refs: Vec<&Post> = posts.iter().collect();
    db.write_blocking(|conn| {
        let results = write_mixed(conn, &refs, &StoredUsers::default(), &gifs, 0)?;
        let seqs: Vec<_> = results
            .iter()
            .map(|r| r.as_ref().map(|w| w.chat.seq).ok())
            .collect();
        // Text posts take their seqs first, the others after them.
        assert_eq!(seqs, [Some(3), Some(1), None, None, Some(2)]);
        assert!(results[2].is_err(), "a system post to no room fails alone");
        assert!(matches!(results[3], Err(AppError::Banned)));
        let (texts, last) = stored(conn);
        assert_eq!(texts, [(1, "hello".to_owned()), (2, "hi".to_owned())]);
        assert_eq!(last, 3);
        let kinds: Vec<String> = schema::chats::table
            .filter(schema::chats::room_id.eq(id(1)))
            .order(schema::chats::seq)
            .select(schema::chats::kind)
            .load(conn)
            .unwrap();
        assert_eq!(kinds, ["text", "text", "system"]);
        Ok(())
    })
    .unwrap();
}
