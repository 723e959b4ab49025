//! Database access: the pool and its connections (`pool`), SQLite's WAL
//! checkpointer (`checkpoint`), helpers for the SQL the row modules write
//! (`sql`), and one module of queries per table.

pub mod chats;
mod checkpoint;
pub mod gifs;
pub mod held_seats;
pub mod models;
mod pool;
pub mod rooms;
pub mod schema;
mod sql;
pub mod users;

pub use pool::{Db, DbConnection, DbKind, Manager, Pool};
pub use sql::{lock_gif_files, now_millis, Prepared};
pub(crate) use sql::{native, placeholders, SqlBySize};

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::prelude::*;
    use diesel::r2d2::ManageConnection;

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
            last_rev: 0,
        }
    }

    fn connection(dir: &tempfile::TempDir) -> DbConnection {
        let path = dir.path().join("gifchat.db");
        drop(Db::connect(&DatabaseTarget::Sqlite(path.clone()), 1).unwrap());
        Manager::new(DatabaseTarget::Sqlite(path))
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
            let rows: Vec<(NewChat, i64, i64)> = (0..21)
                .map(|i| {
                    let room = if i % 3 == 0 { "b" } else { "a" }.repeat(32);
                    let chat = NewChat {
                        room_id: room,
                        kind: "text",
                        user_id: Some("owner".into()),
                        body: Some(format!("chat {round}.{i}")),
                        ..NewChat::default()
                    };
                    let seq = (round * 100 + i) as i64;
                    (chat, seq, seq)
                })
                .collect();
            let chats = chats::insert_many(conn, &rows).unwrap();
            for ((row, seq, _), chat) in rows.iter().zip(&chats) {
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
}
