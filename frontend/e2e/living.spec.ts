// Living messages between two people: reply, react, edit and delete, seen
// live by the other and still right after a reload.
import { expect, test } from "@playwright/test";
import { SHOTS, createRoom, enterRoom, messages, person, say } from "./support";
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
