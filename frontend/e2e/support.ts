// What the browser tests share: people in their own browser contexts, a
// server of their own, GIFs made to measure, and measurements of the page.
import { expect, test, type Browser, type BrowserContext, type Locator, type Page } from "@playwright/test";
import gifenc from "gifenc";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Person, Server } from "../tests/server";

export const SHOTS = fileURLToPath(new URL("../test-results/screenshots/", import.meta.url));
mkdirSync(SHOTS, { recursive: true });

/** A server of the spec file's own on a fresh database, started before its
 *  tests and removed after them. Rooms outlive their members for the tests. */
export function useServer(env: Record<string, string> = {}): { server: Server } {
  const live = { server: null as unknown as Server };
  test.beforeAll(async () => {
    live.server = new Server();
    await live.server.start({ ROOM_EMPTY_GRACE_SECS: "600", ...env });
  });
  test.afterAll(async () => {
    await live.server.dispose();
  });
  return live;
}

export interface PersonOptions {
  locale?: string;
  width?: number;
  height?: number;
  colorScheme?: "light" | "dark";
  reducedMotion?: "reduce" | "no-preference";
  /** The name given in the first visit's dialog; null skips it. */
  name?: string | null;
  /** A phone: touch, no hover. */
  touch?: boolean;
}

export interface Someone {
  ctx: BrowserContext;
  page: Page;
  /** The same person's session, for API calls. */
  api: Person;
}

/** Opens the app as a new person and answers (or skips) the name dialog. */
export async function person(browser: Browser, server: Server, opts: PersonOptions = {}): Promise<Someone> {
  const ctx = await browser.newContext({
    locale: opts.locale ?? "en-US",
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    colorScheme: opts.colorScheme ?? "light",
    reducedMotion: opts.reducedMotion ?? "no-preference",
    hasTouch: opts.touch ?? false,
    isMobile: opts.touch ?? false,
    baseURL: server.base,
  });
  const page = await ctx.newPage();
  await page.goto("/");
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  if (opts.name === null) {
    await dialog.getByRole("button", { name: /Skip|건너뛰기/ }).click();
  } else {
    await dialog.getByRole("textbox").fill(opts.name ?? "Someone");
    await dialog.getByRole("button", { name: /Save|저장/ }).click();
  }
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId("connection-banner")).toHaveCount(0);
  const api = new Person(server);
  api.cookie = (await ctx.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
  return { ctx, page, api };
}

export function messages(page: Page) {
  return page.getByTestId("messages");
}

export async function say(page: Page, text: string): Promise<void> {
  const box = page.getByTestId("composer-input");
  await box.fill(text);
  await box.press("Enter");
  await expect(messages(page).getByTestId("message").filter({ hasText: text }).last()).toHaveAttribute("data-state", "sent");
}

/** Creates a room from the lobby and waits until it is open. */
export async function createRoom(page: Page, title: string, password?: string): Promise<string> {
  await page.getByLabel(/^Title$|^방 제목$/).fill(title);
  if (password) await page.getByLabel(/Password \(optional|비밀번호 \(선택/).fill(password);
  await page.getByRole("button", { name: /^Create$|^생성$/ }).click();
  await expect(page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  return page.url().split("/rooms/")[1] ?? "";
}

export async function enterRoom(page: Page, title: string): Promise<void> {
  await page.getByRole("button", { name: new RegExp(`^(Join|입장): ${title}$`) }).click();
  await expect(page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
}

/** Chooses a GIF file in the composer and sends it from the dialog that
 *  asks for its description (left empty unless `alt` is given). */
export async function sendGif(page: Page, name: string, buffer: Buffer, alt = ""): Promise<void> {
  await page.getByTestId("gif-input").setInputFiles({ name, mimeType: "image/gif", buffer });
  const dialog = page.getByTestId("gif-upload");
  await expect(dialog).toBeVisible();
  if (alt) await dialog.getByTestId("gif-alt").fill(alt);
  await dialog.getByTestId("gif-send").click();
  await expect(dialog).toHaveCount(0);
}

/** An animated GIF: a bright disc moving over a gradient, `frames` frames. */
export function makeGif(width: number, height: number, frames = 8): Buffer {
  const { GIFEncoder, applyPalette, quantize } = gifenc;
  const gif = GIFEncoder();
  const rgba = new Uint8Array(width * height * 4);
  for (let f = 0; f < frames; f++) {
    const cx = (width * (f + 0.5)) / frames;
    const cy = height / 2 + (Math.sin((f / frames) * Math.PI * 2) * height) / 4;
    const r = Math.max(3, Math.min(width, height) / 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        rgba[i] = inside ? 255 : Math.round((x / width) * 90 + 40);
        rgba[i + 1] = inside ? 196 : Math.round((y / height) * 120 + 60);
        rgba[i + 2] = inside ? 40 : 200;
        rgba[i + 3] = 255;
      }
    }
    const palette = quantize(rgba, 256);
    gif.writeFrame(applyPalette(rgba, palette), width, height, { palette, delay: 90 });
  }
  gif.finish();
  return Buffer.from(gif.bytes());
}

/** The page's own scroll: the document must not scroll in a room. */
export async function documentOverflow(page: Page): Promise<{ x: number; y: number }> {
  return page.evaluate(() => {
    const el = document.scrollingElement ?? document.documentElement;
    return { x: el.scrollWidth - window.innerWidth, y: el.scrollHeight - window.innerHeight };
  });
}

/** Whether the element's box lies inside the viewport. */
export async function inViewport(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) return false;
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth && r.height > 0;
  }, selector);
}

/** The contrast ratio of an element's text (or, with `outline`, its focus
 *  ring) against the first opaque background behind it. */
export async function contrastOf(el: Locator, what: "text" | "outline" = "text"): Promise<number> {
  return el.evaluate((node, part) => {
    const rgba = (c: string) => { const n = (c.match(/[\d.]+/g) ?? []).map(Number); return [n[0] ?? 0, n[1] ?? 0, n[2] ?? 0, n[3] ?? 1]; };
    const lum = ([r, g, b]: number[]) =>
      [r!, g!, b!].map((v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; })
        .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i]!, 0);
    const behind = (start: Element | null): number[] => {
      for (let e = start; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c[3]! > 0.5) return c;
      }
      return [255, 255, 255, 1];
    };
    const style = getComputedStyle(node);
    const bg = behind(part === "outline" ? node.parentElement : node);
    const fg = rgba(part === "outline" ? style.outlineColor : style.color);
    const a = fg[3]!;
    const mixed = [0, 1, 2].map((i) => fg[i]! * a + bg[i]! * (1 - a));
    const [hi, lo] = [lum(mixed), lum(bg)].sort((x, y) => y - x);
    return (hi! + 0.05) / (lo! + 0.05);
  }, what);
}

/** Whether a message's tools show, and their box and the list's. */
export async function toolsOf(row: Locator): Promise<{ shown: boolean; tools: DOMRect | null; list: DOMRect }> {
  return row.evaluate((el) => {
    const tools = el.querySelector<HTMLElement>("[data-testid=msg-tools]");
    const list = el.closest("[data-testid=messages]")!.getBoundingClientRect();
    const shown = !!tools && getComputedStyle(tools).display !== "none";
    return { shown, tools: shown ? tools!.getBoundingClientRect().toJSON() : null, list: list.toJSON() };
  });
}

/** Posts `n` chats as `who`, "label 1" … "label n". */
export async function postMany(who: Person, roomId: string, n: number, label: string): Promise<void> {
  for (let i = 1; i <= n; i++) await who.call("POST", `/api/rooms/${roomId}/chats`, { text: `${label} ${i}` });
}

export { Person, Server };
