//! Rules that need no HTTP: validated input types, identities, passwords and
//! room membership.

pub mod ids;
pub mod membership;
pub mod password;
pub mod user;
pub mod validation;
