// The GIF picker: the room's own GIFs first, then every GIF the server
// lets me see, searchable by the words of their descriptions. Posters
// only, so the grid never animates; arrow keys move through it, Enter
// posts, Escape closes and gives the focus back. Loaded the first time it
// opens.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { listGifs, type Gif } from "../api/client";
import { t } from "../i18n";
import { place, useClickAway } from "./popover";

const COLUMNS = 3;
/** How long typing must pause before the server is asked. */
const DEBOUNCE_MS = 250;

interface Section { slug: "room" | "library" | "results"; gifs: Gif[] }

/** What the server last answered, and for which words. */
interface Found { q: string; gifs: Gif[] }

export function GifPicker({ anchor, roomGifs, onPick, onClose }: {
  anchor: HTMLElement | null;
  /** The GIFs of the room's loaded timeline, newest first, each once. */
  roomGifs: Gif[];
  onPick: (gif: Gif) => void;
  onClose: () => void;
}) {
  const d = t();
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<Found | null>(null);
  const [loading, setLoading] = useState(true);
  const [failed, setFailed] = useState(false);
  // Bumped to ask again now: Enter in the search box, Try again.
  const [asked, setAsked] = useState(0);
  const [active, setActive] = useState(0);
  const panel = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const grid = useRef<HTMLDivElement>(null);
  const now = useRef(true);
  const q = query.trim().replace(/\s+/g, " ");

  // Focused before the panel is first painted: a key pressed the moment
  // it shows (Escape above all) already reaches it.
  useLayoutEffect(() => search.current?.focus(), []);
  useLayoutEffect(() => place(anchor, panel.current), [anchor, found, failed]);
  useClickAway(panel, anchor, onClose);

  // One request at a time: a newer query aborts the one still out.
  useEffect(() => {
    const aborter = new AbortController();
    setLoading(true);
    setFailed(false);
    const timer = setTimeout(() => {
      listGifs(q, { signal: aborter.signal }).then(
        (gifs) => { setFound({ q, gifs }); setLoading(false); },
        () => { if (!aborter.signal.aborted) { setFailed(true); setLoading(false); } },
      );
    }, now.current ? 0 : DEBOUNCE_MS);
    now.current = false;
    return () => {
      clearTimeout(timer);
      aborter.abort();
    };
  }, [q, asked]);

  const sections: Section[] = useMemo(() => {
    if (q) return found && found.q ? [{ slug: "results", gifs: found.gifs }] : [];
    const here = new Set(roomGifs.map((g) => g.url));
    const library = found?.q === "" ? found.gifs.filter((g) => !here.has(g.url)) : [];
    return [{ slug: "room", gifs: roomGifs }, { slug: "library", gifs: library }];
  }, [q, found, roomGifs]);
  const flat = useMemo(() => sections.flatMap((s) => s.gifs), [sections]);
  const current = Math.max(0, Math.min(active, flat.length - 1));
  useEffect(() => setActive(0), [q]);

  const answered = found !== null && found.q === q && !loading;
  const empty = answered && flat.length === 0;

  const focusCell = (i: number) => {
    const n = Math.max(0, Math.min(flat.length - 1, i));
    setActive(n);
    grid.current?.querySelector<HTMLButtonElement>(`[data-index="${n}"]`)?.focus();
  };
  const close = () => {
    onClose();
    anchor?.focus();
  };
  const onGridKey = (e: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    const step = moves[e.key];
    if (step !== undefined) {
      e.preventDefault();
      if (e.key === "ArrowUp" && current < COLUMNS) search.current?.focus();
      else focusCell(current + step);
    } else if (e.key === "Home") { e.preventDefault(); focusCell(0); }
    else if (e.key === "End") { e.preventDefault(); focusCell(flat.length - 1); }
  };

  let index = 0;
  return (
    <div ref={panel} class="gif-panel" role="dialog" aria-label={d.pickGif} data-testid="gif-panel"
      onKeyDown={(e) => { if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(); } }}>
      <div class="gif-panel-head">
      <input ref={search} type="search" class="gif-search" value={query} placeholder={d.searchGifs} aria-label={d.searchGifs}
        data-testid="gif-search" autoComplete="off"
        onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" && flat.length > 0) { e.preventDefault(); focusCell(0); }
          else if (e.key === "Enter") { e.preventDefault(); now.current = true; setAsked((n) => n + 1); }
        }} />
        {/* A sheet on a phone covers the composer: it says how to go. */}
        <button type="button" class="icon" onClick={close} aria-label={d.close} title={d.close} data-testid="gif-panel-close">✕</button>
      </div>
      <div ref={grid} class="gif-sections" onKeyDown={onGridKey} aria-busy={loading}>
        {sections.map((s) => s.gifs.length > 0 && (
          <section key={s.slug} role="group" aria-label={sectionName(s.slug)}>
            <h3 class="picker-group-name" aria-hidden="true">{sectionName(s.slug)}</h3>
            <div class="gif-grid">
              {s.gifs.map((gif) => {
                const i = index++;
                const name = gif.alt || d.gifUntitled;
                return (
                  <button key={`${s.slug}-${gif.url}`} type="button" class="gif-choice" data-index={i} tabIndex={i === current ? 0 : -1}
                    aria-label={name} title={name} data-testid="gif-choice" data-url={gif.url}
                    onClick={() => onPick(gif)} onFocus={() => setActive(i)}>
                    <img src={gif.poster ?? gif.url} width={gif.width} height={gif.height} alt="" loading="lazy" decoding="async" />
                  </button>
                );
              })}
            </div>
          </section>
        ))}
        <p class={failed ? "error small" : "hint small"} role="status" data-testid="gif-status">
          {failed ? d.gifsLoadFailed
            : empty ? (q ? d.noGifsFound(q) : d.noGifsYet)
            : loading && flat.length === 0 ? d.loading
            : answered ? <span class="sr-only">{d.gifCount(flat.length)}</span> : null}
        </p>
        {failed && <button type="button" class="link" onClick={() => { now.current = true; setAsked((n) => n + 1); }}>{d.tryAgain}</button>}
      </div>
    </div>
  );
}

function sectionName(slug: Section["slug"]): string {
  const d = t();
  return slug === "room" ? d.gifsInRoom : slug === "library" ? d.gifLibrary : d.gifResults;
}
