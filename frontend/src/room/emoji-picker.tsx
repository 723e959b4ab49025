// The emoji picker: every emoji Unicode lists (loaded the first time it
// opens), searchable by name, grouped, the recently used first; arrow keys
// move through the grid, Enter picks, Escape closes and gives focus back.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { t } from "../i18n";
import { QUICK_EMOJIS } from "./actions";
import { place, useClickAway } from "./popover";

interface Entry { emoji: string; name: string }
interface Group { slug: string; entries: Entry[] }

const COLUMNS = 8;
const RECENT_KEY = "gifchat:emoji-recent";
const RECENT_MAX = 16;

let loading: Promise<Group[]> | null = null;

/** Unicode's emoji list, fetched once per page load. */
function loadGroups(): Promise<Group[]> {
  // A failed fetch is forgotten, so the next opening asks again.
  loading ??= import("virtual:emoji-data").catch((err: unknown) => { loading = null; throw err; }).then((m) =>
    m.default.map(([slug, lines]) => ({
      slug,
      entries: lines.split("\n").map((line) => {
        const [emoji = "", name = ""] = line.split("\t");
        return { emoji, name };
      }),
    })),
  );
  return loading;
}

export function recentEmojis(): string[] {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]") as unknown;
    return Array.isArray(list) ? list.filter((e): e is string => typeof e === "string").slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

export function noteEmojiUsed(emoji: string): void {
  const list = [emoji, ...recentEmojis().filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  localStorage.setItem(RECENT_KEY, JSON.stringify(list));
}

/** Whether every word of the query starts a word of the name. */
function matches(name: string, words: string[]): boolean {
  const parts = name.toLowerCase().split(/[\s:,-]+/);
  return words.every((w) => parts.some((p) => p.startsWith(w)));
}

export function EmojiPicker({ anchor, onPick, onClose }: {
  anchor: HTMLElement | null;
  onPick: (emoji: string) => void;
  onClose: () => void;
}) {
  const d = t();
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [failed, setFailed] = useState(false);
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const panel = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const grid = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let live = true;
    loadGroups().then((g) => live && setGroups(g), () => live && setFailed(true));
    search.current?.focus();
    return () => { live = false; };
  }, []);
  useLayoutEffect(() => place(anchor, panel.current), [anchor, groups]);

  // A click or tap outside closes the picker.
  useClickAway(panel, anchor, onClose);

  const shown: Group[] = useMemo(() => {
    const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const all = groups ?? [];
    if (words.length > 0) {
      return [{ slug: "results", entries: all.flatMap((g) => g.entries).filter((e) => matches(e.name, words)) }];
    }
    const names = new Map(all.flatMap((g) => g.entries).map((e) => [e.emoji, e.name]));
    const recent = recentEmojis();
    const first = (recent.length > 0 ? recent : QUICK_EMOJIS).map((emoji) => ({ emoji, name: names.get(emoji) ?? emoji }));
    return [{ slug: recent.length > 0 ? "recent" : "popular", entries: first }, ...all];
  }, [groups, query]);
  const flat = useMemo(() => shown.flatMap((g) => g.entries), [shown]);

  useEffect(() => setActive(0), [query]);

  const pick = (emoji: string) => {
    noteEmojiUsed(emoji);
    onPick(emoji);
  };
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
      if (e.key === "ArrowUp" && active < COLUMNS) search.current?.focus();
      else focusCell(active + step);
    } else if (e.key === "Home") { e.preventDefault(); focusCell(0); }
    else if (e.key === "End") { e.preventDefault(); focusCell(flat.length - 1); }
  };

  let index = 0;
  return (
    <div ref={panel} class="emoji-panel" role="dialog" aria-label={d.pickEmoji} data-testid="emoji-panel"
      onKeyDown={(e) => { if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(); } }}>
      <input ref={search} type="search" class="emoji-search" value={query} placeholder={d.searchEmoji} aria-label={d.searchEmoji}
        data-testid="emoji-search"
        onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") { e.preventDefault(); focusCell(0); }
          else if (e.key === "Enter" && flat[0]) { e.preventDefault(); pick(flat[0].emoji); }
        }} />
      <div ref={grid} class="emoji-groups" onKeyDown={onGridKey}>
        {failed && <p class="error small">{d.emojiLoadFailed}</p>}
        {!groups && !failed && <p class="hint small">{d.loading}</p>}
        {groups && flat.length === 0 && <p class="hint small">{d.noEmojiFound}</p>}
        {shown.map((g) => g.entries.length > 0 && (
          <section key={g.slug} role="group" aria-label={d.emojiGroup(g.slug)}>
            <h3 class="emoji-group-name" aria-hidden="true">{d.emojiGroup(g.slug)}</h3>
            <div class="emoji-grid">
              {g.entries.map((e) => {
                const i = index++;
                return (
                  <button key={`${g.slug}-${e.emoji}`} type="button" class="emoji-cell" data-index={i} tabIndex={i === active ? 0 : -1}
                    aria-label={e.name} title={e.name} onClick={() => pick(e.emoji)} onFocus={() => setActive(i)}>
                    {e.emoji}
                  </button>
                );
              })}
            </div>
          </section>
        ))}
      </div>
    </div>
  );
}
