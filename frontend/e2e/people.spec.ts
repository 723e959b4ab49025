// People: names that reach every view live, colours readable in either
// theme, a phone-sized layout that works, and the screenshots.
import { expect, test, type Page } from "@playwright/test";
import { SHOTS, useServer, Person, createRoom, documentOverflow, enterRoom, inViewport, makeGif, messages, person, say, sendGif } from "./support";

const live = useServer();

test("a nickname change shows in the other person's member list, messages and lobby without a reload", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Rosa" });
  const b = await person(browser, live.server, { name: null });
  const bDefault = (await b.page.getByTestId("my-name").textContent()) ?? "";
  expect(bDefault).toMatch(/^#[0-9a-f]{6}$/);
  const watcher = await person(browser, live.server, { name: "Watcher" });
  await createRoom(b.page, "Renames");
  await enterRoom(a.page, "Renames");
  await say(b.page, "hello from a colour");
  await expect(a.page.getByTestId("member-list")).toContainText(bDefault);

  await b.page.getByTestId("my-name").click();
  const field = b.page.getByRole("textbox", { name: "Nickname" });
  await field.fill("Sam");
  await field.press("Enter");
  await expect(b.page.getByTestId("my-name")).toHaveText("Sam");

  await expect(a.page.getByTestId("member-list")).toContainText("Sam");
  await expect(a.page.getByTestId("member-list")).not.toContainText(bDefault);
  await expect(messages(a.page).getByTestId("author").filter({ hasText: "Sam" })).toHaveCount(1);
  await expect(messages(a.page)).not.toContainText(bDefault);
  await expect(watcher.page.getByTestId("room-row").filter({ hasText: "Renames" })).toContainText("Sam");
  // A later page of history has the new name too.
  await a.page.reload();
  await expect(a.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await expect(messages(a.page).getByTestId("author").filter({ hasText: "Sam" })).toHaveCount(1);
  for (const p of [a, b, watcher]) await p.ctx.close();
});

/** Every coloured name on the page, with its contrast against what is behind it. */
async function nameContrasts(page: Page): Promise<{ name: string; ratio: number }[]> {
  return page.evaluate(() => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) =>
      [r!, g!, b!].map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; })
        .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i]!, 0);
    const behind = (el: Element | null): string => {
      for (let e = el; e; e = e.parentElement) {
        const bg = getComputedStyle(e).backgroundColor;
        const parts = rgb(bg);
        if (parts.length >= 3 && (parts.length < 4 || parts[3]! > 0)) return bg;
      }
      return "rgb(255, 255, 255)";
    };
    const els = document.querySelectorAll("[data-testid=author], .member-name, .owner-name, .my-name, .whisper-bar strong");
    return [...els].map((el) => {
      const fg = lum(rgb(getComputedStyle(el).color));
      const bg = lum(rgb(behind(el.parentElement)));
      const [hi, lo] = fg > bg ? [fg, bg] : [bg, fg];
      return { name: el.textContent ?? "", ratio: (hi + 0.05) / (lo + 0.05) };
    });
  });
}

for (const scheme of ["light", "dark"] as const) {
  test(`name colours meet 4.5:1 in the ${scheme} theme`, async ({ browser }) => {
    const host = await person(browser, live.server, { name: `Host ${scheme}`, colorScheme: scheme });
    const roomId = await createRoom(host.page, `Colours ${scheme}`);
    // Ten more people, ten more colours, each saying something.
    for (let i = 0; i < 10; i++) {
      const p = new Person(live.server);
      await p.call("PATCH", "/api/me", { nickname: `Guest ${i}` });
      await p.call("POST", `/api/rooms/${roomId}/join`, {});
      await p.call("POST", `/api/rooms/${roomId}/chats`, { text: `hi from guest ${i}` });
    }
    await expect(messages(host.page).getByTestId("author")).toHaveCount(10);
    await host.page.getByRole("button", { name: "Leave" }).click();
    await expect(host.page.getByTestId("room-list")).toBeVisible();
    await host.page.goto(`/rooms/${roomId}`);
    await expect(host.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
    const measured = await nameContrasts(host.page);
    expect(measured.length).toBeGreaterThanOrEqual(11);
    for (const m of measured) expect(m.ratio, m.name).toBeGreaterThanOrEqual(4.5);
    await host.page.goto("/");
    await expect(host.page.getByTestId("room-row").first()).toBeVisible();
    const lobby = await nameContrasts(host.page);
    expect(lobby.length).toBeGreaterThan(0);
    for (const m of lobby) expect(m.ratio, m.name).toBeGreaterThanOrEqual(4.5);
    await host.ctx.close();
  });
}

test("on a phone (360×740) nothing scrolls sideways, the composer shows and the members open as a panel", async ({ browser }) => {
  const host = await person(browser, live.server, { name: "Tao" });
  const roomId = await createRoom(host.page, "A rather long room title that would otherwise wrap over several lines on a phone");
  for (let i = 1; i <= 30; i++) await host.api.call("POST", `/api/rooms/${roomId}/chats`, { text: `message number ${i} with some words to wrap` });
  await sendGif(host.page, "a.gif", makeGif(480, 270, 6));

  const phone = await person(browser, live.server, { name: "Uma", width: 360, height: 740 });
  await phone.page.screenshot({ path: `${SHOTS}lobby-phone.png`, fullPage: true });
  await phone.page.getByRole("button", { name: /^Join: A rather long/ }).click();
  await expect(phone.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await say(phone.page, "hello from a phone");
  const overflow = await documentOverflow(phone.page);
  expect(overflow.x).toBeLessThanOrEqual(0);
  expect(overflow.y).toBeLessThanOrEqual(0);
  expect(await inViewport(phone.page, "[data-testid=composer-input]")).toBe(true);
  const title = (await phone.page.getByRole("heading", { level: 1 }).boundingBox())!;
  expect(title.height).toBeLessThan(40);
  const gif = (await messages(phone.page).getByTestId("gif").boundingBox())!;
  const list = (await messages(phone.page).boundingBox())!;
  expect(gif.x + gif.width).toBeLessThanOrEqual(list.x + list.width);
  await expect(phone.page.getByTestId("member-list")).not.toBeInViewport();
  await phone.page.screenshot({ path: `${SHOTS}room-phone.png` });

  await phone.page.getByRole("button", { name: /Show members/ }).click();
  await expect(phone.page.getByTestId("member-list")).toBeInViewport();
  await expect(phone.page.getByTestId("member-list")).toContainText("Tao");
  await phone.page.waitForTimeout(300);
  await phone.page.screenshot({ path: `${SHOTS}room-phone-members.png` });
  await phone.page.getByRole("button", { name: "Hide members", exact: true }).click();
  await expect(phone.page.getByTestId("member-list")).not.toBeInViewport();

  // Keyboard alone: the composer takes the focus and Enter sends.
  await phone.page.getByTestId("composer-input").focus();
  await phone.page.keyboard.type("typed with keys");
  await phone.page.keyboard.press("Enter");
  await expect(messages(host.page).getByText("typed with keys")).toBeVisible();
  await host.ctx.close();
  await phone.ctx.close();
});

test("Korean, dark and desktop screenshots, with a real animated GIF", async ({ browser }) => {
  const host = await person(browser, live.server, { name: "민지", locale: "ko-KR" });
  await expect(host.page.getByRole("heading", { name: "채팅방 생성" })).toBeVisible();
  const roomId = await createRoom(host.page, "고양이 GIF");
  await expect(messages(host.page)).toContainText("채팅방에 입장했습니다.");
  await say(host.page, "안녕하세요! 오늘 찾은 GIF 보세요 https://example.com");
  await sendGif(host.page, "cat.gif", makeGif(320, 200, 10), "고양이가 공을 쫓는 GIF");
  await expect(messages(host.page).getByTestId("gif").getByTestId("gif-animated")).toBeVisible();
  const time = await messages(host.page).locator("time").first().textContent();
  expect(time).toMatch(/오전|오후/);
  await expect(messages(host.page).getByRole("separator").filter({ hasText: "오늘" })).toHaveCount(1);

  const guest = await person(browser, live.server, { name: "하준", locale: "ko-KR" });
  await expect(guest.page.getByTestId("room-row").filter({ hasText: "고양이 GIF" })).toBeVisible();
  await guest.page.screenshot({ path: `${SHOTS}lobby-ko.png`, fullPage: true });
  await enterRoom(guest.page, "고양이 GIF");
  await expect(messages(host.page)).toContainText("하준님이 입장하셨습니다.");
  await say(guest.page, "반가워요 😺");
  await say(host.page, "귀엽죠?");
  await host.page.screenshot({ path: `${SHOTS}room-ko.png` });

  // A validation error from the server, in Korean.
  await host.page.getByTestId("my-name").click();
  const field = host.page.getByRole("textbox", { name: "닉네임" });
  await field.fill("#2b40b1");
  await field.press("Enter");
  await expect(host.page.getByRole("alert")).toHaveText(
    "닉네임은 한 줄로, 보이는 글자 1~32자로 입력해 주세요. #2b40b1 같은 색상 코드는 쓸 수 없습니다.",
  );
  await field.press("Escape");

  const en = await person(browser, live.server, { name: "Vera" });
  await en.page.goto(`/rooms/${roomId}`);
  await expect(en.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await say(en.page, "Love it! Is that one from the park?");
  await expect(en.page.getByTestId("gif").getByTestId("gif-animated")).toHaveJSProperty("complete", true);
  await en.page.screenshot({ path: `${SHOTS}room-desktop.png` });

  const dark = await person(browser, live.server, { name: "Wren", colorScheme: "dark" });
  await dark.page.goto(`/rooms/${roomId}`);
  await expect(dark.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await dark.page.screenshot({ path: `${SHOTS}room-dark.png` });
  await dark.page.goto("/");
  await dark.page.screenshot({ path: `${SHOTS}lobby-dark.png` });
  for (const p of [host, guest, en, dark]) await p.ctx.close();
});

test("the nickname editor takes the focus with the name selected, and Escape cancels", async ({ browser }) => {
  for (const [width, height] of [[1280, 800], [360, 740]] as const) {
    const a = await person(browser, live.server, { name: "Olga", width, height });
    await a.page.getByTestId("my-name").click();
    const field = a.page.getByTestId("nickname-input");
    await expect(field).toBeFocused();
    expect(await field.evaluate((el: HTMLInputElement) => [el.selectionStart, el.selectionEnd])).toEqual([0, "Olga".length]);
    const box = (await field.boundingBox())!;
    expect(box.x >= 0 && box.x + box.width <= width).toBeTruthy();
    // Save and the language stay on screen beside it.
    for (const el of [a.page.getByRole("button", { name: "Save" }), a.page.locator(".lang select")]) {
      const r = (await el.boundingBox())!;
      expect(r.x + r.width).toBeLessThanOrEqual(width);
    }
    await a.page.screenshot({ path: `${SHOTS}/nickname-editing-${width}.png` });
    await a.page.keyboard.type("Typed over");
    await expect(field).toHaveValue("Typed over");
    await a.page.keyboard.press("Escape");
    await expect(field).toHaveCount(0);
    await expect(a.page.getByTestId("my-name")).toHaveText("Olga");
    await expect(a.page.locator("button.me")).toBeFocused();
    await a.ctx.close();
  }
});

test("the composer has the focus on entering a room and after the welcome dialog there", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Pia" });
  const roomId = await createRoom(a.page, "Focus here");
  await expect(a.page.getByTestId("composer-input")).toBeFocused();
  const b = await person(browser, live.server, { name: "Quin" });
  await enterRoom(b.page, "Focus here");
  await expect(b.page.getByTestId("composer-input")).toBeFocused();
  await b.page.keyboard.type("typed straight away");
  await expect(b.page.getByTestId("composer-input")).toHaveValue("typed straight away");

  // A first visit by a room's own address: the welcome, then the composer.
  const ctx = await browser.newContext({ baseURL: live.server.base, viewport: { width: 360, height: 740 } });
  const page = await ctx.newPage();
  await page.goto(`/rooms/${roomId}`);
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByRole("textbox").fill("Rui");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await expect(page.getByTestId("composer-input")).toBeFocused();
  await page.screenshot({ path: `${SHOTS}/welcome-then-composer-360.png` });
  for (const c of [a.ctx, b.ctx, ctx]) await c.close();
});

test("with many rooms the lobby has a search box that keeps the rooms with every word typed", async ({ browser }) => {
  const maker = await person(browser, live.server, { name: "Maker" });
  const titles = ["Night owls", "Owls at night", "Morning coffee", "Ｃａｔｓ all day", "Dogs", "Frogs", "Birds"];
  for (const title of titles) await maker.api.call("POST", "/api/rooms", { title });
  const v = await person(browser, live.server, { name: "Visitor" });
  const rows = v.page.getByTestId("room-row");
  await expect(rows.filter({ hasText: "Birds" })).toHaveCount(1);
  const search = v.page.getByTestId("room-search");
  await expect(search).toBeInViewport();
  await search.fill("night OWL");
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: "Night owls" })).toHaveCount(1);
  await expect(rows.filter({ hasText: "Owls at night" })).toHaveCount(1);
  // Full-width letters match as they read.
  await search.fill("cats");
  await expect(rows).toHaveCount(1);
  await search.fill("zebra");
  await expect(rows).toHaveCount(0);
  await expect(v.page.getByRole("status").filter({ hasText: "zebra" })).toBeVisible();
  await search.fill("");
  await expect(rows.filter({ hasText: /Night owls|Owls at night|Morning coffee|Cats|Ｃａｔｓ|Dogs|Frogs|Birds/ })).toHaveCount(7);
  await maker.ctx.close();
  await v.ctx.close();
});
