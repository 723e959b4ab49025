// Two people in two browser contexts, against the real server on a fresh database.
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Person, Server } from "../tests/server";

const SHOTS = fileURLToPath(new URL("../test-results/screenshots/", import.meta.url));
const GIF = readFileSync(fileURLToPath(new URL("./fixtures/wave.gif", import.meta.url)));

let server: Server;

test.beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = new Server();
  await server.start({ ROOM_EMPTY_GRACE_SECS: "600" });
});

test.afterAll(async () => {
  await server.dispose();
});

async function person(browser: Browser, locale = "en-US", width = 1100): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ locale, viewport: { width, height: 800 }, baseURL: server.base });
  const page = await ctx.newPage();
  await page.goto("/");
  await expect(page.getByTestId("connection-banner")).toHaveCount(0);
  return { ctx, page };
}

function messages(page: Page) {
  return page.getByTestId("messages");
}

async function say(page: Page, text: string) {
  const box = page.getByTestId("composer-input");
  await box.fill(text);
  await box.press("Enter");
  await expect(messages(page).getByText(text, { exact: true })).toBeVisible();
}

test("two people share a secret room from creation to deletion", async ({ browser }) => {
  const a = await person(browser);
  const b = await person(browser);

  await test.step("A creates a secret room and B sees it appear live", async () => {
    await a.page.getByLabel("Title").fill("Night owls");
    await a.page.getByLabel("Password (optional, makes it secret)").fill("hoot");
    await a.page.getByRole("button", { name: "Create" }).click();
    await expect(a.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
    const row = b.page.getByTestId("room-row").filter({ hasText: "Night owls" });
    await expect(row).toBeVisible();
    await expect(row).toContainText("🔒");
    await expect(row).toContainText("1/10");
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
  });

  await test.step("they chat both ways", async () => {
    await say(a.page, "anyone awake?");
    await expect(messages(b.page).getByText("anyone awake?")).toBeVisible();
    await say(b.page, "always <b>awake</b>");
    await expect(messages(a.page).getByText("always <b>awake</b>")).toBeVisible();
  });

  await test.step("a whisper is marked and reaches its recipient", async () => {
    const bName = (await b.page.getByTestId("my-name").textContent()) ?? "";
    await a.page.getByTestId("whisper-to").selectOption({ label: `🤫 ${bName}` });
    await say(a.page, "just between us");
    const got = messages(b.page).getByTestId("message").filter({ hasText: "just between us" });
    await expect(got).toHaveClass(/whisper/);
    await a.page.getByTestId("whisper-to").selectOption({ label: "Everyone" });
  });

  await test.step("the typing indicator shows", async () => {
    await b.page.getByTestId("composer-input").pressSequentially("typing", { delay: 20 });
    await expect(a.page.getByTestId("typing")).toContainText("is typing");
    await b.page.getByTestId("composer-input").fill("");
  });

  await test.step("A uploads a GIF and B sees it, laid out at its size", async () => {
    await a.page.getByTestId("gif-input").setInputFiles({ name: "wave.gif", mimeType: "image/gif", buffer: GIF });
    const img = b.page.getByTestId("messages").locator("img");
    await expect(img).toBeVisible();
    await expect(img).toHaveAttribute("width", "48");
    await expect(img).toHaveAttribute("height", "32");
  });

  await test.step("a file that is not a GIF gets a clear error", async () => {
    await a.page.getByTestId("gif-input").setInputFiles({ name: "fake.gif", mimeType: "image/gif", buffer: Buffer.from("not a gif at all") });
    await expect(a.page.getByTestId("composer-error")).toHaveText("That file is not a GIF.");
  });

  await test.step("screenshots: a room, in English", async () => {
    await a.page.screenshot({ path: `${SHOTS}room-en.png`, fullPage: true });
  });

  await test.step("a reload mid-conversation loses nothing", async () => {
    await say(a.page, "before reload");
    await b.page.reload();
    await expect(b.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
    for (const text of ["anyone awake?", "always <b>awake</b>", "before reload"]) {
      await expect(messages(b.page).getByText(text, { exact: true })).toHaveCount(1);
    }
    await expect(messages(b.page).locator("img")).toHaveCount(1);
  });

  await test.step("a dropped socket reconnects and fills the gap", async () => {
    const roomId = b.page.url().split("/rooms/")[1] ?? "";
    await server.stop();
    await expect(b.page.getByTestId("connection-banner")).toBeVisible();
    await server.start({ ROOM_EMPTY_GRACE_SECS: "600" });
    // Posted the moment the server is back, whether or not B has reconnected.
    const poster = new Person(server);
    poster.cookie = (await a.ctx.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    for (const text of ["gap 1", "gap 2", "gap 3"]) await poster.call("POST", `/api/rooms/${roomId}/chats`, { text });
    await expect(b.page.getByTestId("connection-banner")).toHaveCount(0);
    for (const text of ["gap 1", "gap 2", "gap 3"]) {
      await expect(messages(b.page).getByText(text, { exact: true })).toHaveCount(1);
    }
    await say(b.page, "back online");
    await expect(messages(a.page).getByText("back online")).toBeVisible();
  });

  await test.step("A kicks B, and B is told", async () => {
    await expect(a.page.getByTestId("member-list").locator("li")).toHaveCount(2);
    const bName = await b.page.getByTestId("my-name").textContent();
    await a.page.getByRole("button", { name: `Remove: ${bName}` }).click();
    await expect(b.page.getByText("You were removed from the room.")).toBeVisible();
    await expect(b.page.getByTestId("room-list")).toBeVisible();
    await expect(a.page.getByTestId("member-list").locator("li")).toHaveCount(1);
  });

  await test.step("screenshots: the lobby, in English", async () => {
    await b.page.screenshot({ path: `${SHOTS}lobby-en.png`, fullPage: true });
  });

  await test.step("the room vanishes from the lobby when deleted", async () => {
    await expect(b.page.getByTestId("room-row").filter({ hasText: "Night owls" })).toBeVisible();
    await a.page.getByRole("button", { name: "Delete room" }).click();
    await expect(a.page.getByText("The room was deleted.")).toBeVisible();
    await expect(b.page.getByTestId("room-row").filter({ hasText: "Night owls" })).toHaveCount(0);
  });

  await a.ctx.close();
  await b.ctx.close();
});

test("Korean and phone-width screenshots", async ({ browser }) => {
  const host = await person(browser, "ko-KR");
  await expect(host.page.getByRole("heading", { name: "채팅방 생성" })).toBeVisible();
  await host.page.getByLabel("방 제목").fill("고양이 GIF");
  await host.page.getByRole("button", { name: "생성" }).click();
  await expect(host.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await say(host.page, "안녕하세요!");
  await host.page.getByTestId("gif-input").setInputFiles({ name: "wave.gif", mimeType: "image/gif", buffer: GIF });
  await expect(messages(host.page).locator("img")).toBeVisible();

  const guest = await person(browser, "ko-KR");
  await expect(guest.page.getByTestId("room-row").filter({ hasText: "고양이 GIF" })).toBeVisible();
  await guest.page.screenshot({ path: `${SHOTS}lobby-ko.png`, fullPage: true });
  await guest.page.getByRole("button", { name: "입장: 고양이 GIF" }).click();
  await expect(guest.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await expect(host.page.getByTestId("messages")).toContainText("님이 입장하셨습니다.");
  await say(guest.page, "반가워요");
  await host.page.screenshot({ path: `${SHOTS}room-ko.png`, fullPage: true });

  const dark = await browser.newContext({ colorScheme: "dark", viewport: { width: 1100, height: 800 }, baseURL: server.base });
  const darkPage = await dark.newPage();
  await darkPage.goto(host.page.url());
  await expect(darkPage.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await darkPage.screenshot({ path: `${SHOTS}room-dark.png`, fullPage: true });
  await dark.close();

  const phone = await person(browser, "en-US", 360);
  await phone.page.screenshot({ path: `${SHOTS}lobby-phone.png`, fullPage: true });
  await phone.page.getByRole("button", { name: "Join: 고양이 GIF" }).click();
  await expect(phone.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await say(phone.page, "hello from a phone");
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await phone.page.screenshot({ path: `${SHOTS}room-phone.png`, fullPage: true });

  // Keyboard alone: Tab reaches the composer and Enter sends.
  await phone.page.getByTestId("composer-input").focus();
  await phone.page.keyboard.type("typed with keys");
  await phone.page.keyboard.press("Enter");
  await expect(messages(host.page).getByText("typed with keys")).toBeVisible();
});
