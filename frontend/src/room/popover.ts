// What the pickers share: a panel by the control that opened it (a sheet
// along the bottom on a phone), closed by a click or tap outside it.
import { useEffect } from "preact/hooks";

/** Where a panel is a sheet along the bottom of the screen instead. */
export const SHEET_QUERY = "(max-width: 600px)";

/** Where the panel goes: under the control that opened it, or above if there is no room. */
export function place(anchor: HTMLElement | null, panel: HTMLElement | null): void {
  if (!anchor || !panel) return;
  if (window.matchMedia(SHEET_QUERY).matches) {
    panel.style.left = panel.style.top = "";
    return;
  }
  const a = anchor.getBoundingClientRect();
  const p = panel.getBoundingClientRect();
  const below = a.bottom + 4;
  const top = below + p.height <= window.innerHeight - 8 ? below : Math.max(8, a.top - 4 - p.height);
  const left = Math.min(Math.max(8, a.left), window.innerWidth - p.width - 8);
  panel.style.top = `${top}px`;
  panel.style.left = `${left}px`;
}

/** Calls `onAway` on a pointer press outside the panel and its anchor. */
export function useClickAway(panel: { current: HTMLElement | null }, anchor: HTMLElement | null, onAway: () => void): void {
  useEffect(() => {
    const away = (e: PointerEvent) => {
      if (!panel.current?.contains(e.target as Node) && !anchor?.contains(e.target as Node)) onAway();
    };
    document.addEventListener("pointerdown", away);
    return () => document.removeEventListener("pointerdown", away);
  }, [anchor, onAway]);
}
