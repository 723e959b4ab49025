// The room as a chat app lays it out and as a flaky network treats it: few
// messages sit by the composer, losing the network says so at once, a lost
// server can be tried again by hand, and a GIF may be dropped anywhere.
import { expect, test } from "@playwright/test";
import { SHOTS, createRoom, makeGif, messages, person, say, useServer } from "./support";

const live = useServer();

for (const width of [1280, 360]) {
  test(`in a room with few messages they sit at the bottom, by the composer (${width})`, async ({ browser }) => {
    const a = await person(browser, live.server, { name: "Noa", width, height: width === 360 ? 740 : 800 });
    await createRoom(a.page, `Quiet ${width}`);
    // As a person would: the room is open and joined before anything is
    // said, so "You joined." is above the message, not after it.
    await expect(messages(a.page)).toContainText("You joined.");
    await say(a.page, "the only message");
    // Measured connected: a connection lost and being retried adds a hint
    // above the composer, which is not what this is about.
    await expect(a.page.getByTestId("offline-hint")).toHaveCount(0);
    const last = (await messages(a.page).getByTestId("message").last().boundingBox())!;
    const composer = (await a.page.getByTestId("composer-input").boundingBox())!;
    const list = (await messages(a.page).boundingBox())!;
    // The message ends just above the composer, not at the top of the list.
    expect(composer.y - (last.y + last.height)).toBeLessThan(48);
    expect(last.y - list.y).toBeGreaterThan(list.height / 2);
    // Nothing scrolls when there is nothing to scroll.
    expect(await messages(a.page).evaluate((el) => el.scrollHeight - el.clientHeight)).toBeLessThanOrEqual(1);
    await a.page.screenshot({ path: `${SHOTS}/few-messages-${width}.png` });
    await a.ctx.close();
  });
}

test("losing the network says so at once, and coming back reconnects and sends what waited", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Oli" });
  const roomId = await createRoom(a.page, "Flaky");
  await say(a.page, "online");

  await a.ctx.setOffline(true);
  const banner = a.page.getByTestId("connection-banner");
  await expect(banner).toContainText("You are offline", { timeout: 2000 });
  await a.page.screenshot({ path: `${SHOTS}/offline-banner.png` });
  const box = a.page.getByTestId("composer-input");
  await box.fill("typed offline");
  await box.press("Enter");
  await expect(messages(a.page).getByTestId("message").filter({ hasText: "typed offline" })).toHaveAttribute("data-state", "pending");
  // One of two waiting messages is thought better of: it never goes.
  await box.fill("never mind this");
  await box.press("Enter");
  const second = messages(a.page).getByTestId("message").filter({ hasText: "never mind this" });
  await second.getByRole("button", { name: "Discard" }).click();
  await expect(second).toHaveCount(0);

  await a.ctx.setOffline(false);
  await expect(banner).toHaveCount(0, { timeout: 3000 });
  await expect(messages(a.page).getByTestId("message").filter({ hasText: "typed offline" })).toHaveAttribute("data-state", "sent");
  const page = await a.api.call<{ chats: { text?: string | null }[] }>("GET", `/api/rooms/${roomId}/chats`);
  expect(page.chats.filter((c) => c.text === "typed offline")).toHaveLength(1);
  expect(page.chats.filter((c) => c.text === "never mind this")).toHaveLength(0);
  await a.ctx.close();
});

test("while the server is away the banner offers Try now, which reconnects without waiting", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Pia" });
  // The longest waits of the backoff: tries at about 0.5, 1.5, 3.5 and 7.5 s.
  await a.page.evaluate(() => { Math.random = () => 1; });
  await createRoom(a.page, "Restart");
  let sockets = 0;
  a.page.on("websocket", () => { sockets++; });
  await live.server.stop();
  const banner = a.page.getByTestId("connection-banner");
  await expect(banner).toContainText("Connection lost");
  const tryNow = banner.getByTestId("reconnect-now");
  await expect(tryNow).toBeVisible();
  const box = (await tryNow.boundingBox())!;
  expect(box.x + box.width).toBeLessThanOrEqual(1280);
  await a.page.screenshot({ path: `${SHOTS}/reconnect-banner.png` });
  // Past the third try; the next would be two seconds off and more.
  await a.page.waitForTimeout(4500);
  await live.server.start({ ROOM_EMPTY_GRACE_SECS: "600" });
  const before = sockets;
  await tryNow.click();
  await expect.poll(() => sockets, { timeout: 1000 }).toBe(before + 1);
  await expect(banner).toHaveCount(0, { timeout: 1500 });
  await say(a.page, "back after the restart");
  await a.ctx.close();
});

test("a GIF dropped anywhere over the room opens its upload dialog, and the app stays", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Rio" });
  await createRoom(a.page, "Drops");
  const url = a.page.url();
  const bytes = [...makeGif(64, 48, 3)];
  // A drag from the desktop: enter over the messages, hover, drop there.
  const drag = await a.page.evaluateHandle((data) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], "dropped.gif", { type: "image/gif" }));
    return dt;
  }, bytes);
  const target = messages(a.page);
  await target.dispatchEvent("dragenter", { dataTransfer: drag });
  await target.dispatchEvent("dragover", { dataTransfer: drag });
  const pane = a.page.locator(".messages-pane");
  await expect(pane).toHaveClass(/dropping/);
  const hint = await pane.evaluate((el) => getComputedStyle(el, "::after").content);
  expect(hint).toContain("Drop a GIF");
  await a.page.screenshot({ path: `${SHOTS}/drop-over-room.png` });
  await target.dispatchEvent("drop", { dataTransfer: drag });
  await expect(pane).not.toHaveClass(/dropping/);
  const dialog = a.page.getByTestId("gif-upload");
  await expect(dialog).toBeVisible();
  await dialog.getByTestId("gif-send").click();
  await expect(messages(a.page).getByTestId("gif")).toHaveCount(1);
  expect(a.page.url()).toBe(url);

  // Dragged in and out again without dropping: the hint goes away.
  await target.dispatchEvent("dragenter", { dataTransfer: drag });
  await expect(pane).toHaveClass(/dropping/);
  await target.dispatchEvent("dragleave", { dataTransfer: drag });
  await expect(pane).not.toHaveClass(/dropping/);
  await a.ctx.close();
});

test("on a slow link the first screen says it is loading instead of staying blank", async ({ browser }) => {
  const ctx = await browser.newContext({ baseURL: live.server.base, viewport: { width: 360, height: 740 } });
  const page = await ctx.newPage();
  // The app's script takes two seconds to arrive.
  await page.route("**/assets/*.js", async (route) => {
    await new Promise((r) => setTimeout(r, 2000));
    await route.continue();
  });
  // The page itself has arrived; its script (deferred) has not.
  await page.goto("/", { waitUntil: "commit" });
  await expect(page.getByRole("status")).toHaveText("Loading…");
  await expect(page.locator(".topbar .brand")).toBeInViewport();
  await page.screenshot({ path: `${SHOTS}/first-load-slow-360.png` });
  // Then the app replaces it: the welcome dialog of a first visit.
  await expect(page.getByRole("dialog")).toBeVisible({ timeout: 10_000 });
  await expect(page.getByText("Loading…")).toHaveCount(0);
  await expect(page.locator(".topbar")).toHaveCount(1);
  await ctx.close();
});
