// Living messages between two people: reply, react, edit and delete, seen
// live by the other and still right after a reload.
import { expect, test } from "@playwright/test";
import { SHOTS, createRoom, enterRoom, makeGif, messages, person, say, sendGif } from "./support";
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
