//! `make bench-media`: what the media pipeline makes of a corpus of real
//! animated GIFs (`bench/media/make_corpus.py`): the poster's time, the
//! WebP rendition's size against the GIF's and its encoding time per
//! megapixel (width × height × frames), with the server's own code and
//! settings. Prints a Markdown table and its summary.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use gifchat::storage::gifs::{inspect, GifLimits};
use gifchat::storage::media;

#[derive(Parser)]
#[command(about = "Measures posters and WebP renditions on a folder of GIFs")]
struct Args {
    /// Folder of `.gif` files.
    corpus: PathBuf,
    /// Lossy WebP quality, as `WEBP_QUALITY`.
    #[arg(long, default_value_t = 75)]
    quality: u8,
    /// Encodings of each file; the fastest counts.
    #[arg(long, default_value_t = 2)]
    runs: u32,
}

struct Row {
    name: String,
    bytes: u64,
    frames: u32,
    megapixels: f64,
    poster_ms: f64,
    webp: u64,
    webp_ms: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn fastest<T>(runs: u32, mut f: impl FnMut() -> T) -> (T, f64) {
    let mut best = None;
    let mut out = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let value = f();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        best = Some(best.map_or(ms, |b: f64| b.min(ms)));
        out = Some(value);
    }
    (out.expect("one run"), best.unwrap_or_default())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let limits = GifLimits {
        max_bytes: u64::MAX,
        max_dimension: 4096,
        max_frames: 2000,
        max_pixels: 200_000_000,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.corpus)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "gif"))
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no GIFs in {}", args.corpus.display());
    let mut rows = Vec::new();
    for path in &files {
        let info = inspect(path, limits).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let bytes = std::fs::metadata(path)?.len();
        let (poster, poster_ms) = fastest(args.runs, || media::poster(path.as_path()));
        poster?;
        let budget = Duration::from_secs(3600);
        let (webp, webp_ms) = fastest(args.runs, || {
            media::webp(path.as_path(), args.quality, budget)
        });
        rows.push(Row {
            name: path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            bytes,
            frames: info.frames,
            megapixels: f64::from(info.width) * f64::from(info.height) * f64::from(info.frames)
                / 1e6,
            poster_ms,
            webp: webp?.len() as u64,
            webp_ms,
        });
    }
    println!("| GIF | bytes | frames | Mpx | poster ms | WebP bytes | WebP ÷ GIF | kept | encode ms | ms per Mpx |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for r in &rows {
        let ratio = r.webp as f64 / r.bytes as f64;
        println!(
            "| {} | {} | {} | {:.1} | {:.0} | {} | {:.3} | {} | {:.0} | {:.1} |",
            r.name,
            r.bytes,
            r.frames,
            r.megapixels,
            r.poster_ms,
            r.webp,
            ratio,
            if r.webp < r.bytes { "yes" } else { "no" },
            r.webp_ms,
            r.webp_ms / r.megapixels
        );
    }
    let ratios: Vec<f64> = rows
        .iter()
        .map(|r| r.webp as f64 / r.bytes as f64)
        .collect();
    let per_mpx: Vec<f64> = rows.iter().map(|r| r.webp_ms / r.megapixels).collect();
    let total_gif: u64 = rows.iter().map(|r| r.bytes).sum();
    let total_served: u64 = rows.iter().map(|r| r.webp.min(r.bytes)).sum();
    println!();
    println!(
        "{} GIFs, WebP quality {}: size ratio median {:.3}, worst {:.3}, best {:.3}; all served as their lightest form: {:.3} of the GIF bytes. Encoding: median {:.1} ms per megapixel, worst {:.1}.",
        rows.len(),
        args.quality,
        median(ratios.clone()),
        ratios.iter().copied().fold(0.0, f64::max),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        total_served as f64 / total_gif as f64,
        median(per_mpx.clone()),
        per_mpx.iter().copied().fold(0.0, f64::max),
    );
    Ok(())
}
