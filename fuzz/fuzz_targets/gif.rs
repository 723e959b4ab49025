//! The GIF checker, on any bytes an upload can carry. Limits are small so
//! that inputs the fuzzer makes reach each of them.
#![no_main]

use gifchat::storage::gifs::{inspect_reader, GifLimits};
use libfuzzer_sys::fuzz_target;

const LIMITS: GifLimits = GifLimits {
    max_bytes: 1 << 20,
    max_dimension: 256,
    max_frames: 64,
    max_pixels: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = inspect_reader(data, LIMITS) {
        // What the checker accepts is within every limit.
        assert!(info.width >= 1 && info.height >= 1);
        assert!(info.width <= LIMITS.max_dimension && info.height <= LIMITS.max_dimension);
        assert!(info.frames >= 1 && info.frames <= LIMITS.max_frames);
        let pixels = u64::from(info.width) * u64::from(info.height) * u64::from(info.frames);
        assert!(pixels <= LIMITS.max_pixels);
    }
});
