// Name colours that stay readable: each user's hue, with the lightness moved
// until the text has at least 4.5:1 contrast (WCAG AA) on the backgrounds
// it is drawn on in the current theme.
import { mediaQuery, signalLike, useValue } from "./store";

type Rgb = [number, number, number];

function parseHex(hex: string): Rgb | null {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  if (!m?.[1]) return null;
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function parseCss(color: string): Rgb | null {
  const hex = parseHex(color);
  if (hex) return hex;
  const m = /rgba?\(\s*(\d+)[,\s]+(\d+)[,\s]+(\d+)/.exec(color);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

function toHsl([r, g, b]: Rgb): [number, number, number] {
  const [rn, gn, bn] = [r / 255, g / 255, b / 255];
  const max = Math.max(rn, gn, bn);
  const min = Math.min(rn, gn, bn);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  const h = max === rn ? (gn - bn) / d + (gn < bn ? 6 : 0) : max === gn ? (bn - rn) / d + 2 : (rn - gn) / d + 4;
  return [h / 6, s, l];
}

function fromHsl([h, s, l]: [number, number, number]): Rgb {
  if (s === 0) return [l, l, l].map((v) => Math.round(v * 255)) as Rgb;
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const hue = (t: number) => {
    const u = t < 0 ? t + 1 : t > 1 ? t - 1 : t;
    if (u < 1 / 6) return p + (q - p) * 6 * u;
    if (u < 1 / 2) return q;
    if (u < 2 / 3) return p + (q - p) * (2 / 3 - u) * 6;
    return p;
  };
  return [hue(h + 1 / 3), hue(h), hue(h - 1 / 3)].map((v) => Math.round(v * 255)) as Rgb;
}

const toHex = (rgb: Rgb) => `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;

/** `color` with its lightness moved (darker on light backgrounds, lighter on
 *  dark ones) until it reaches `ratio` against every one of `backgrounds`. */
export function readableOn(color: string, backgrounds: Rgb[], ratio = 4.6): string {
  const rgb = parseHex(color);
  if (!rgb || backgrounds.length === 0) return color;
  const worst = (c: Rgb) => Math.min(...backgrounds.map((bg) => contrast(c, bg)));
  if (worst(rgb) >= ratio) return toHex(rgb);
  const dark = backgrounds.every((bg) => luminance(bg) < 0.2);
  const [h, s, l0] = toHsl(rgb);
  for (let step = 1; step <= 100; step++) {
    const l = dark ? Math.min(1, l0 + step * 0.01) : Math.max(0, l0 - step * 0.01);
    const candidate = fromHsl([h, s, l]);
    if (worst(candidate) >= ratio) return toHex(candidate);
  }
  return dark ? "#ffffff" : "#000000";
}

/** The theme's text backgrounds, read from the CSS variables so there is one
 *  source for the palette. */
function themeBackgrounds(): Rgb[] {
  if (typeof document === "undefined") return [];
  const style = getComputedStyle(document.documentElement);
  return ["--card", "--bg"]
    .map((v) => parseCss(style.getPropertyValue(v)))
    .filter((c): c is Rgb => c !== null);
}

const backgrounds = signalLike<Rgb[]>(themeBackgrounds());
const cache = new Map<string, string>();
mediaQuery("(prefers-color-scheme: dark)").subscribe(() => {
  cache.clear();
  backgrounds.set(themeBackgrounds());
});

/** A user's colour as readable text in the current theme. */
export function useNameColor(color: string | undefined): string | undefined {
  const bgs = useValue(backgrounds);
  if (!color) return undefined;
  let out = cache.get(color);
  if (!out) {
    out = readableOn(color, bgs.length ? bgs : themeBackgrounds());
    cache.set(color, out);
  }
  return out;
}
