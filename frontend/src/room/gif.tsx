// A GIF in the timeline: a box that fits it, the bubble hugging the image,
// space reserved before it loads; a still under reduced motion; opened large
// in a lightbox.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Chat } from "../api/client";
import { Dialog } from "../dialog";
import { t } from "../i18n";
import { mediaQuery, useValue } from "../store";

type Gif = NonNullable<Chat["gif"]> & { poster?: string | null; alt?: string | null };

/** The largest box a GIF is shown in, in CSS pixels; a narrower column
 *  shrinks it further (max-width: 100%). */
export const GIF_BOX = 320;

/** Fits `w`×`h` inside `max`×`max`, never enlarging. */
export function fitBox(w: number, h: number, max = GIF_BOX): { width: number; height: number } {
  const s = Math.min(1, max / Math.max(1, w), max / Math.max(1, h));
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}

const reducedMotion = mediaQuery("(prefers-reduced-motion: reduce)");

/** The first frame of a GIF, drawn here until the server sends posters:
 *  `createImageBitmap` decodes an animated image's first frame only. */
function Still({ url, width, height, alt }: { url: string; width: number; height: number; alt: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    let alive = true;
    void fetch(url)
      .then((r) => r.blob())
      .then((b) => createImageBitmap(b))
      .then((bitmap) => {
        const c = canvas.current;
        if (alive && c) c.getContext("2d")?.drawImage(bitmap, 0, 0, width, height);
        bitmap.close();
      })
      .catch(() => {});
    return () => { alive = false; };
  }, [url, width, height]);
  return <canvas ref={canvas} width={width} height={height} role="img" aria-label={alt} class="gif-media" data-testid="gif-still" />;
}

/** The GIF itself: animated, or still with a control to play it. */
function GifMedia({ gif, alt, playing }: { gif: Gif; alt: string; playing: boolean }) {
  if (playing) {
    return <img class="gif-media" src={gif.url} width={gif.width} height={gif.height} alt={alt} decoding="async" loading="lazy" data-testid="gif-animated" />;
  }
  if (gif.poster) {
    return <img class="gif-media" src={gif.poster} width={gif.width} height={gif.height} alt={alt} loading="lazy" data-testid="gif-still" />;
  }
  return <Still url={gif.url} width={gif.width} height={gif.height} alt={alt} />;
}

function PlayToggle({ playing, onToggle }: { playing: boolean; onToggle: () => void }) {
  const d = t();
  return (
    <button type="button" class="gif-play" aria-pressed={playing} aria-label={playing ? d.pauseGif : d.playGif} onClick={onToggle}>
      <span aria-hidden="true">{playing ? "❚❚" : "▶"}</span>
    </button>
  );
}

export function GifView({ gif, author }: { gif: Gif; author: string }) {
  const reduced = useValue(reducedMotion);
  const [play, setPlay] = useState(false);
  const [open, setOpen] = useState(false);
  const d = t();
  const alt = gif.alt || d.gifFrom(author);
  const box = fitBox(gif.width, gif.height);
  const playing = !reduced || play;
  return (
    <div class="gif-box" style={{ width: `${box.width}px`, aspectRatio: `${gif.width} / ${gif.height}` }} data-testid="gif">
      <button type="button" class="gif-open" aria-label={`${d.openGif}: ${alt}`} onClick={() => setOpen(true)}>
        <GifMedia gif={gif} alt={alt} playing={playing} />
      </button>
      {reduced && <PlayToggle playing={play} onToggle={() => setPlay((p) => !p)} />}
      {open && <Lightbox gif={gif} alt={alt} reduced={reduced} onClose={() => setOpen(false)} />}
    </div>
  );
}

function Lightbox({ gif, alt, reduced, onClose }: { gif: Gif; alt: string; reduced: boolean; onClose: () => void }) {
  const [play, setPlay] = useState(false);
  const d = t();
  const scale = Math.min(4, (innerWidth * 0.9) / gif.width, (innerHeight * 0.72) / gif.height);
  const size = { width: Math.round(gif.width * scale), height: Math.round(gif.height * scale) };
  return (
    <Dialog open onClose={onClose} label={alt} class="lightbox">
      <figure class="lightbox-figure">
        <div class="lightbox-media" style={{ width: `${size.width}px`, aspectRatio: `${gif.width} / ${gif.height}` }}>
          <GifMedia gif={gif} alt={alt} playing={!reduced || play} />
          {reduced && <PlayToggle playing={play} onToggle={() => setPlay((p) => !p)} />}
        </div>
        <figcaption>{alt} <span class="muted small">{gif.width}×{gif.height}</span></figcaption>
      </figure>
      <div class="row end">
        <button type="button" class="secondary" autoFocus onClick={onClose}>{d.close}</button>
      </div>
    </Dialog>
  );
}
