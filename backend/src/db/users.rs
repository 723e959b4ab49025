use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::models::User;
use super::schema::users;
use super::{now_millis, placeholders, DbConnection, Prepared, SqlBySize};
use crate::api::UserResponse;

/// Records an anonymous user the first time they do something that is stored.
/// Plain SQL because diesel's upsert DSL does not go through `MultiConnection`;
/// `$n` placeholders are understood by both SQLite and PostgreSQL.
pub fn ensure(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = Text)]
        #[allow(dead_code)]
        id: String,
    }
    Prepared(
        diesel::sql_query(
            "INSERT INTO users (id, nickname, created_at) VALUES ($1, NULL, $2) \
             ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .bind::<Text, _>(id)
        .bind::<BigInt, _>(now_millis()),
    )
    .load::<Inserted>(conn)
    .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .get_result(conn)
        .optional()
}

/// The most ids one statement asks for.
const MANY: usize = 256;

/// The users with these ids (each id's row once; ids without a row are
/// left out).
///
/// The ids go into `IN` lists whose length is rounded up to a power of two,
/// the gap filled by repeating an id, so each length is one statement the
/// connection keeps compiled. diesel's `eq_any` builds a new statement for
/// every list, and compiling it cost more than running it.
pub fn find_many(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<User>> {
    static FIND_MANY: SqlBySize = SqlBySize::new(|width| {
        format!(
            "SELECT id, nickname, created_at FROM users WHERE id IN ({})",
            placeholders(1, width)
        )
    });
    let mut ids: Vec<&str> = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(MANY) {
        let width = chunk.len().next_power_of_two();
        let mut query = diesel::sql_query(FIND_MANY.get(width)).into_boxed();
        for i in 0..width {
            query = query.bind::<Text, _>(chunk[i.min(chunk.len() - 1)]);
        }
        found.extend(Prepared(query).load::<User>(conn)?);
    }
    Ok(found)
}

/// The responses for the users with these ids, in one query, each built
/// once. An id with no row gets the default name.
pub fn load_responses(
    conn: &mut DbConnection,
    ids: &[&str],
) -> QueryResult<HashMap<String, UserResponse>> {
    let mut found: HashMap<String, UserResponse> = find_many(conn, ids)?
        .iter()
        .map(|u| (u.id.clone(), UserResponse::from_row(u)))
        .collect();
    for id in ids {
        if !found.contains_key(*id) {
            found.insert((*id).to_owned(), UserResponse::new(id, None));
        }
    }
    Ok(found)
}

/// Sets the user's nickname. Returns the user and whether the nickname
/// changed.
pub fn set_nickname(
    conn: &mut DbConnection,
    id: &str,
    nickname: &str,
) -> QueryResult<(User, bool)> {
    conn.transaction(|conn| {
        ensure(conn, id)?;
        let before: Option<String> = users::table
            .find(id)
            .select(users::nickname)
            .get_result(conn)?;
        let changed = before.as_deref() != Some(nickname);
        if changed {
            diesel::update(users::table.find(id))
                .set(users::nickname.eq(nickname))
                .execute(conn)?;
        }
        let user = find(conn, id)?.ok_or(diesel::result::Error::NotFound)?;
        Ok((user, changed))
    })
}
