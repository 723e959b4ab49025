//! Posters and WebP renditions, made from any GIF the checker accepts (as
//! the upload pipeline makes them). Limits are small so that each input
//! encodes quickly.
#![no_main]

use std::time::Duration;

use gifchat::storage::gifs::{inspect_reader, GifLimits};
use gifchat::storage::media;
use libfuzzer_sys::fuzz_target;

const LIMITS: GifLimits = GifLimits {
    max_bytes: 1 << 16,
    max_dimension: 64,
    max_frames: 16,
    max_pixels: 1 << 15,
};

fuzz_target!(|data: &[u8]| {
    let Ok(info) = inspect_reader(data, LIMITS) else {
        return;
    };
    // A poster, when one is made, is a PNG of the GIF's screen.
    if let Ok(png) = media::poster(data) {
        let still = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
            .expect("a poster decodes");
        assert_eq!(
            (still.width(), still.height()),
            (u32::from(info.width), u32::from(info.height))
        );
    }
    // A rendition, when one is made, decodes, and an animated one lasts as
    // long as the GIF plays. (libwebp folds frames that show nothing new
    // into the one before; a GIF that never changes becomes a still, which
    // has no duration.)
    if let Ok(webp) = media::webp(data, 75, Duration::from_secs(5)) {
        let (_, ms) = media::gif_timing(data).expect("timed as it was encoded");
        let decoded = webp_animation::Decoder::new(&webp).expect("a rendition decodes");
        let frames: Vec<_> = decoded.into_iter().collect();
        match &frames[..] {
            [] => panic!("a rendition has no frames"),
            [_still] => {}
            [.., last] => {
                assert_eq!(
                    last.timestamp() as u64,
                    ms,
                    "a rendition plays as long as its GIF"
                )
            }
        }
    }
});
