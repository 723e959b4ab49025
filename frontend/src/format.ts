// Times, days and links, in the app's language.
import type { Lang } from "./i18n";

const timeFormats = new Map<Lang, Intl.DateTimeFormat>();
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** "3:04 PM", "오후 3:04". */
export function formatTime(iso: string, lang: Lang): string {
  let f = timeFormats.get(lang);
  if (!f) {
    f = new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit" });
    timeFormats.set(lang, f);
  }
  return f.format(new Date(iso));
}

/** The full date and time, for a tooltip. */
export function formatDateTime(iso: string, lang: Lang): string {
  return new Date(iso).toLocaleString(lang, { dateStyle: "full", timeStyle: "short" });
}

/** Local calendar day, as a comparable key. */
export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "Today", "Yesterday" or the date ("Monday, November 30", with the year
 *  when it is not this year). */
export function formatDay(iso: string, lang: Lang, words: { today: string; yesterday: string }, now = new Date()): string {
  const d = new Date(iso);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(iso) === dayKey(now.toISOString())) return words.today;
  if (dayKey(iso) === dayKey(yesterday.toISOString())) return words.yesterday;
  const withYear = d.getFullYear() !== now.getFullYear();
  const key = `${lang}:${withYear}`;
  let f = dayFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang, { weekday: "long", month: "long", day: "numeric", ...(withYear ? { year: "numeric" } : {}) });
    dayFormats.set(key, f);
  }
  return f.format(d);
}

/** Sizes as people read them: "5 MB", "800 KB". */
export function formatBytes(bytes: number, lang: Lang): string {
  const mb = bytes / (1024 * 1024);
  const n = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  return mb >= 1 ? `${n.format(mb)} MB` : `${n.format(bytes / 1024)} KB`;
}
