//! Room and user ids: 128-bit random, 32 lowercase hex digits. Opaque and
//! unguessable, so knowing a secret room's id does not help to find it.

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Whether `s` has the shape of an id. Anything else cannot name a room or a
/// user, so it is answered without a database round trip.
pub fn is_well_formed(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
