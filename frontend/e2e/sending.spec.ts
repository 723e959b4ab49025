// Sending never duplicates: a message shows at once as pending, then sent;
// repeated Enter, a lost answer or a server restart make one chat each.
import { expect, test } from "@playwright/test";
import { SHOTS, createRoom, enterRoom, makeGif, messages, person, say, sendGif, useServer } from "./support";

const live = useServer();

type Page = { chats: { text?: string | null; seq: number; client_id?: string | null }[] };

test("with 1.5 s of latency, Enter three times and Send make exactly one message, pending then sent", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Iris" });
  const roomId = await createRoom(a.page, "Slow link");
  await a.page.route("**/api/rooms/*/chats", async (route) => {
    if (route.request().method() === "POST") await new Promise((ok) => setTimeout(ok, 1500));
    await route.continue();
  });
  const box = a.page.getByTestId("composer-input");
  await box.fill("only once please");
  await box.press("Enter");
  await box.press("Enter");
  await box.press("Enter");
  await a.page.getByRole("button", { name: "Send", exact: true }).click();
  const mine = messages(a.page).getByTestId("message").filter({ hasText: "only once please" });
  await expect(mine).toHaveCount(1);
  await expect(mine).toHaveAttribute("data-state", "pending");
  await expect(mine.getByRole("status")).toHaveText("Sending…");
  await expect(mine).toHaveAttribute("data-state", "sent", { timeout: 10_000 });
  await expect(mine).toHaveCount(1);
  await a.page.waitForTimeout(500);
  const page = await a.api.call<Page>("GET", `/api/rooms/${roomId}/chats`);
  expect(page.chats.filter((c) => c.text === "only once please")).toHaveLength(1);
  await a.page.unroute("**/api/rooms/*/chats");
  await a.ctx.close();
});

test("an answer lost on the way back is retried with the same client_id and makes one chat", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Jun" });
  const roomId = await createRoom(a.page, "Lossy link");
  let dropped = 0;
  await a.page.route("**/api/rooms/*/chats", async (route) => {
    if (route.request().method() === "POST" && dropped === 0) {
      dropped++;
      // The server gets the post and answers; the page never hears it.
      await route.fetch();
      await route.abort("connectionreset");
      return;
    }
    await route.continue();
  });
  const box = a.page.getByTestId("composer-input");
  await box.fill("said once");
  await box.press("Enter");
  const mine = messages(a.page).getByTestId("message").filter({ hasText: "said once" });
  await expect(mine).toHaveAttribute("data-state", "sent", { timeout: 15_000 });
  await expect(mine).toHaveCount(1);
  expect(dropped).toBe(1);
  const page = await a.api.call<Page>("GET", `/api/rooms/${roomId}/chats`);
  expect(page.chats.filter((c) => c.text === "said once")).toHaveLength(1);
  await a.ctx.close();
});

test("messages typed while the server is down wait, survive a reload and go out once, in order", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Kai" });
  const b = await person(browser, live.server, { name: "Lee" });
  const roomId = await createRoom(a.page, "Outage");
  await enterRoom(b.page, "Outage");
  await say(a.page, "before the outage");

  await live.server.stop();
  await expect(a.page.getByTestId("connection-banner")).toBeVisible();
  const box = a.page.getByTestId("composer-input");
  for (const text of ["offline one", "offline two", "offline three"]) {
    await box.fill(text);
    await box.press("Enter");
  }
  const waiting = messages(a.page).getByTestId("message").filter({ hasText: /offline (one|two|three)/ });
  await expect(waiting).toHaveCount(3);
  for (const row of await waiting.all()) await expect(row).toHaveAttribute("data-state", "pending");
  await expect(waiting.first().getByRole("status")).toHaveText(/Waiting for the connection…|Sending…/);
  await expect(a.page.getByTestId("offline-hint")).toBeVisible();

  // A reload while the server is away cannot even load the page…
  await a.page.reload().catch(() => {});
  await live.server.start({ ROOM_EMPTY_GRACE_SECS: "600" });
  // …and once it is back, the outbox kept in the browser sends everything once.
  await expect(async () => {
    await a.page.goto(`/rooms/${roomId}`);
    await expect(a.page.getByTestId("room")).toHaveAttribute("data-ready", "yes", { timeout: 2000 });
  }).toPass();
  for (const text of ["offline one", "offline two", "offline three"]) {
    const row = messages(a.page).getByTestId("message").filter({ hasText: text });
    await expect(row).toHaveCount(1);
    await expect(row).toHaveAttribute("data-state", "sent");
    await expect(messages(b.page).getByText(text, { exact: true })).toHaveCount(1);
  }
  await expect(a.page.getByTestId("composer-error")).toHaveCount(0);
  const page = await a.api.call<Page>("GET", `/api/rooms/${roomId}/chats`);
  const texts = page.chats.map((c) => c.text).filter((t) => t?.startsWith("offline"));
  expect(texts).toEqual(["offline one", "offline two", "offline three"]);
  expect(await a.page.evaluate(() => localStorage.getItem("gifchat:outbox"))).toBeNull();
  await a.ctx.close();
  await b.ctx.close();
});

test("a GIF upload made offline waits and goes once back online; a refused one says why without Retry; a renamed file is caught", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Mio" });
  const roomId = await createRoom(a.page, "GIF outage");
  await say(a.page, "before the GIF");

  // Offline: the upload cannot reach the server, so it waits, with no error.
  await a.ctx.setOffline(true);
  await sendGif(a.page, "offline.gif", makeGif(48, 36, 3), "sent while offline");
  const row = messages(a.page).locator("[data-testid=message].has-gif");
  await expect(row).toHaveCount(1);
  await expect(row.getByRole("status")).toHaveText(/Waiting for the connection…|Sending…/);
  // Its status is a clock, not words: the bubble is no wider than it will
  // be once sent.
  const waitingWidth = (await row.locator(".bubble").boundingBox())!.width;
  await a.page.screenshot({ path: `${SHOTS}/gif-waiting.png` });
  await a.page.waitForTimeout(1500);
  await expect(row).toHaveAttribute("data-state", "pending");
  await expect(row).not.toContainText("Something went wrong");
  await expect(row.getByRole("button", { name: "Retry" })).toHaveCount(0);
  // Back online: it goes by itself, once, under the same client_id.
  await a.ctx.setOffline(false);
  await expect(row).toHaveAttribute("data-state", "sent", { timeout: 20_000 });
  await expect(row).toHaveCount(1);
  expect(waitingWidth - (await row.locator(".bubble").boundingBox())!.width).toBeLessThan(8);
  const page = await a.api.call<{ chats: { kind: string; gif?: { alt?: string | null } | null }[] }>("GET", `/api/rooms/${roomId}/chats`);
  expect(page.chats.filter((c) => c.kind === "gif" && c.gif?.alt === "sent while offline")).toHaveLength(1);

  // Refused for what it is (415): why, Discard, and no Retry that could never work.
  await a.page.route("**/api/rooms/*/gifs", (route) => route.fulfill({
    status: 415, contentType: "application/json",
    body: JSON.stringify({ error: { code: "unsupported_media_type", message: "not a GIF", fields: {} } }),
  }));
  await sendGif(a.page, "refused.gif", makeGif(40, 30, 2), "refused one");
  const refused = messages(a.page).locator("[data-testid=message][data-state=failed]");
  await expect(refused).toHaveCount(1);
  await expect(refused).toContainText("That file is not a GIF.");
  await expect(refused.getByRole("button", { name: "Retry" })).toHaveCount(0);
  await expect(refused.getByRole("button", { name: "Discard" })).toBeVisible();
  await a.page.screenshot({ path: `${SHOTS}/gif-refused-1280.png` });
  await a.page.setViewportSize({ width: 360, height: 740 });
  await expect(refused.getByRole("button", { name: "Discard" })).toBeInViewport();
  await a.page.screenshot({ path: `${SHOTS}/gif-refused-360.png` });
  await refused.getByRole("button", { name: "Discard" }).click();
  await a.page.unroute("**/api/rooms/*/gifs");

  // A PNG renamed .gif never reaches the description dialog.
  const png = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex");
  await a.page.getByTestId("gif-input").setInputFiles({ name: "photo.gif", mimeType: "image/gif", buffer: png });
  await expect(a.page.getByTestId("composer-error")).toContainText("“photo.gif” is not a GIF");
  await expect(a.page.getByTestId("gif-upload")).toHaveCount(0);
  await expect(a.page.getByTestId("composer-error")).toBeInViewport();
  await a.page.screenshot({ path: `${SHOTS}/not-gif-360.png` });
  await a.ctx.close();
});
