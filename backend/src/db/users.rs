use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::models::User;
use super::schema::users;
use super::{now_millis, DbConnection, Prepared};

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

pub fn find_many(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<User>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::id.eq_any(ids))
        .select(User::as_select())
        .load(conn)
}

pub fn set_nickname(conn: &mut DbConnection, id: &str, nickname: &str) -> QueryResult<User> {
    conn.transaction(|conn| {
        ensure(conn, id)?;
        diesel::update(users::table.find(id))
            .set(users::nickname.eq(nickname))
            .execute(conn)?;
        users::table
            .find(id)
            .select(User::as_select())
            .get_result(conn)
    })
}
