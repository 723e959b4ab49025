// The owner's room settings: a rename, a lock and "keep" reach the other
// person at once; capacity cannot go below the people in the room.
import { expect, test } from "@playwright/test";
import { SHOTS, useServer, createRoom, enterRoom, person } from "./support";

const live = useServer();

test("the owner renames, locks and keeps a room; the guest sees it live", async ({ browser }) => {
  const host = await person(browser, live.server, { name: "Hana" });
  const guest = await person(browser, live.server, { name: "Ivo" });
  await createRoom(host.page, "Before");
  await enterRoom(guest.page, "Before");
  await expect(guest.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await expect(guest.page.getByTestId("room-settings-open")).toHaveCount(0);

  await host.page.getByTestId("room-settings-open").click();
  const form = host.page.getByTestId("room-settings");
  await expect(form).toBeVisible();
  const box = await form.boundingBox();
  const view = host.page.viewportSize()!;
  expect(box && box.y >= 0 && box.y + box.height <= view.height && box.x >= 0 && box.x + box.width <= view.width).toBeTruthy();

  // Below the two people present: refused, and said so.
  await form.getByRole("spinbutton", { name: "Capacity" }).fill("2");
  await form.getByRole("textbox", { name: "Title" }).fill("After");
  await form.getByRole("radio", { name: "Make it secret with a password" }).check();
  await form.getByLabel("Password", { exact: true }).fill("tulip");
  await form.getByRole("checkbox", { name: "Keep this room when everyone has left" }).check();
  await host.page.screenshot({ path: `${SHOTS}room-settings.png` });
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form).toBeHidden();

  for (const p of [host.page, guest.page]) {
    await expect(p.getByRole("heading", { level: 1 })).toHaveText("🔒 After");
  }
  // The guest was in the room: the new password does not lock them out.
  await guest.page.reload();
  await expect(guest.page.getByTestId("room")).toHaveAttribute("data-ready", "yes");
  await expect(guest.page.getByRole("heading", { level: 1 })).toHaveText("🔒 After");

  // On a phone the dialog fits the screen.
  await host.page.setViewportSize({ width: 360, height: 740 });
  await host.page.getByTestId("room-settings-open").click();
  await expect(form.getByRole("checkbox", { name: "Keep this room when everyone has left" })).toBeChecked();
  const small = await form.boundingBox();
  expect(small && small.x >= 0 && small.x + small.width <= 360 && small.y >= 0 && small.y + small.height <= 740).toBeTruthy();
  await host.page.screenshot({ path: `${SHOTS}room-settings-phone.png` });
  await form.getByRole("spinbutton", { name: "Capacity" }).fill("1");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.getByRole("alert")).toContainText("2 to 1000");
  await form.getByRole("button", { name: "Cancel" }).click();

  const roomId = new URL(host.page.url()).pathname.split("/").pop()!;
  const res = await host.page.request.get(`/api/rooms/${roomId}`);
  const { room } = await res.json();
  expect({ title: room.title, max_members: room.max_members, secret: room.secret, keep: room.keep })
    .toEqual({ title: "After", max_members: 2, secret: true, keep: true });
  for (const p of [host, guest]) await p.ctx.close();
});
