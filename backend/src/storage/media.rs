//! What a stored GIF is served as besides itself: a poster (its first
//! frame as a PNG) and a lighter rendition (an animated WebP, lossy, made
//! by libwebp). Both are named by the GIF's SHA-256, beside it.
//!
//! Frames are composed onto the GIF's screen as a browser shows them, one
//! at a time: a rendition is encoded as the frames are decoded, so memory
//! stays at a few screens whatever the frame count. A frame delay of 10 ms
//! or less is shown as 100 ms, as browsers show it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Seek};
use std::path::Path;
use std::time::Duration;

use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, ImageEncoder};

/// What went wrong making a poster or a rendition.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("reading the GIF: {0}")]
    Read(#[from] std::io::Error),
    #[error("decoding the GIF: {0}")]
    Decode(#[from] image::ImageError),
    #[error("encoding WebP: {0:?}")]
    WebP(webp_animation::Error),
    #[error("decoding the GIF: {0}")]
    Gif(String),
    #[error("encoding the poster: {0}")]
    Png(String),
    #[error("the GIF has no frames")]
    NoFrames,
    #[error("over the time budget after {0} frames")]
    OverBudget(u32),
}

/// The delay a browser shows a frame for, in milliseconds.
pub fn shown_delay_ms(delay_ms: u32) -> u32 {
    if delay_ms <= 10 {
        100
    } else {
        delay_ms
    }
}

/// Opens a GIF's bytes from the start, as often as a step needs them.
pub trait Source {
    type Reader: BufRead + Seek + 'static;
    fn open(&self) -> io::Result<Self::Reader>;
}

impl Source for Path {
    type Reader = BufReader<File>;
    fn open(&self) -> io::Result<Self::Reader> {
        File::open(self).map(BufReader::new)
    }
}

/// A GIF in memory (tests and fuzzing; the server reads files). Each
/// opening reads a copy.
impl Source for [u8] {
    type Reader = Cursor<Vec<u8>>;
    fn open(&self) -> io::Result<Self::Reader> {
        Ok(Cursor::new(self.to_vec()))
    }
}

fn frames_of<S: Source + ?Sized>(src: &S) -> Result<image::Frames<'static>, MediaError> {
    let decoder = GifDecoder::new(src.open()?)?;
    Ok(decoder.into_frames())
}

fn delay_ms(frame: &image::Frame) -> u32 {
    let (numer, denom) = frame.delay().numer_denom_ms();
    numer.checked_div(denom).unwrap_or(0)
}

/// The GIF's first frame on its screen, as a PNG. A GIF frame has at most
/// 256 colours, so the PNG is indexed with the frame's own palette: a
/// quarter of the pixels of RGBA to compress, quick enough to make while
/// the upload waits. A first frame that leaves part of the screen
/// uncovered shows transparency there, as browsers do.
pub fn poster<S: Source + ?Sized>(src: &S) -> Result<Vec<u8>, MediaError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options
        .read_info(src.open()?)
        .map_err(|e| MediaError::Gif(e.to_string()))?;
    let (width, height) = (usize::from(decoder.width()), usize::from(decoder.height()));
    let global = decoder.global_palette().map(<[u8]>::to_vec);
    let frame = decoder
        .read_next_frame()
        .map_err(|e| MediaError::Gif(e.to_string()))?
        .ok_or(MediaError::NoFrames)?;
    let mut palette = frame
        .palette
        .clone()
        .or(global)
        .ok_or_else(|| MediaError::Gif("no palette".into()))?;
    let colours = palette.len() / 3;
    let (left, top) = (usize::from(frame.left), usize::from(frame.top));
    let (fw, fh) = (usize::from(frame.width), usize::from(frame.height));
    let covers = left == 0 && top == 0 && fw == width && fh == height;
    let mut transparent = frame.transparent.map(usize::from);
    let indices = if covers {
        frame.buffer.to_vec()
    } else {
        let clear = match transparent {
            Some(t) => t,
            None if colours < 256 => colours,
            // No index left for "nothing here": an RGBA still instead.
            None => return rgba_poster(src),
        };
        transparent = Some(clear);
        let mut screen = vec![clear as u8; width * height];
        for (y, row) in frame
            .buffer
            .chunks(fw.max(1))
            .enumerate()
            .take(height.saturating_sub(top))
        {
            let start = (top + y) * width + left;
            let visible = fw.min(width.saturating_sub(left));
            screen[start..start + visible].copy_from_slice(&row[..visible]);
        }
        screen
    };
    // Every index a pixel may hold has an entry: those past the GIF's
    // palette are black, as browsers draw them.
    palette.resize(256 * 3, 0);
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, width as u32, height as u32);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(palette);
        if let Some(t) = transparent {
            let mut alpha = vec![255u8; t + 1];
            alpha[t] = 0;
            encoder.set_trns(alpha);
        }
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder
            .write_header()
            .map_err(|e| MediaError::Png(e.to_string()))?;
        writer
            .write_image_data(&indices)
            .map_err(|e| MediaError::Png(e.to_string()))?;
    }
    Ok(png)
}

/// The first frame composed in RGBA, as a PNG: for the rare GIF whose
/// first frame needs a colour its palette has no room for.
fn rgba_poster<S: Source + ?Sized>(src: &S) -> Result<Vec<u8>, MediaError> {
    let frame = frames_of(src)?.next().ok_or(MediaError::NoFrames)??;
    let image = frame.into_buffer();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(
        &mut png,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    )
    .write_image(
        image.as_raw(),
        image.width(),
        image.height(),
        image::ExtendedColorType::Rgba8,
    )?;
    Ok(png)
}

/// CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes only into `ts`, which lives for the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// An animated WebP of the GIF: lossy at `quality` (0 to 100), each frame
/// also tried lossless and the smaller kept (flat colours compress better
/// so), given up once it has taken `budget` of this thread's CPU time.
pub fn webp<S: Source + ?Sized>(
    src: &S,
    quality: u8,
    budget: Duration,
) -> Result<Vec<u8>, MediaError> {
    let started = thread_cpu_time();
    use webp_animation::{Encoder, EncoderOptions, EncodingConfig};
    let mut frames = frames_of(src)?;
    let first = frames.next().ok_or(MediaError::NoFrames)??;
    let (width, height) = first.buffer().dimensions();
    let options = EncoderOptions {
        allow_mixed: true,
        encoding_config: Some(EncodingConfig::new_lossy(f32::from(quality))),
        ..EncoderOptions::default()
    };
    let mut encoder =
        Encoder::new_with_options((width, height), options).map_err(MediaError::WebP)?;
    let mut at_ms: i32 = 0;
    for (count, frame) in std::iter::once(Ok(first)).chain(frames).enumerate() {
        let frame = frame?;
        if thread_cpu_time().saturating_sub(started) >= budget {
            return Err(MediaError::OverBudget(count as u32));
        }
        encoder
            .add_frame(frame.buffer().as_raw(), at_ms)
            .map_err(MediaError::WebP)?;
        at_ms = at_ms.saturating_add(shown_delay_ms(delay_ms(&frame)) as i32);
    }
    let data = encoder.finalize(at_ms).map_err(MediaError::WebP)?;
    Ok(data.to_vec())
}

/// Frame count and total shown duration of a GIF, as a browser plays it.
pub fn gif_timing<S: Source + ?Sized>(src: &S) -> Result<(u32, u64), MediaError> {
    let mut frames = 0;
    let mut ms = 0u64;
    for frame in frames_of(src)? {
        frames += 1;
        ms += u64::from(shown_delay_ms(delay_ms(&frame?)));
    }
    Ok((frames, ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gif_file(width: u16, height: u16, frames: usize, delay_cs: u16) -> tempfile::NamedTempFile {
        let mut out = Vec::new();
        {
            let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 2]).collect();
            let mut enc = gif::Encoder::new(&mut out, width, height, &palette).unwrap();
            for i in 0..frames {
                let pixels: Vec<u8> = (0..width as usize * height as usize)
                    .map(|p| ((p + i * 7) % 256) as u8)
                    .collect();
                let mut frame = gif::Frame::from_indexed_pixels(width, height, pixels, None);
                frame.delay = delay_cs;
                enc.write_frame(&frame).unwrap();
            }
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&out).unwrap();
        file
    }

    #[test]
    fn the_poster_is_the_first_frame_at_full_size() {
        let gif = gif_file(40, 30, 3, 5);
        let png = poster(gif.path()).unwrap();
        let still = image::load_from_memory(&png).unwrap().into_rgba8();
        assert_eq!(still.dimensions(), (40, 30));
        let first = frames_of(gif.path()).unwrap().next().unwrap().unwrap();
        assert_eq!(still.as_raw(), first.buffer().as_raw());
    }

    #[test]
    fn a_first_frame_smaller_than_the_screen_leaves_the_rest_transparent() {
        let mut out = Vec::new();
        {
            let mut enc = gif::Encoder::new(&mut out, 20, 10, &[255, 0, 0, 0, 0, 255]).unwrap();
            let mut frame = gif::Frame::from_indexed_pixels(8, 4, vec![1; 32], None);
            (frame.left, frame.top) = (5, 3);
            enc.write_frame(&frame).unwrap();
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&out).unwrap();
        let still = image::load_from_memory(&poster(file.path()).unwrap())
            .unwrap()
            .into_rgba8();
        assert_eq!(still.dimensions(), (20, 10));
        assert_eq!(still.get_pixel(0, 0).0[3], 0, "uncovered: transparent");
        assert_eq!(still.get_pixel(5, 3).0, [0, 0, 255, 255]);
        assert_eq!(still.get_pixel(12, 6).0, [0, 0, 255, 255]);
        assert_eq!(still.get_pixel(13, 6).0[3], 0);
    }

    #[test]
    fn a_rendition_keeps_the_timing_and_a_late_one_is_given_up() {
        let gif = gif_file(48, 32, 6, 0);
        let bytes = webp(gif.path(), 75, Duration::from_secs(60)).unwrap();
        let decoded = webp_animation::Decoder::new(&bytes).unwrap();
        assert_eq!(decoded.dimensions(), (48, 32));
        // Delays of 0 play as 100 ms each.
        assert_eq!(gif_timing(gif.path()).unwrap(), (6, 600));
        let last = decoded.into_iter().last().unwrap();
        assert_eq!(last.timestamp(), 600);
        assert!(matches!(
            webp(gif.path(), 75, Duration::ZERO),
            Err(MediaError::OverBudget(0))
        ));
    }
}
