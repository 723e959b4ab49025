// GIFs: each in a box that fits it, the bubble hugging it, opened large with
// the keyboard, still under reduced motion, and checked for size before upload.
import { expect, test } from "@playwright/test";
import { SHOTS, useServer, createRoom, enterRoom, makeGif, messages, person, sendGif } from "./support";

const live = useServer({ GIF_MAX_BYTES: String(1024 * 1024) });

test("tall and wide GIFs fit their box, and the lightbox works with the keyboard", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Mia" });
  const b = await person(browser, live.server, { name: "Noah" });
  await createRoom(a.page, "GIF wall");
  await enterRoom(b.page, "GIF wall");
  await sendGif(a.page, "tall.gif", makeGif(200, 800, 4));
  await sendGif(a.page, "wide.gif", makeGif(1200, 200, 4));
  const gifs = messages(b.page).getByTestId("gif");
  await expect(gifs).toHaveCount(2);
  await expect(gifs.getByTestId("gif-animated")).toHaveCount(2);

  for (const [i, [w, h]] of [[200, 800], [1200, 200]].entries()) {
    const gif = gifs.nth(i);
    const img = gif.getByTestId("gif-animated");
    await expect(img).toHaveJSProperty("complete", true);
    const box = (await img.boundingBox())!;
    expect(box.width).toBeLessThanOrEqual(321);
    expect(box.height).toBeLessThanOrEqual(321);
    expect(Math.max(box.width, box.height)).toBeGreaterThan(315);
    expect(Math.abs(box.width / box.height - w! / h!)).toBeLessThan(0.05);
    // The bubble hugs the image.
    const bubble = (await gif.locator("xpath=ancestor::div[contains(@class,'bubble')]").boundingBox())!;
    expect(bubble.width - box.width).toBeLessThan(14);
  }
  await b.page.screenshot({ path: `${SHOTS}room-gifs.png` });

  // Keyboard: Tab to the GIF, Enter opens it large, Escape closes it and
  // gives the focus back.
  const open = gifs.nth(1).getByRole("button", { name: /Open the GIF/ });
  await open.focus();
  await b.page.keyboard.press("Enter");
  const lightbox = b.page.getByRole("dialog");
  await expect(lightbox).toBeVisible();
  const large = (await lightbox.getByTestId("gif-animated").boundingBox())!;
  expect(large.width).toBeGreaterThan(600);
  await b.page.screenshot({ path: `${SHOTS}lightbox.png` });
  // Download saves the original GIF.
  const [saved] = await Promise.all([b.page.waitForEvent("download"), lightbox.getByTestId("gif-download").click()]);
  expect(saved.suggestedFilename()).toMatch(/\.gif$/);
  const { readFileSync } = await import("node:fs");
  expect(readFileSync((await saved.path())!).subarray(0, 6).toString("latin1")).toBe("GIF89a");
  // The arrow keys go through the room's GIFs: the tall one is before.
  await expect(lightbox.getByTestId("gif-next")).toBeDisabled();
  await b.page.keyboard.press("ArrowLeft");
  await expect(async () => {
    const shown = (await b.page.getByRole("dialog").getByTestId("gif-animated").boundingBox())!;
    expect(shown.height).toBeGreaterThan(shown.width);
  }).toPass();
  await expect(b.page.getByRole("dialog").getByTestId("gif-previous")).toBeDisabled();
  await b.page.getByRole("dialog").getByTestId("gif-next").click();
  await expect(async () => {
    const shown = (await b.page.getByRole("dialog").getByTestId("gif-animated").boundingBox())!;
    expect(shown.width).toBeGreaterThan(shown.height);
  }).toPass();
  await b.page.keyboard.press("Escape");
  await expect(lightbox).toHaveCount(0);
  await expect(open).toBeFocused();
  await a.ctx.close();
  await b.ctx.close();
});

test("a small GIF with a long description opens in a lightbox about its own size", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Pim" });
  await createRoom(a.page, "Tiny");
  const alt = "a very small animated dot that moves from the left edge to the right edge and back again, looping forever";
  await sendGif(a.page, "dot.gif", makeGif(24, 24, 4), alt);
  await messages(a.page).getByRole("button", { name: /Open the GIF/ }).click();
  const lightbox = a.page.getByRole("dialog");
  await expect(lightbox).toBeVisible();
  const media = (await lightbox.getByTestId("gif-animated").boundingBox())!;
  const box = (await lightbox.boundingBox())!;
  expect(media.width).toBeGreaterThan(90); // drawn 4× its size
  // The description wraps under it: the lightbox is a short line wide, not the window.
  expect(box.width).toBeLessThan(480);
  await expect(lightbox.locator("figcaption")).toContainText("looping forever");
  const caption = (await lightbox.locator("figcaption").boundingBox())!;
  expect(caption.x).toBeGreaterThanOrEqual(box.x);
  expect(caption.x + caption.width).toBeLessThanOrEqual(box.x + box.width);
  await a.page.screenshot({ path: `${SHOTS}lightbox-small.png` });
  await a.ctx.close();
});

test("with reduced motion no GIF animates until asked to", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Olga" });
  const b = await person(browser, live.server, { name: "Pia", reducedMotion: "reduce" });
  await createRoom(a.page, "Calm room");
  await enterRoom(b.page, "Calm room");
  await sendGif(a.page, "moving.gif", makeGif(160, 120, 6));
  const gif = messages(b.page).getByTestId("gif");
  await expect(gif).toBeVisible();
  // A still (the server's poster, or the first frame drawn here when it has
  // none), no animated image at all.
  const still = gif.getByTestId("gif-still");
  await expect(still).toBeVisible();
  await expect(messages(b.page).getByTestId("gif-animated")).toHaveCount(0);
  await expect(messages(b.page).locator("picture, img[src$='.gif'], img[src$='.webp']")).toHaveCount(0);
  const painted = await still.evaluate(async (el: HTMLElement) => {
    for (let i = 0; i < 50; i++) {
      if (el instanceof HTMLImageElement) {
        if (el.complete && el.naturalWidth > 0) return true;
      } else if (el instanceof HTMLCanvasElement) {
        const px = el.getContext("2d")!.getImageData(0, 0, el.width, el.height).data;
        if (px.some((v, j) => j % 4 === 3 && v > 0)) return true;
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
    return false;
  });
  expect(painted).toBe(true);
  const play = gif.getByRole("button", { name: "Play the GIF" });
  await play.click();
  await expect(gif.getByTestId("gif-animated")).toBeVisible();
  await gif.getByRole("button", { name: "Pause the GIF" }).click();
  await expect(gif.getByTestId("gif-animated")).toHaveCount(0);
  // The lightbox respects it too.
  await gif.getByRole("button", { name: /Open the GIF/ }).click();
  await expect(b.page.getByRole("dialog").getByTestId("gif-still")).toBeVisible();
  await b.page.keyboard.press("Escape");
  await a.ctx.close();
  await b.ctx.close();
});

test("a GIF over the limit is refused before uploading, with the limit stated", async ({ browser }) => {
  const a = await person(browser, live.server, { name: "Quin" });
  await createRoom(a.page, "Big files");
  const uploads: string[] = [];
  a.page.on("request", (r) => { if (r.url().includes("/gifs")) uploads.push(r.url()); });
  const big = Buffer.concat([makeGif(16, 16, 1), Buffer.alloc(1200 * 1024, 1)]);
  await a.page.getByTestId("gif-input").setInputFiles({ name: "huge.gif", mimeType: "image/gif", buffer: big });
  await expect(a.page.getByTestId("composer-error")).toHaveText("That GIF is too large: the limit is 1 MB.");
  // Refused before the description is even asked for.
  await expect(a.page.getByTestId("gif-upload")).toHaveCount(0);
  expect(uploads).toHaveLength(0);
  // Not a GIF inside, whatever its name: refused before the dialog too.
  await a.page.getByTestId("gif-input").setInputFiles({ name: "fake.gif", mimeType: "image/gif", buffer: Buffer.from("not a gif at all") });
  await expect(a.page.getByTestId("composer-error")).toContainText("“fake.gif” is not a GIF");
  await expect(a.page.getByTestId("gif-upload")).toHaveCount(0);
  expect(uploads).toHaveLength(0);
  await a.ctx.close();
});
