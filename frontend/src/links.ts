// Finding links in a chat's text. A chunk of its own: the link matcher is
// fetched the first time a message holds "http://" or "https://".
import { LinkifyIt } from "linkify-it";

// Only links that say http:// or https://: no bare domains, e-mail or other schemes.
const linkify = new LinkifyIt({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false })
  .add("mailto:", null)
  .add("ftp:", null)
  .add("//", null);

export type Piece = { text: string; href?: string };

/** Splits text into plain pieces and http(s) links. */
export function linkPieces(text: string): Piece[] {
  const matches = linkify.match(text);
  if (!matches) return [{ text }];
  const pieces: Piece[] = [];
  let at = 0;
  for (const m of matches) {
    let href: string | null = null;
    try {
      const url = new URL(m.url);
      if (url.protocol === "http:" || url.protocol === "https:") href = url.href;
    } catch {
      href = null;
    }
    if (!href) continue;
    if (m.index > at) pieces.push({ text: text.slice(at, m.index) });
    pieces.push({ text: m.raw, href });
    at = m.lastIndex;
  }
  if (at < text.length) pieces.push({ text: text.slice(at) });
  return pieces;
}
