// A GIF in the timeline: a box that fits it, the bubble hugging the image,
// space reserved before it loads; the lightest rendition the browser can
// show, its poster until that has loaded; a still under reduced motion or
// Save-Data; opened large in a lightbox.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Gif } from "../api/client";
import { Dialog } from "../dialog";
import { t } from "../i18n";
import { mediaQuery, useValue } from "../store";

/** The largest box a GIF is shown in, in CSS pixels; a narrower column
 *  shrinks it further (max-width: 100%). */
export const GIF_BOX = 320;

/** Fits `w`×`h` inside `max`×`max`, never enlarging. */
export function fitBox(w: number, h: number, max = GIF_BOX): { width: number; height: number } {
  const s = Math.min(1, max / Math.max(1, w), max / Math.max(1, h));
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}

export const reducedMotion = mediaQuery("(prefers-reduced-motion: reduce)");

/** Whether the browser asks for less data (Chromium's Save-Data setting). */
function savingData(): boolean {
  const connection = (navigator as Navigator & { connection?: { saveData?: boolean } }).connection;
  return connection?.saveData === true;
}

/** The first frame of a GIF the server has no poster for (yet, or a file
 *  not uploaded yet), drawn here: `createImageBitmap` decodes an animated
 *  image's first frame only. */
export function Still({ source, width, height, alt }: { source: string | Blob; width: number; height: number; alt: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    let alive = true;
    void (typeof source === "string" ? fetch(source).then((r) => r.blob()) : Promise.resolve(source))
      .then((b) => createImageBitmap(b))
      .then((bitmap) => {
        const c = canvas.current;
        if (alive && c) c.getContext("2d")?.drawImage(bitmap, 0, 0, width, height);
        bitmap.close();
      })
      .catch(() => {});
    return () => { alive = false; };
  }, [source, width, height]);
  return <canvas ref={canvas} width={width} height={height} role="img" aria-label={alt} class="gif-media" data-testid="gif-still" />;
}

/** The animation: each lighter rendition the browser may know (smallest
 *  first, so the first it supports wins), the GIF itself otherwise; the
 *  poster lies over it until it has loaded. */
function Animated({ gif, alt }: { gif: Gif; alt: string }) {
  const [loaded, setLoaded] = useState(false);
  const img = useRef<HTMLImageElement>(null);
  // From the cache it may be complete before Preact listens for `load`.
  useLayoutEffect(() => {
    if (img.current?.complete && img.current.naturalWidth > 0) setLoaded(true);
  }, []);
  const sources = (gif.variants ?? []).filter((v) => v.type.startsWith("image/"));
  return (
    <>
      <picture>
        {sources.map((v) => <source key={v.url} type={v.type} srcset={v.url} />)}
        <img ref={img} class="gif-media" src={gif.url} width={gif.width} height={gif.height} alt={alt} decoding="async" loading="lazy"
          data-testid="gif-animated" data-loaded={loaded ? "yes" : "no"} onLoad={() => setLoaded(true)} />
      </picture>
      {gif.poster && !loaded && (
        <img class="gif-media gif-poster" src={gif.poster} width={gif.width} height={gif.height} alt="" aria-hidden="true" decoding="async" loading="lazy" data-testid="gif-poster" />
      )}
    </>
  );
}

/** The GIF itself: animated, or still with a control to play it. */
function GifMedia({ gif, alt, playing }: { gif: Gif; alt: string; playing: boolean }) {
  if (playing) return <Animated gif={gif} alt={alt} />;
  if (gif.poster) {
    return <img class="gif-media" src={gif.poster} width={gif.width} height={gif.height} alt={alt} decoding="async" loading="lazy" data-testid="gif-still" />;
  }
  return <Still source={gif.url} width={gif.width} height={gif.height} alt={alt} />;
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
  // Still until asked: under reduced motion, or when data is to be saved.
  const reduced = useValue(reducedMotion) || savingData();
  const [play, setPlay] = useState(false);
  const [open, setOpen] = useState(false);
  const d = t();
  const alt = gif.alt || d.gifFrom(author);
  const box = fitBox(gif.width, gif.height);
  const playing = !reduced || play;
  const self = useRef<HTMLDivElement>(null);
  return (
    <div ref={self} class="gif-box" style={{ width: `${box.width}px`, aspectRatio: `${gif.width} / ${gif.height}` }} data-testid="gif">
      <button type="button" class="gif-open" aria-label={`${d.openGif}: ${alt}`} onClick={() => setOpen(true)}>
        <GifMedia gif={gif} alt={alt} playing={playing} />
      </button>
      {reduced && <PlayToggle playing={play} onToggle={() => setPlay((p) => !p)} />}
      {open && <Lightbox gif={gif} alt={alt} reduced={reduced} onClose={() => setOpen(false)} origin={self.current} />}
    </div>
  );
}

/** A file name from a GIF's description: its first words, or "gif". */
function downloadName(alt: string): string {
  const words = alt.normalize("NFKC").replace(/[\\/:*?"<>|\p{Cc}\p{Cf}]+/gu, " ").trim().split(/\s+/).slice(0, 8).join(" ");
  return `${words.slice(0, 80) || "gif"}.gif`;
}

/** The GIF before or after `origin` in the message list, if any. */
function neighbour(origin: HTMLElement | null, step: -1 | 1): HTMLButtonElement | null {
  const boxes = [...document.querySelectorAll<HTMLElement>("[data-testid=messages] [data-testid=gif]")];
  const at = origin ? boxes.indexOf(origin) : -1;
  return at < 0 ? null : boxes[at + step]?.querySelector<HTMLButtonElement>(".gif-open") ?? null;
}

function Lightbox({ gif, alt, reduced, onClose, origin }: { gif: Gif; alt: string; reduced: boolean; onClose: () => void; origin: HTMLElement | null }) {
  const [play, setPlay] = useState(false);
  const d = t();
  const before = neighbour(origin, -1);
  const after = neighbour(origin, 1);
  // The room's GIF before or after this one, opened in its place; Escape
  // then gives the focus to the one shown last.
  const go = (to: HTMLButtonElement | null) => {
    if (!to) return;
    onClose();
    requestAnimationFrame(() => { to.focus(); to.scrollIntoView({ block: "nearest" }); to.click(); });
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowLeft") { e.preventDefault(); go(before); }
    if (e.key === "ArrowRight") { e.preventDefault(); go(after); }
  };
  const scale = Math.min(4, (innerWidth * 0.9) / gif.width, (innerHeight * 0.72) / gif.height);
  const size = { width: Math.round(gif.width * scale), height: Math.round(gif.height * scale) };
  return (
    <Dialog open onClose={onClose} label={alt} class="lightbox">
      <figure class="lightbox-figure" onKeyDown={onKey}>
        <div class="lightbox-media" style={{ width: `${size.width}px`, aspectRatio: `${gif.width} / ${gif.height}` }}>
          <GifMedia gif={gif} alt={alt} playing={!reduced || play} />
          {reduced && <PlayToggle playing={play} onToggle={() => setPlay((p) => !p)} />}
        </div>
        {/* As wide as the GIF, or a short line's width for a small one: a
            long description wraps rather than widening the lightbox. */}
        <figcaption style={{ maxWidth: `max(${size.width}px, min(22rem, 90vw))` }}>{alt} <span class="muted small">{gif.width}×{gif.height}</span></figcaption>
      </figure>
      <div class="row end" onKeyDown={onKey}>
        {(before || after) && <>
          <button type="button" class="secondary" disabled={!before} onClick={() => go(before)} aria-label={d.previousGif} title={d.previousGif} data-testid="gif-previous">‹</button>
          <button type="button" class="secondary" disabled={!after} onClick={() => go(after)} aria-label={d.nextGif} title={d.nextGif} data-testid="gif-next">›</button>
        </>}
        {/* The original GIF, saved under a name that says what it is. */}
        <a class="button secondary" href={gif.url} download={downloadName(alt)} data-testid="gif-download">{d.downloadGif}</a>
        <button type="button" class="secondary" autoFocus onClick={onClose}>{d.close}</button>
      </div>
    </Dialog>
  );
}
