//! Where uploaded files live, and what is made of them.

pub mod gifs;
pub mod media;
pub mod pipeline;
