// GIFs done right: described when uploaded, found again by the words of
// their description in a picker that works with the keyboard and on a
// phone, posted again without an upload, still under reduced motion, and
// shown in their lighter renditions once the server has made them.
import { expect, test, type Locator, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Chat } from "../src/api/client";
import { SHOTS, createRoom, enterRoom, makeGif, messages, person, sendGif, useServer } from "./support";

const live = useServer();
const WAVE = readFileSync(fileURLToPath(new URL("./fixtures/wave.gif", import.meta.url)));

/** The confirmed GIF messages of a page, oldest first. */
function sentGifs(page: Page): Locator {
  return messages(page).locator("[data-testid=message][data-state=sent]").filter({ has: page.getByTestId("gif") });
}

async function chatsOf(who: { api: { call<T>(method: string, path: string): Promise<T> } }, roomId: string): Promise<Chat[]> {
  return (await who.api.call<{ chats: Chat[] }>("GET", `/api/rooms/${roomId}/chats`)).chats;
}

test("a GIF described on upload is found by a word of its description and posted again from the picker", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Ada" });
  await createRoom(a.page, "Penguins");

  // Choosing a file asks for a description first; Enter sends.
  await a.page.getByTestId("gif-input").setInputFiles({ name: "wave.gif", mimeType: "image/gif", buffer: WAVE });
  const dialog = a.page.getByTestId("gif-upload");
  await expect(dialog.getByTestId("gif-alt")).toBeFocused();
  // A preview of the file, before anything is uploaded.
  const preview = dialog.locator(".gif-upload-preview img");
  await expect(preview).toBeVisible();
  await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(48);
  await a.page.keyboard.type("A penguin waving hello");
  await a.page.screenshot({ path: `${SHOTS}gif-upload-dialog.png` });
  await a.page.keyboard.press("Enter");
  await expect(dialog).toHaveCount(0);
  const uploaded = sentGifs(a.page).getByTestId("gif-animated");
  await expect(uploaded).toHaveAttribute("alt", "A penguin waving hello");
  const url = (await uploaded.getAttribute("src"))!;
  expect(url).toMatch(/^\/gif\/[0-9a-f]{64}\.gif$/);

  // In its own room the picker shows it first, under "In this room", once;
  // Escape closes the picker and gives the focus back.
  const open = a.page.getByTestId("gif-picker-open");
  await open.click();
  const own = a.page.getByTestId("gif-panel");
  const here = own.getByRole("group", { name: "In this room" });
  await expect(here.getByRole("button").first()).toHaveAccessibleName("A penguin waving hello");
  await expect(own.locator(`[data-url="${url}"]`)).toHaveCount(1);
  await a.page.keyboard.press("Escape");
  await expect(own).toHaveCount(0);
  await expect(open).toBeFocused();

  // Someone else, in a room of their own, searches the library for one word.
  const b = await person(browser, live.server, { name: "Bo" });
  const roomB = await createRoom(b.page, "Birds");
  await b.page.getByTestId("gif-picker-open").click();
  const panel = b.page.getByTestId("gif-panel");
  const search = b.page.getByTestId("gif-search");
  await expect(search).toBeFocused();
  await search.fill("waving");
  const found = panel.getByRole("button", { name: "A penguin waving hello" });
  await expect(found).toBeVisible();
  await expect(panel.getByTestId("gif-choice")).toHaveCount(1);
  await b.page.screenshot({ path: `${SHOTS}gif-picker.png` });

  // A word nobody used finds nothing, and says so.
  await search.fill("walrus");
  await expect(panel.getByTestId("gif-status")).toHaveText("No GIF has a description with “walrus”.");
  await expect(panel.getByTestId("gif-choice")).toHaveCount(0);

  // The first letters of a word are enough; the arrow key reaches it, Enter posts it.
  await search.fill("peng");
  await expect(found).toBeVisible();
  await search.press("ArrowDown");
  await expect(found).toBeFocused();
  await b.page.keyboard.press("Enter");
  await expect(panel).toHaveCount(0);
  const posted = sentGifs(b.page).getByTestId("gif-animated");
  await expect(posted).toHaveCount(1);
  expect(await posted.getAttribute("src")).toBe(url);
  // The server gave the new chat the description its poster could see.
  await expect(posted).toHaveAttribute("alt", "A penguin waving hello");
  const gifs = (await chatsOf(b, roomB)).filter((c) => c.kind === "gif");
  expect(gifs).toHaveLength(1);
  expect(gifs[0]!.gif?.url).toBe(url);
  expect(gifs[0]!.client_id).toBeTruthy();
  for (const p of [a, b]) await p.ctx.close();
});

test("the author edits a GIF's description; everyone sees it, and the library finds the new words", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Cleo" });
  const b = await person(browser, live.server, { name: "Dev" });
  const roomId = await createRoom(a.page, "Descriptions");
  await enterRoom(b.page, "Descriptions");
  await sendGif(a.page, "disc.gif", makeGif(120, 90, 4), "an orange disc");
  const mine = sentGifs(a.page).first();
  await expect(mine.getByTestId("gif-animated")).toHaveAttribute("alt", "an orange disc");

  await mine.hover();
  await mine.getByRole("button", { name: "Edit description" }).click();
  const field = a.page.getByTestId("alt-input");
  await expect(field).toBeFocused();
  await expect(field).toHaveValue("an orange disc");
  await field.fill("an orange disc bouncing over a sunset");
  await a.page.screenshot({ path: `${SHOTS}gif-alt-edit.png` });
  await field.press("Enter");
  await expect(field).toHaveCount(0);
  await expect(mine.getByTestId("gif-animated")).toHaveAttribute("alt", "an orange disc bouncing over a sunset");
  await expect(mine).not.toHaveAttribute("data-change", /.+/);
  await expect(messages(b.page).getByTestId("gif").getByRole("button", { name: /Open the GIF/ }))
    .toHaveAccessibleName("Open the GIF: an orange disc bouncing over a sunset");
  const chat = (await chatsOf(a, roomId)).find((c) => c.kind === "gif")!;
  expect(chat.gif?.alt).toBe("an orange disc bouncing over a sunset");

  await b.page.getByTestId("gif-picker-open").click();
  await b.page.getByTestId("gif-search").fill("sunset bouncing");
  await expect(b.page.getByTestId("gif-panel").getByRole("button", { name: "an orange disc bouncing over a sunset" })).toBeVisible();
  for (const p of [a, b]) await p.ctx.close();
});

test("under reduced motion every GIF in the room is a still poster and nothing animates", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Eli" });
  await createRoom(a.page, "Stills");
  await sendGif(a.page, "one.gif", makeGif(160, 120, 6), "a disc moving right");
  await sendGif(a.page, "two.gif", makeGif(120, 160, 4));

  const b = await person(browser, live.server, { name: "Fay" });
  await b.page.emulateMedia({ reducedMotion: "reduce" });
  await enterRoom(b.page, "Stills");
  // One more, posted again from the picker, arrives live.
  await a.page.getByTestId("gif-picker-open").click();
  await a.page.getByTestId("gif-panel").getByRole("button", { name: "a disc moving right" }).first().click();
  const gifs = messages(b.page).getByTestId("gif");
  await expect(gifs).toHaveCount(3);
  const stills = messages(b.page).getByTestId("gif-still");
  await expect(stills).toHaveCount(3);
  for (const still of await stills.all()) {
    await expect(still).toHaveAttribute("src", /^\/gif\/[0-9a-f]{64}\.png$/);
    await expect.poll(() => still.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
  }
  await expect(stills.first()).toHaveAttribute("alt", "a disc moving right");
  await expect(messages(b.page).getByTestId("gif-animated")).toHaveCount(0);
  await expect(messages(b.page).locator("picture, img[src$='.gif'], img[src$='.webp']")).toHaveCount(0);
  await b.page.screenshot({ path: `${SHOTS}gifs-reduced-motion.png` });

  // Asking plays one; the others stay still.
  await gifs.first().getByRole("button", { name: "Play the GIF" }).click();
  await expect(messages(b.page).getByTestId("gif-animated")).toHaveCount(1);
  await expect(stills).toHaveCount(2);

  // A browser asking to save data gets stills too.
  const c = await person(browser, live.server, { name: "Gil" });
  await c.page.addInitScript(() => Object.defineProperty(navigator, "connection", { get: () => ({ saveData: true }) }));
  await c.page.reload();
  await enterRoom(c.page, "Stills");
  await expect(messages(c.page).getByTestId("gif-still")).toHaveCount(3);
  await expect(messages(c.page).getByTestId("gif-animated")).toHaveCount(0);
  for (const p of [a, b, c]) await p.ctx.close();
});

test("the lighter rendition shows once the server has made it", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Gus" });
  const roomId = await createRoom(a.page, "Renditions");
  await sendGif(a.page, "big.gif", makeGif(320, 240, 12), "a big disc");
  const chat = async () => (await chatsOf(a, roomId)).find((c) => c.kind === "gif")!;
  await expect.poll(async () => (await chat()).gif?.variants?.length ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
  const webp = (await chat()).gif!.variants!.find((v) => v.type === "image/webp")!;
  // Arrived live (chat_updated): the <picture> offers it, and Chromium takes it.
  const source = sentGifs(a.page).locator("picture source[type='image/webp']");
  await expect(source).toHaveAttribute("srcset", webp.url);
  const img = sentGifs(a.page).getByTestId("gif-animated");
  await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.currentSrc)).toMatch(/\.webp$/);
  await expect(img).toHaveAttribute("data-loaded", "yes");
  await expect(sentGifs(a.page).getByTestId("gif-poster")).toHaveCount(0);
  await a.ctx.close();
});

test("on a phone the picker is a sheet inside the screen, its posters visible and tappable", async ({ browser }) => {
  const p = await person(browser, live.server, { name: "Hana", width: 390, height: 844 });
  await createRoom(p.page, "Pocket");
  await sendGif(p.page, "a.gif", makeGif(200, 150, 4), "a small yellow ball");
  await sendGif(p.page, "b.gif", makeGif(150, 200, 4), "a tall blue gradient");
  await p.page.getByTestId("gif-picker-open").click();
  const panel = p.page.getByTestId("gif-panel");
  const choices = panel.getByTestId("gif-choice");
  await expect(choices.first()).toBeVisible();
  const sheet = (await panel.boundingBox())!;
  expect(sheet.x).toBeGreaterThanOrEqual(0);
  expect(sheet.y).toBeGreaterThanOrEqual(0);
  expect(sheet.x + sheet.width).toBeLessThanOrEqual(390);
  expect(Math.round(sheet.y + sheet.height)).toBeLessThanOrEqual(844);
  expect(Math.round(sheet.width)).toBe(390);
  const shown = Math.min(await choices.count(), 6);
  expect(shown).toBeGreaterThanOrEqual(2);
  for (let i = 0; i < shown; i++) {
    const c = choices.nth(i);
    await expect(c).toBeVisible();
    await expect(c).toBeInViewport();
    await expect.poll(() => c.locator("img").evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    const box = (await c.boundingBox())!;
    expect(box.width).toBeGreaterThan(80);
    expect(box.x).toBeGreaterThanOrEqual(sheet.x);
    expect(box.x + box.width).toBeLessThanOrEqual(sheet.x + sheet.width);
  }
  await p.page.screenshot({ path: `${SHOTS}gif-picker-phone.png` });
  // Its ✕ is on screen and closes it; opened again, it is as before.
  const close = panel.getByTestId("gif-panel-close");
  await expect(close).toBeInViewport();
  await close.click();
  await expect(panel).toHaveCount(0);
  await p.page.getByTestId("gif-picker-open").click();
  await expect(choices.first()).toBeVisible();

  // A tap posts it and closes the sheet.
  await panel.getByRole("button", { name: "a tall blue gradient" }).first().click();
  await expect(panel).toHaveCount(0);
  await expect(sentGifs(p.page)).toHaveCount(3);
  await expect(sentGifs(p.page).last().getByTestId("gif-animated")).toHaveAttribute("alt", "a tall blue gradient");
  await p.ctx.close();
});
