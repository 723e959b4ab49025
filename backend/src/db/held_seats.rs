//! Seats held across a clean restart: who was in which room, in the order
//! they arrived, written as the server stops and read back (and emptied)
//! as it starts.

use diesel::prelude::*;

use super::schema::{held_seats, rooms};
use super::DbConnection;

/// Replaces what is held with `seats`, each room's members in the order
/// they arrived. Rooms deleted meanwhile are left out.
pub fn save(conn: &mut DbConnection, seats: &[(String, Vec<String>)]) -> QueryResult<usize> {
    conn.transaction(|conn| {
        clear(conn)?;
        let mut saved = 0;
        for (room, users) in seats {
            let exists = rooms::table
                .find(room)
                .select(rooms::id)
                .first::<String>(conn)
                .optional()?
                .is_some();
            if !exists {
                continue;
            }
            for (position, user) in users.iter().enumerate() {
                diesel::insert_into(held_seats::table)
                    .values((
                        held_seats::room_id.eq(room),
                        held_seats::user_id.eq(user),
                        held_seats::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
                    ))
                    .execute(conn)?;
                saved += 1;
            }
        }
        Ok(saved)
    })
}

/// Holds nothing any more.
pub fn clear(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::delete(held_seats::table).execute(conn).map(drop)
}

/// Takes what is held: each room's members in the order they arrived, and
/// nothing is held any more.
pub fn take(conn: &mut DbConnection) -> QueryResult<Vec<(String, Vec<String>)>> {
    conn.transaction(|conn| {
        let rows: Vec<(String, String)> = held_seats::table
            .select((held_seats::room_id, held_seats::user_id))
            .order((held_seats::room_id.asc(), held_seats::position.asc()))
            .load(conn)?;
        clear(conn)?;
        let mut seats: Vec<(String, Vec<String>)> = Vec::new();
        for (room, user) in rows {
            match seats.last_mut() {
                Some((last, users)) if *last == room => users.push(user),
                _ => seats.push((room, vec![user])),
            }
        }
        Ok(seats)
    })
}
