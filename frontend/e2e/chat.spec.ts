// Two people in two browser contexts, against the real server on a fresh database.
import { expect, test } from "@playwright/test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SHOTS, useServer, createRoom, messages, person, say, sendGif } from "./support";

const WAVE = readFileSync(fileURLToPath(new URL("./fixtures/wave.gif", import.meta.url)));

const live = useServer();

test("two people share a secret room from creation to deletion", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Alice" });
  const b = await person(browser, live.server, { name: "Bob" });

  await test.step("A creates a secret room and B sees it appear live", async () => {
    await createRoom(a.page, "Night owls", "hoot");
    const row = b.page.getByTestId("room-row").filter({ hasText: "Night owls" });
    await expect(row).toBeVisible();
    await expect(row).toContainText("🔒");
    await expect(row).toContainText("1/10");
    await expect(row).toContainText("Alice");
  });

  await test.step("B is refused with a wrong password and gets in with the right one", async () => {
    await b.page.getByRole("button", { name: "Join: Night owls" }).click();
    const dialog = b.page.getByRole("dialog");
    await dialog.getByLabel("Password", { exact: true }).fill("tweet");
    await dialog.getByRole("button", { name: "Enter" }).click();
    await expect(dialog.getByRole("alert")).toHaveText("Wrong password.");
    expect(b.page.url()).not.toContain("hoot");
    await dialog.getByLabel("Password", { exact: true }).fill("hoot");
    await dialog.getByRole("button", { name: "Enter" }).click();
    await expect(b.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
    expect(b.page.url()).not.toContain("hoot");
    await expect(a.page.getByTestId("member-list").locator("li")).toHaveCount(2);
    await expect(a.page.getByTestId("messages")).toContainText("Bob joined.");
    await expect(b.page.getByTestId("messages")).toContainText("You joined.");
  });

  await test.step("they chat both ways; text stays text and links are safe links", async () => {
    await say(a.page, "anyone awake?");
    await expect(messages(b.page).getByText("anyone awake?")).toBeVisible();
    await say(b.page, "always <b>awake</b> see https://example.com/owls?x=1. or javascript:alert(1)");
    const got = messages(a.page).getByTestId("message").filter({ hasText: "always <b>awake</b>" });
    await expect(got).toBeVisible();
    await expect(got.locator("b")).toHaveCount(0);
    const links = got.getByRole("link");
    await expect(links).toHaveCount(1);
    await expect(links).toHaveAttribute("href", "https://example.com/owls?x=1");
    await expect(links).toHaveAttribute("target", "_blank");
    await expect(links).toHaveAttribute("rel", "noopener noreferrer");
  });

  await test.step("consecutive messages are grouped under one name", async () => {
    await say(b.page, "second in a row");
    await say(b.page, "third in a row");
    await expect(messages(a.page).getByTestId("author").filter({ hasText: "Bob" })).toHaveCount(1);
    await expect(messages(a.page).getByRole("separator").filter({ hasText: "Today" })).toHaveCount(1);
  });

  await test.step("a whisper shows a clear bar, is marked, and reaches only its recipient", async () => {
    await a.page.getByRole("button", { name: "Whisper: Bob" }).click();
    await expect(a.page.getByTestId("whisper-bar")).toHaveText(/Whispering to Bob/);
    await expect(a.page.getByTestId("composer-input")).toBeFocused();
    await say(a.page, "just between us");
    const got = messages(b.page).getByTestId("message").filter({ hasText: "just between us" });
    await expect(got).toHaveClass(/whisper/);
    await expect(got).toContainText("whisper to you");
    // The sender is named once, as the author, not again in the whisper's tag.
    await expect(got).toHaveText(/^Alice(?!.*Alice)/);
    await a.page.getByRole("button", { name: "Stop whispering" }).click();
    await expect(a.page.getByTestId("whisper-bar")).toHaveCount(0);
  });

  await test.step("the typing indicator shows", async () => {
    await b.page.getByTestId("composer-input").pressSequentially("typing", { delay: 20 });
    await expect(a.page.getByTestId("typing")).toContainText("Bob is typing");
    await b.page.getByTestId("composer-input").fill("");
  });

  await test.step("A uploads a GIF and B sees it, laid out at its size", async () => {
    await sendGif(a.page, "wave.gif", WAVE);
    const img = b.page.getByTestId("messages").getByTestId("gif-animated");
    await expect(img).toBeVisible();
    await expect(img).toHaveAttribute("width", "48");
    await expect(img).toHaveAttribute("height", "32");
  });

  await test.step("a reload mid-conversation loses nothing", async () => {
    await say(a.page, "before reload");
    await b.page.reload();
    await expect(b.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
    for (const text of ["anyone awake?", "second in a row", "before reload"]) {
      await expect(messages(b.page).getByText(text, { exact: true })).toHaveCount(1);
    }
    await expect(messages(b.page).getByTestId("gif-animated")).toHaveCount(1);
  });

  await test.step("a dropped socket reconnects and fills the gap", async () => {
    const roomId = b.page.url().split("/rooms/")[1] ?? "";
    const notices = await messages(b.page).locator(".system").allTextContents();
    await live.server.stop();
    await expect(b.page.getByTestId("connection-banner")).toBeVisible();
    await live.server.start({ ROOM_EMPTY_GRACE_SECS: "600" });
    // Posted the moment the server is back, whether or not B has reconnected.
    for (const text of ["gap 1", "gap 2", "gap 3"]) await a.api.call("POST", `/api/rooms/${roomId}/chats`, { text });
    await expect(b.page.getByTestId("connection-banner")).toHaveCount(0);
    for (const text of ["gap 1", "gap 2", "gap 3"]) {
      await expect(messages(b.page).getByText(text, { exact: true })).toHaveCount(1);
    }
    await say(b.page, "back online");
    await expect(messages(a.page).getByText("back online")).toBeVisible();
    // A restart is no leave and no join: nobody is announced either way.
    expect(await messages(b.page).locator(".system").allTextContents()).toEqual(notices);
  });

  await test.step("handing over asks first; cancelling changes nothing", async () => {
    await a.page.getByRole("button", { name: "Make owner: Bob" }).click();
    const ask = a.page.getByRole("dialog", { name: "Make Bob the owner?" });
    await expect(ask).toBeVisible();
    await expect(ask.getByRole("button", { name: "Cancel" })).toBeFocused();
    await ask.getByRole("button", { name: "Cancel" }).click();
    await expect(ask).toHaveCount(0);
    await expect(a.page.getByRole("button", { name: "Delete room" })).toBeVisible();
  });

  await test.step("screenshots: a room, in English", async () => {
    await a.page.screenshot({ path: `${SHOTS}room-en.png` });
  });

  await test.step("A removes B after confirming, and B is told", async () => {
    await a.page.getByRole("button", { name: "Remove: Bob" }).click();
    await a.page.getByRole("dialog", { name: "Remove Bob?" }).getByRole("button", { name: "Remove" }).click();
    await expect(b.page.getByText("You were removed from the room.")).toBeVisible();
    await expect(b.page.getByTestId("room-list")).toBeVisible();
    await expect(a.page.getByTestId("member-list").locator("li")).toHaveCount(1);
  });

  await test.step("screenshots: the lobby, in English", async () => {
    await b.page.screenshot({ path: `${SHOTS}lobby-en.png`, fullPage: true });
  });

  await test.step("the room vanishes from the lobby when deleted, after confirming", async () => {
    await expect(b.page.getByTestId("room-row").filter({ hasText: "Night owls" })).toBeVisible();
    await a.page.getByRole("button", { name: "Delete room" }).click();
    const ask = a.page.getByRole("dialog", { name: "Delete “Night owls”?" });
    await ask.getByRole("button", { name: "Delete room" }).click();
    await expect(a.page.getByText("The room was deleted.")).toBeVisible();
    await expect(b.page.getByTestId("room-row").filter({ hasText: "Night owls" })).toHaveCount(0);
  });

  await a.ctx.close();
  await b.ctx.close();
});
