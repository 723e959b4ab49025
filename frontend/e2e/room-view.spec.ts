// The room as a chat client: the list is the only thing that scrolls, it
// opens at the latest message, keeps your place, and tells you about new
// messages instead of moving you.
import { expect, test, type Page } from "@playwright/test";
import { SHOTS, useServer, createRoom, documentOverflow, enterRoom, inViewport, messages, person, postMany, say } from "./support";

const live = useServer();

/** The scroll state of the message list. */
async function listScroll(page: Page) {
  return page.getByTestId("messages").evaluate((el) => ({
    top: el.scrollTop,
    height: el.scrollHeight,
    client: el.clientHeight,
    fromBottom: el.scrollHeight - el.scrollTop - el.clientHeight,
  }));
}

/** The seq of the first message row wholly inside the list's box, and its offset from the top. */
async function firstVisible(page: Page): Promise<{ seq: string; offset: number }> {
  return page.getByTestId("messages").evaluate((list) => {
    const top = list.getBoundingClientRect().top;
    for (const el of list.querySelectorAll<HTMLElement>("[data-seq]")) {
      const r = el.getBoundingClientRect();
      if (r.top >= top) return { seq: el.dataset.seq ?? "", offset: r.top - top };
    }
    return { seq: "", offset: 0 };
  });
}

test("after 100 messages the composer and the last message are on screen and only the list scrolls", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Ana" });
  const b = await person(browser, live.server, { name: "Ben" });
  const roomId = await createRoom(a.page, "Busy room");
  await enterRoom(b.page, "Busy room");
  await postMany(b.api, roomId, 100, "from Ben");
  const last = messages(a.page).getByText("from Ben 100", { exact: true });
  await expect(last).toBeVisible();
  await expect(async () => expect(await inViewport(a.page, "[data-testid=composer-input]")).toBe(true)).toPass();
  const box = await last.boundingBox();
  const list = await messages(a.page).boundingBox();
  expect(box && list && box.y >= list.y && box.y + box.height <= list.y + list.height).toBe(true);
  expect((await documentOverflow(a.page)).y).toBeLessThanOrEqual(0);
  const s = await listScroll(a.page);
  expect(s.height).toBeGreaterThan(s.client);
  expect(s.fromBottom).toBeLessThan(4);
  await a.page.screenshot({ path: `${SHOTS}room-busy.png` });
  await a.ctx.close();
  await b.ctx.close();
});

test("a room with 120 messages opens at the latest; scrolling up loads earlier pages and keeps your place", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Cleo" });
  const roomId = await createRoom(a.page, "Long history");
  await postMany(a.api, roomId, 120, "line");
  const b = await person(browser, live.server, { name: "Dev" });
  await enterRoom(b.page, "Long history");
  await expect(messages(b.page).getByText("line 120", { exact: true })).toBeInViewport();
  expect((await listScroll(b.page)).fromBottom).toBeLessThan(4);
  await expect(messages(b.page).getByText("line 1", { exact: true })).toHaveCount(0);

  // Scroll up step by step, as a wheel would; each page loads on the way.
  for (let i = 0; i < 40; i++) {
    const before = await firstVisible(b.page);
    await messages(b.page).hover();
    await b.page.mouse.wheel(0, -600);
    await b.page.waitForTimeout(120);
    // Whatever was being read is still on screen, or the view moved up by
    // no more than the wheel did.
    const row = b.page.locator(`[data-testid=messages] [data-seq="${before.seq}"]`);
    const r = await row.boundingBox();
    const list = await messages(b.page).boundingBox();
    expect(r && list && r.y - list.y - before.offset).toBeLessThanOrEqual(601);
    expect(r && list && r.y - list.y - before.offset).toBeGreaterThanOrEqual(-1);
    if ((await messages(b.page).getByText("This is the beginning of the room.").count()) > 0) break;
  }
  await expect(messages(b.page).getByText("This is the beginning of the room.")).toBeVisible();
  await expect(messages(b.page).getByText("line 1", { exact: true })).toHaveCount(1);
  await expect(messages(b.page).getByTestId("message")).toHaveCount(120);

  // A page merged while reading keeps the reader's message in place, to the pixel.
  await b.page.reload();
  await expect(b.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await expect(messages(b.page).getByText("line 120", { exact: true })).toBeInViewport();
  await b.page.route("**/api/rooms/*/chats?*before_seq*", async (route) => {
    await new Promise((ok) => setTimeout(ok, 600));
    await route.continue();
  });
  const rows = await messages(b.page).locator("[data-seq]").count();
  await messages(b.page).evaluate((el) => { el.scrollTop = 0; });
  const reading = await firstVisible(b.page);
  await expect(messages(b.page).locator("[data-seq]")).not.toHaveCount(rows);
  await expect(async () => {
    const now = await b.page.locator(`[data-testid=messages] [data-seq="${reading.seq}"]`).boundingBox();
    const list = await messages(b.page).boundingBox();
    expect(Math.abs(now!.y - list!.y - reading.offset)).toBeLessThan(2);
  }).toPass({ timeout: 3000 });
  expect((await listScroll(b.page)).top).toBeGreaterThan(500);
  await a.ctx.close();
  await b.ctx.close();
});

test("scrolled up, a new message shows the pill without moving the view; the pill goes to the latest", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Eve" });
  const b = await person(browser, live.server, { name: "Finn" });
  const roomId = await createRoom(a.page, "Pill room");
  await enterRoom(b.page, "Pill room");
  await postMany(a.api, roomId, 40, "older");
  await expect(messages(b.page).getByText("older 40", { exact: true })).toBeInViewport();
  await messages(b.page).evaluate((el) => { el.scrollTop = 200; });
  await expect(b.page.getByRole("button", { name: "Jump to the latest message" })).toBeVisible();
  const before = await listScroll(b.page);
  const anchor = await firstVisible(b.page);

  await say(a.page, "while you were reading");
  const pill = b.page.getByTestId("new-messages");
  await expect(pill).toHaveText(/1 new message/);
  const after = await listScroll(b.page);
  expect(after.top).toBe(before.top);
  expect((await firstVisible(b.page)).seq).toBe(anchor.seq);
  await say(a.page, "and another");
  await expect(pill).toHaveText(/2 new messages/);
  await b.page.screenshot({ path: `${SHOTS}room-pill.png` });

  await pill.click();
  await expect(messages(b.page).getByText("and another", { exact: true })).toBeInViewport();
  await expect(pill).toHaveCount(0);
  expect((await listScroll(b.page)).fromBottom).toBeLessThan(4);
  await postMany(a.api, roomId, 1, "pinned again");
  await expect(messages(b.page).getByText("pinned again 1", { exact: true })).toBeInViewport();
  await a.ctx.close();
  await b.ctx.close();
});

test("an unread line marks where you left off, and the tab counts what arrives while hidden", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Gus" });
  const b = await person(browser, live.server, { name: "Hana" });
  const roomId = await createRoom(a.page, "Unread room");
  await enterRoom(b.page, "Unread room");
  await say(a.page, "seen by both");
  await expect(messages(b.page).getByText("seen by both")).toBeVisible();

  // B goes away (to the lobby) and comes back after two messages.
  await b.page.getByRole("button", { name: "Leave" }).click();
  await postMany(a.api, roomId, 2, "while away");
  await enterRoom(b.page, "Unread room");
  const line = messages(b.page).getByTestId("unread-line");
  await expect(line).toBeVisible();
  const lineBox = await line.boundingBox();
  const firstUnread = await messages(b.page).getByText("while away 1", { exact: true }).boundingBox();
  const seen = await messages(b.page).getByText("seen by both", { exact: true }).boundingBox();
  expect(lineBox && firstUnread && seen && seen.y < lineBox.y && lineBox.y < firstUnread.y).toBe(true);

  // A reload with nothing new shows no line.
  await b.page.reload();
  await expect(b.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await expect(messages(b.page).getByText("while away 2")).toBeVisible();
  await expect(messages(b.page).getByTestId("unread-line")).toHaveCount(0);

  // The tab is hidden: the title counts messages from others.
  await b.page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await postMany(a.api, roomId, 3, "while hidden");
  await expect(b.page).toHaveTitle("(3) Unread room · GIF chat");
  await b.page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await expect(b.page).toHaveTitle("Unread room · GIF chat");
  const hiddenLine = messages(b.page).getByTestId("unread-line");
  const hiddenFirst = await messages(b.page).getByText("while hidden 1", { exact: true }).boundingBox();
  const l = await hiddenLine.boundingBox();
  expect(l && hiddenFirst && l.y < hiddenFirst.y).toBe(true);
  await a.ctx.close();
  await b.ctx.close();
});

test("at the bottom, the list stays pinned while the composer grows, on a desktop and a phone", async ({ browser }) => {
  for (const [width, height] of [[1280, 800], [360, 740]] as const) {
    const a = await person(browser, live.server, { name: "Ana", width, height });
    const b = await person(browser, live.server, { name: "Ben" });
    const roomId = await createRoom(a.page, `Growing ${width}`);
    await enterRoom(b.page, `Growing ${width}`);
    await postMany(b.api, roomId, 30, "earlier");
    await expect(messages(a.page).getByText("earlier 30", { exact: true })).toBeVisible();
    await say(a.page, "one sent");
    await expect.poll(async () => (await listScroll(a.page)).fromBottom).toBeLessThan(4);

    // Shift+Enter lines grow the composer and shrink the list: it keeps the newest in view.
    const box = a.page.getByTestId("composer-input");
    await box.click();
    for (let i = 0; i < 5; i++) {
      await box.type(`line ${i}`);
      await box.press("Shift+Enter");
    }
    const grown = await box.evaluate((el) => el.getBoundingClientRect().height);
    expect(grown).toBeGreaterThan(60);
    await expect.poll(async () => (await listScroll(a.page)).fromBottom).toBeLessThan(4);
    const mine = messages(a.page).getByTestId("message").filter({ hasText: "one sent" });
    await expect(mine).toBeInViewport({ ratio: 1 });

    // A reply arriving now shows at the bottom, not as a pill.
    await b.api.call("POST", `/api/rooms/${roomId}/chats`, { text: "a reply while you type" });
    const reply = messages(a.page).getByText("a reply while you type", { exact: true });
    await expect(reply).toBeVisible();
    await expect.poll(async () => (await listScroll(a.page)).fromBottom).toBeLessThan(4);
    await expect(reply).toBeInViewport({ ratio: 1 });
    await expect(a.page.getByTestId("new-messages")).toHaveCount(0);
    const r = await reply.boundingBox();
    const c = await box.boundingBox();
    expect(r!.y + r!.height).toBeLessThanOrEqual(c!.y);
    await a.page.screenshot({ path: `${SHOTS}/composer-grown-${width}.png` });
    await a.ctx.close();
    await b.ctx.close();
  }
});

test("people coming and going in a row make one line, by where each ended up, with the single lines on request", async ({ browser }) => {
  const host = await person(browser, live.server, { name: "Host" });
  await createRoom(host.page, "Comings");
  await say(host.page, "welcome all");
  const guests = [];
  for (const name of ["Ada", "Bo", "Cy", "Dee", "Eve"]) {
    const g = await person(browser, live.server, { name });
    await enterRoom(g.page, "Comings");
    guests.push(g);
  }
  const run = messages(host.page).getByTestId("system-run");
  await expect(run).toContainText("Ada, Bo, Cy, and 2 others joined.");
  // Eve leaves again before anyone speaks.
  await guests[4]!.page.getByRole("button", { name: "Leave" }).click();
  await expect(run).toHaveCount(1);
  await expect(run).toContainText("Ada, Bo, Cy, and Dee joined. Eve left.");
  // One line in the list, not six.
  await expect(messages(host.page).locator("li.system:not(.start)")).toHaveCount(2);
  const box = (await run.boundingBox())!;
  expect(box.height).toBeLessThan(48);
  await host.page.screenshot({ path: `${SHOTS}/comings-and-goings.png` });

  await run.getByRole("button", { name: "Show all 6" }).click();
  await expect(run.locator(".run-line")).toHaveText(["Ada joined.", "Bo joined.", "Cy joined.", "Dee joined.", "Eve joined.", "Eve left."]);
  await run.getByRole("button", { name: "Show less" }).click();
  await expect(run.locator(".run-line")).toHaveCount(0);

  // A message ends the run: what comes after it starts a new one.
  await say(guests[0]!.page, "hi all");
  await guests[2]!.page.getByRole("button", { name: "Leave" }).click();
  await expect(messages(host.page).getByText("Cy left.")).toBeVisible();
  await expect(run).toHaveCount(1);
  await host.ctx.close();
  for (const g of guests) await g.ctx.close();
});

test("a quote whose original is far above what is loaded fetches the pages between and shows it", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Quin" });
  const roomId = await createRoom(a.page, "Long memory");
  await postMany(a.api, roomId, 260, "old");
  const page = await a.api.call<{ chats: { seq: number; text?: string | null }[] }>("GET", `/api/rooms/${roomId}/chats?limit=200&after_seq=0`);
  const original = page.chats.find((c) => c.text === "old 3")!;
  await a.api.call("POST", `/api/rooms/${roomId}/chats`, { text: "about that one", reply_to: original.seq });
  await a.page.reload();
  await expect(a.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  // Only the latest page is here.
  await expect(messages(a.page).locator(`[data-seq="${original.seq}"]`)).toHaveCount(0);

  await messages(a.page).getByTestId("message").filter({ hasText: "about that one" }).getByTestId("quote").click();
  const row = messages(a.page).locator(`[data-seq="${original.seq}"]`);
  await expect(row).toBeInViewport();
  await expect(row).toBeFocused();
  await expect(row).toContainText("old 3");
  await a.ctx.close();
});
