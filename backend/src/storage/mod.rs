//! Where uploaded files live.

pub mod gifs;
