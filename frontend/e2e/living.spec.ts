// Living messages between two people: reply, react, edit and delete, seen
// live by the other and still right after a reload.
import { expect, test } from "@playwright/test";
import { SHOTS, contrastOf, createRoom, enterRoom, makeGif, messages, person, say, sendGif, toolsOf } from "./support";
import { useServer } from "./support";

const live = useServer();

test("reply, react, edit and delete reach the other person live and survive a reload", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Ana" });
  const b = await person(browser, live.server, { name: "Ben" });
  await createRoom(a.page, "Living");
  await enterRoom(b.page, "Living");
  await say(a.page, "the first thing I said");
  const original = messages(b.page).getByTestId("message").filter({ hasText: "the first thing I said" });
  await expect(original).toHaveCount(1);

  // Ben answers it from the message's own tools.
  await original.hover();
  await original.getByRole("button", { name: "Reply" }).click();
  await expect(b.page.getByTestId("reply-bar")).toContainText("Ana");
  await b.page.getByTestId("composer-input").fill("answering you");
  await b.page.getByTestId("composer-input").press("Enter");
  const reply = messages(a.page).getByTestId("message").filter({ hasText: "answering you" });
  await expect(reply.getByTestId("quote")).toContainText("the first thing I said");
  await expect(b.page.getByTestId("reply-bar")).toHaveCount(0);

  // And with a GIF: the upload carries the answer too.
  await original.first().hover();
  await original.first().getByRole("button", { name: "Reply" }).click();
  await sendGif(b.page, "answer.gif", makeGif(40, 30, 3));
  const gifReply = messages(a.page).locator("[data-testid=message].has-gif");
  await expect(gifReply.getByTestId("quote")).toContainText("the first thing I said");
  await expect(b.page.getByTestId("reply-bar")).toHaveCount(0);

  // Ana reacts to the reply; Ben sees the count, and his click adds his own.
  await reply.hover();
  await reply.getByRole("button", { name: "React" }).click();
  await reply.getByRole("button", { name: "🎉" }).click();
  const onB = messages(b.page).getByTestId("message").filter({ hasText: "answering you" });
  await expect(onB.getByTestId("reaction")).toHaveText(/🎉\s*1/);
  await expect(onB.getByTestId("reaction")).toHaveAttribute("aria-pressed", "false");
  // The pointer leaves the GIF it sent, whose tools cover the row above.
  await b.page.mouse.move(0, 0);
  await onB.getByTestId("reaction").click();
  await expect(reply.getByTestId("reaction")).toHaveText(/🎉\s*2/);
  await expect(onB.getByTestId("reaction")).toHaveAttribute("aria-pressed", "true");

  // Ana edits her first message with the Up arrow: Escape cancels, Enter saves.
  const box = a.page.getByTestId("composer-input");
  await box.click();
  await box.press("ArrowUp");
  await expect(a.page.getByTestId("edit-input")).toBeFocused();
  await a.page.getByTestId("edit-input").press("Escape");
  await expect(a.page.getByTestId("edit-input")).toHaveCount(0);
  await box.press("ArrowUp");
  await a.page.getByTestId("edit-input").fill("what I meant to say");
  await a.page.getByTestId("edit-input").press("Enter");
  const edited = messages(b.page).getByTestId("message").filter({ hasText: "what I meant to say" });
  await expect(edited.getByTestId("edited")).toBeVisible();
  await expect(onB.getByTestId("quote")).toContainText("what I meant to say");

  // Ana deletes it: a tombstone on both sides, and the quote says so.
  const mine = messages(a.page).locator("[data-testid=message].mine").filter({ hasText: "what I meant to say" });
  await mine.hover();
  await mine.getByRole("button", { name: "Delete" }).click();
  await mine.getByRole("button", { name: "Delete for everyone?" }).click();
  await expect(messages(b.page).getByTestId("tombstone")).toHaveCount(1);
  await expect(onB.getByTestId("quote")).toContainText("Message deleted");
  await b.page.screenshot({ path: `${SHOTS}/living-messages.png` });

  // Ben's reload shows the same.
  await b.page.reload();
  await expect(b.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await expect(messages(b.page).getByTestId("tombstone")).toHaveCount(1);
  const again = messages(b.page).getByTestId("message").filter({ hasText: "answering you" });
  await expect(again.getByTestId("reaction")).toHaveText(/🎉\s*2/);
  await expect(again.getByTestId("quote")).toContainText("Message deleted");
  // The tools sit on the message, inside the window.
  await again.hover();
  const tools = await again.getByTestId("msg-tools").boundingBox();
  const view = b.page.viewportSize()!;
  expect(tools && tools.x >= 0 && tools.x + tools.width <= view.width && tools.y >= 0).toBeTruthy();
  for (const p of [a, b]) await p.ctx.close();
});

test("the emoji picker finds any emoji by name, by keyboard, on a desktop and a phone", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Ana" });
  await createRoom(a.page, "Picking");
  await say(a.page, "pick one for me");
  const msg = messages(a.page).getByTestId("message").filter({ hasText: "pick one for me" });
  await msg.hover();
  await msg.getByRole("button", { name: "React" }).click();
  await msg.getByTestId("more-emoji").click();
  const panel = a.page.getByTestId("emoji-panel");
  await expect(panel.getByRole("button", { name: "grinning face", exact: true })).toBeVisible();
  await expect(a.page.getByTestId("emoji-search")).toBeFocused();
  // Inside the window, beside the control that opened it.
  const box = (await panel.boundingBox())!;
  const view = a.page.viewportSize()!;
  expect(box.x >= 0 && box.y >= 0 && box.x + box.width <= view.width && box.y + box.height <= view.height).toBeTruthy();
  await a.page.screenshot({ path: `${SHOTS}/emoji-picker.png` });

  // Search, then the arrow keys and Enter.
  await a.page.getByTestId("emoji-search").fill("rocket");
  await expect(panel.getByRole("button")).toHaveCount(1);
  await a.page.getByTestId("emoji-search").press("ArrowDown");
  await expect(panel.getByRole("button", { name: "rocket" })).toBeFocused();
  await a.page.keyboard.press("Enter");
  await expect(panel).toHaveCount(0);
  await expect(msg.getByTestId("reaction")).toHaveText(/🚀\s*1/);
  await expect(msg.getByTestId("reaction")).not.toHaveAttribute("data-state", "pending");

  // Escape closes it and gives the focus back; the rocket is now recently used.
  await msg.hover();
  await msg.getByRole("button", { name: "React" }).click();
  await msg.getByTestId("more-emoji").click();
  const recent = panel.getByRole("group", { name: "Recently used" });
  await expect(recent.getByRole("button").first()).toHaveAccessibleName("rocket");
  await a.page.keyboard.press("Escape");
  await expect(panel).toHaveCount(0);
  await expect(msg.getByTestId("more-emoji")).toBeFocused();

  // On a phone the picker is a sheet along the bottom of the screen.
  const p = await person(browser, live.server, { name: "Pia", width: 390, height: 844 });
  await enterRoom(p.page, "Picking");
  const onPhone = messages(p.page).getByTestId("message").filter({ hasText: "pick one for me" });
  await onPhone.click();
  await onPhone.getByRole("button", { name: "React" }).click();
  await onPhone.getByTestId("more-emoji").click();
  const sheet = (await p.page.getByTestId("emoji-panel").boundingBox())!;
  expect(sheet.x).toBe(0);
  expect(sheet.width).toBe(390);
  expect(Math.round(sheet.y + sheet.height)).toBe(844);
  await p.page.screenshot({ path: `${SHOTS}/emoji-picker-phone.png` });
  await p.page.getByTestId("emoji-panel").getByRole("button", { name: "red heart" }).first().click();
  await expect(msg.getByTestId("reaction")).toHaveCount(2);
  for (const x of [a, p]) await x.ctx.close();
});

test("edits and reactions made offline wait, go out once back online, and a refused one can be retried or discarded", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Ana" });
  const roomId = await createRoom(a.page, "Offline");
  await say(a.page, "written online");
  const msg = messages(a.page).getByTestId("message").filter({ hasText: "written online" });
  const seq = Number(await msg.getAttribute("data-seq"));

  await a.ctx.setOffline(true);
  await msg.hover();
  await msg.getByRole("button", { name: "React" }).click();
  await msg.getByRole("button", { name: "😂" }).click();
  await expect(msg.getByTestId("reaction")).toHaveAttribute("data-state", "pending");
  await expect(msg.getByTestId("reaction")).toHaveText(/😂\s*1/);
  await msg.hover();
  await msg.getByRole("button", { name: "Edit" }).click();
  await a.page.getByTestId("edit-input").fill("edited offline");
  await a.page.getByTestId("edit-input").press("Enter");
  const changed = messages(a.page).getByTestId("message").filter({ hasText: "edited offline" });
  await expect(changed).toHaveAttribute("data-change", "pending");
  await expect(changed.getByRole("status")).toHaveText("Saving…");
  await a.page.screenshot({ path: `${SHOTS}/changes-pending.png` });

  await a.ctx.setOffline(false);
  await expect(changed).not.toHaveAttribute("data-change", /.+/, { timeout: 20_000 });
  await expect(changed.getByTestId("reaction")).not.toHaveAttribute("data-state", "pending");
  await expect(changed.getByTestId("edited")).toBeVisible();
  type Page = { chats: { seq: number; text: string | null; reactions: { emoji: string; count: number }[] }[] };
  const page = await a.api.call<Page>("GET", `/api/rooms/${roomId}/chats`);
  const onServer = page.chats.find((c) => c.seq === seq)!;
  expect(onServer.text).toBe("edited offline");
  expect(onServer.reactions).toEqual([expect.objectContaining({ emoji: "😂", count: 1 })]);

  // 20 different emojis are on it; a 21st is refused, shown, and discarded.
  for (const e of ["👍", "❤️", "😮", "😢", "🎉", "🔥", "👀", "💯", "🙏", "😎", "🤔", "👏", "🥳", "😴", "🤯", "🍕", "🌮", "🐱", "🐶"]) {
    await a.api.call("PUT", `/api/rooms/${roomId}/chats/${seq}/reactions/${encodeURIComponent(e)}`);
  }
  await expect(changed.getByTestId("reaction")).toHaveCount(20);
  await changed.hover();
  await changed.getByRole("button", { name: "React" }).click();
  await changed.getByTestId("more-emoji").click();
  await a.page.getByTestId("emoji-search").fill("rocket");
  await a.page.getByTestId("emoji-search").press("Enter");
  const failed = changed.getByTestId("change-failed");
  await expect(failed).toContainText("🚀");
  await expect(changed.getByTestId("reaction")).toHaveCount(20);
  await a.page.screenshot({ path: `${SHOTS}/change-failed.png` });
  await failed.getByRole("button", { name: "Retry" }).click();
  await expect(failed).toContainText("🚀");
  await failed.getByRole("button", { name: "Discard" }).click();
  await expect(changed.getByTestId("change-failed")).toHaveCount(0);
  await a.ctx.close();
});

test("a part of the app that fails to load says so, retries, and loads by itself once back online; GIF tools open offline", async ({ browser }) => {
  for (const [width, height] of [[1280, 800], [360, 740]] as const) {
    const a = await person(browser, live.server, { name: "Ana", width, height });
    await createRoom(a.page, `Flaky ${width}`);
    await say(a.page, "react to this");
    const msg = messages(a.page).getByTestId("message").filter({ hasText: "react to this" });

    // The emoji picker's file does not arrive: said where it would be, with Try again.
    await a.page.route("**/assets/emoji-picker-*.js", (route) => route.abort("internetdisconnected"));
    await msg.click();
    await msg.getByRole("button", { name: "React" }).click();
    await msg.getByTestId("more-emoji").click();
    const failed = a.page.getByTestId("load-failed");
    await expect(failed).toBeVisible();
    await expect(failed).toContainText("did not load");
    const box = (await failed.boundingBox())!;
    expect(box.x >= 0 && box.y >= 0 && box.x + box.width <= width && box.y + box.height <= height).toBeTruthy();
    await a.page.screenshot({ path: `${SHOTS}/load-failed-${width}.png` });
    // The browser keeps the failed address; Try again still gets it.
    await a.page.unroute("**/assets/emoji-picker-*.js");
    await failed.getByRole("button", { name: "Try again" }).click();
    await expect(a.page.getByTestId("emoji-panel")).toBeVisible();
    await expect(failed).toHaveCount(0);
    await a.page.keyboard.press("Escape");

    // Offline, the room's settings cannot load; they open once the browser is back online.
    await a.ctx.setOffline(true);
    await a.page.getByTestId("room-settings-open").click();
    await expect(failed).toContainText("offline");
    // The GIF tools are part of the app itself: they open offline.
    await a.page.getByTestId("gif-input").setInputFiles({ name: "off.gif", mimeType: "image/gif", buffer: makeGif(40, 30, 2) });
    await expect(a.page.getByTestId("gif-upload")).toBeVisible();
    await a.page.getByTestId("gif-upload").getByRole("button", { name: "Cancel" }).click();
    await a.ctx.setOffline(false);
    await expect(a.page.getByRole("dialog", { name: "Room settings" })).toBeVisible({ timeout: 15_000 });
    await expect(failed).toHaveCount(0);
    await a.ctx.close();
  }
});

for (const scheme of ["light", "dark"] as const) {
  test(`in the ${scheme} theme, editing my message, my tombstone and the focus ring are readable`, async ({ browser }) => {
    const a = await person(browser, live.server, { name: "Ana", colorScheme: scheme });
    await createRoom(a.page, `Readable ${scheme}`);
    await say(a.page, "edit me please");
    await say(a.page, "delete me please");
    const seq = await messages(a.page).getByTestId("message").filter({ hasText: "edit me please" }).getAttribute("data-seq");
    const msg = messages(a.page).locator(`[data-seq="${seq}"]`);
    await msg.hover();
    await msg.getByRole("button", { name: "Edit" }).click();
    const input = msg.getByTestId("edit-input");
    await expect(input).toBeFocused();
    expect(await contrastOf(input)).toBeGreaterThanOrEqual(4.5);
    expect(await contrastOf(msg.locator(".edit-box .hint"))).toBeGreaterThanOrEqual(4.5);
    await a.page.screenshot({ path: `${SHOTS}/edit-own-${scheme}.png` });
    await input.press("Escape");

    const gone = messages(a.page).getByTestId("message").filter({ hasText: "delete me please" });
    await gone.hover();
    await gone.getByRole("button", { name: "Delete" }).click();
    await gone.getByRole("button", { name: "Delete for everyone?" }).click();
    const tomb = messages(a.page).getByTestId("tombstone");
    await expect(tomb).toBeVisible();
    expect(await contrastOf(tomb)).toBeGreaterThanOrEqual(4.5);

    // The focus ring, on the composer and on a button of the page.
    await a.page.getByTestId("composer-input").focus();
    await a.page.keyboard.press("Shift+Tab");
    const focused = a.page.locator(":focus-visible");
    await expect(focused).toHaveCount(1);
    expect(await contrastOf(focused, "outline")).toBeGreaterThanOrEqual(3);
    await a.page.getByRole("button", { name: "Leave" }).focus();
    expect(await contrastOf(a.page.locator(":focus-visible"), "outline")).toBeGreaterThanOrEqual(3);
    await a.page.screenshot({ path: `${SHOTS}/tombstone-focus-${scheme}.png` });
    await a.ctx.close();
  });
}

test("the keyboard reaches every message and its tools: one Tab stop, arrows between messages, Tab into the tools", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Ana" });
  const b = await person(browser, live.server, { name: "Ben" });
  await createRoom(a.page, "Keys");
  await enterRoom(b.page, "Keys");
  await say(b.page, "first from Ben");
  await say(b.page, "second from Ben");
  await say(a.page, "mine to edit");
  const rows = messages(a.page).locator(".msg[data-seq]");
  await expect(rows).toHaveCount(3);

  // On the list itself, Up goes to the latest message, Home to the first.
  await messages(a.page).focus();
  await a.page.keyboard.press("ArrowUp");
  await expect(rows.last()).toBeFocused();
  await messages(a.page).focus();
  await a.page.keyboard.press("Home");
  await expect(rows.first()).toBeFocused();
  await a.page.keyboard.press("End");
  await expect(rows.last()).toBeFocused();

  // Into the list, then Tab: the latest message has the focus, its tools show.
  await messages(a.page).focus();
  await a.page.keyboard.press("Tab");
  const last = rows.last();
  await expect(last).toBeFocused();
  expect((await toolsOf(last)).shown).toBe(true);
  // One stop: the others are out of the Tab order.
  expect(await rows.evaluateAll((els) => els.map((e) => (e as HTMLElement).tabIndex))).toEqual([-1, -1, 0]);

  // Up to Ben's second message; Tab reaches Reply, Enter answers it.
  await a.page.keyboard.press("ArrowUp");
  const second = rows.filter({ hasText: "second from Ben" });
  await expect(second).toBeFocused();
  const t = await toolsOf(second);
  expect(t.shown).toBe(true);
  expect(t.tools!.left).toBeGreaterThanOrEqual(t.list.left);
  expect(t.tools!.right).toBeLessThanOrEqual(t.list.right);
  expect((await toolsOf(last)).shown).toBe(false);
  await a.page.screenshot({ path: `${SHOTS}/keyboard-tools-1280.png` });
  await a.page.keyboard.press("Tab");
  await expect(second.getByRole("button", { name: "Reply" })).toBeFocused();
  await a.page.keyboard.press("Enter");
  await expect(a.page.getByTestId("reply-bar")).toContainText("Ben");
  await expect(a.page.getByTestId("composer-input")).toBeFocused();
  await a.page.keyboard.press("Escape");

  // Back into the list: the message last focused keeps the Tab stop.
  await messages(a.page).focus();
  await a.page.keyboard.press("Tab");
  await expect(second).toBeFocused();
  // End goes to mine; Tab, Tab, Tab reaches Edit.
  await a.page.keyboard.press("End");
  await expect(last).toBeFocused();
  for (const name of ["Reply", "React", "Edit"]) {
    await a.page.keyboard.press("Tab");
    await expect(last.getByRole("button", { name })).toBeFocused();
  }
  await a.page.keyboard.press("Enter");
  await expect(a.page.getByTestId("edit-input")).toBeFocused();
  await a.page.keyboard.press("Escape");
  await a.page.setViewportSize({ width: 360, height: 740 });
  await messages(a.page).focus();
  await a.page.keyboard.press("Tab");
  await a.page.keyboard.press("Home");
  const first = rows.filter({ hasText: "first from Ben" });
  await expect(first).toBeFocused();
  const f = await toolsOf(first);
  expect(f.tools!.left).toBeGreaterThanOrEqual(f.list.left);
  expect(f.tools!.right).toBeLessThanOrEqual(f.list.right);
  await a.page.screenshot({ path: `${SHOTS}/keyboard-tools-360.png` });
  await a.ctx.close();
  await b.ctx.close();
});

test("on a phone, a tap shows a message's tools (no sticky hover), and they stay inside the list", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Ana", width: 360, height: 740, touch: true });
  const b = await person(browser, live.server, { name: "Ben" });
  await createRoom(a.page, "Touch");
  await enterRoom(b.page, "Touch");
  expect(await a.page.evaluate(() => matchMedia("(hover: hover)").matches)).toBe(false);
  await say(b.page, "hi");
  await sendGif(a.page, "narrow.gif", makeGif(24, 40, 2));
  const theirs = messages(a.page).locator(".msg[data-seq]").filter({ hasText: "hi" });
  const gif = messages(a.page).locator(".msg[data-seq].has-gif");
  await expect(gif).toHaveAttribute("data-state", "sent");

  await theirs.locator(".bubble").tap();
  let t = await toolsOf(theirs);
  expect(t.shown).toBe(true);
  expect(t.tools!.left).toBeGreaterThanOrEqual(t.list.left);
  expect(t.tools!.right).toBeLessThanOrEqual(t.list.right);

  await gif.locator(".meta").tap();
  expect((await toolsOf(theirs)).shown).toBe(false);
  t = await toolsOf(gif);
  expect(t.shown).toBe(true);
  expect(t.tools!.left).toBeGreaterThanOrEqual(t.list.left);
  expect(t.tools!.right).toBeLessThanOrEqual(t.list.right);
  // With the quick reactions open it wraps, still inside, and covers
  // none of the message that was tapped.
  await gif.getByRole("button", { name: "React" }).tap();
  t = await toolsOf(gif);
  expect(t.tools!.left).toBeGreaterThanOrEqual(t.list.left);
  expect(t.tools!.right).toBeLessThanOrEqual(t.list.right);
  const bubble = (await gif.locator(".bubble").boundingBox())!;
  expect(t.tools!.bottom).toBeLessThanOrEqual(bubble.y + 1);
  expect(await messages(a.page).evaluate((el) => el.scrollLeft)).toBe(0);
  await a.page.screenshot({ path: `${SHOTS}/touch-tools-360.png` });
  await a.ctx.close();
  await b.ctx.close();
});
