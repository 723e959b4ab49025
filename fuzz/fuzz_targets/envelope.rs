//! The socket's client envelope parser, on any text a client can send.
#![no_main]

use gifchat::realtime::envelope::parse_client;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The socket closes with 1007 on a text frame that is not UTF-8; only
    // text reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_client(text) {
        Ok((_, reference)) => assert!(reference.is_none_or(|r| r.len() <= 64)),
        Err(bad) => assert!(bad.reference.is_none_or(|r| r.len() <= 64)),
    }
});
