//! Room and user ids: 128-bit random, 32 lowercase hex digits. Opaque and
//! unguessable, so knowing a secret room's id does not help to find it.

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// How many hex digits an id has.
pub const LEN: usize = 32;
/// For the API document: what [`is_well_formed`] accepts.
pub const PATTERN: &str = "^[0-9a-f]{32}$";

/// Whether `s` has the shape of an id. Anything else cannot name a room or a
/// user, so it is answered without a database round trip.
pub fn is_well_formed(s: &str) -> bool {
    s.len() == LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_well_formed_and_the_pattern_says_so() {
        assert!(is_well_formed(&new_id()));
        assert_eq!(PATTERN, format!("^[0-9a-f]{{{LEN}}}$"));
    }
}
