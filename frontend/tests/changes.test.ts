// Edits and reactions on their way, against the real server: they wait
// while it is down and land once when it is back; a toggle made while
// another is out ends where the last click left it; a refusal fails alone.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Chat, Room } from "../src/api/client";
import { Changes, changeKey, sendChange } from "../src/room/changes";
import { apiAs, Person, serverForEachTest, until } from "./server";

const live = serverForEachTest();
const WAVE = readFileSync(fileURLToPath(new URL("../e2e/fixtures/wave.gif", import.meta.url)));

async function setUp(title: string) {
  const alice = new Person(live.server);
  await alice.call("GET", "/api/me");
  const { room } = await alice.call<{ room: Room }>("POST", "/api/rooms", { title });
  const { chat } = await alice.call<{ chat: Chat }>("POST", `/api/rooms/${room.id}/chats`, { text: "first" });
  const done: Chat[] = [];
  const api = apiAs(live.server, alice);
  const changes = new Changes({ send: (c) => sendChange(api, room.id, c) }, (c) => done.push(c), () => 0);
  const onServer = async () => (await alice.call<{ chats: Chat[] }>("GET", `/api/rooms/${room.id}/chats`)).chats.find((c) => c.seq === chat.seq)!;
  return { alice, room, chat, changes, done, onServer };
}

describe("Changes", () => {
  it("waits while the server is down and applies each change once when it is back", async () => {
    const { chat, changes, done, onServer } = await setUp("outage");
    await live.server.stop();
    changes.add({ kind: "edit", seq: chat.seq, text: "second thoughts", state: "pending" });
    changes.add({ kind: "react", seq: chat.seq, emoji: "🎉", on: true, state: "pending" });
    await until(() => [...changes.all().values()].every((c) => c.waiting), "both changes to wait");
    expect([...changes.all().values()].map((c) => c.state)).toEqual(["pending", "pending"]);

    await live.server.start();
    changes.kick();
    await until(() => changes.all().size === 0, "both changes to land");
    const now = await onServer();
    expect(now.text).toBe("second thoughts");
    expect(now.reactions).toEqual([expect.objectContaining({ emoji: "🎉", count: 1 })]);
    expect(Math.max(...done.map((c) => c.rev))).toBe(now.rev);
  });

  it("ends where the last toggle left it, however many were made while one was out", async () => {
    const { chat, changes, onServer } = await setUp("toggles");
    for (const on of [true, false, true, false, true]) changes.add({ kind: "react", seq: chat.seq, emoji: "👍", on, state: "pending" });
    await until(() => changes.all().size === 0, "the toggles to settle");
    expect((await onServer()).reactions).toEqual([expect.objectContaining({ emoji: "👍", count: 1 })]);
    for (const on of [false, true, false]) changes.add({ kind: "react", seq: chat.seq, emoji: "👍", on, state: "pending" });
    await until(() => changes.all().size === 0, "the toggles to settle");
    expect((await onServer()).reactions).toEqual([]);
  });

  it("sets a GIF chat's description, and removes it with an empty one", async () => {
    const { alice, room, changes } = await setUp("descriptions");
    const form = new FormData();
    form.append("alt", "first words");
    form.append("gif", new Blob([WAVE], { type: "image/gif" }), "wave.gif");
    const res = await fetch(`${live.server.base}/api/rooms/${room.id}/gifs`, { method: "POST", headers: { cookie: alice.cookie }, body: form });
    const { chat } = (await res.json()) as { chat: Chat };
    expect(chat.gif?.alt).toBe("first words");
    const alt = async () => (await alice.call<{ chats: Chat[] }>("GET", `/api/rooms/${room.id}/chats`)).chats.find((c) => c.seq === chat.seq)!.gif?.alt;
    changes.add({ kind: "alt", seq: chat.seq, alt: "better words", state: "pending" });
    await until(() => changes.all().size === 0, "the description to land");
    expect(await alt()).toBe("better words");
    changes.add({ kind: "alt", seq: chat.seq, alt: "", state: "pending" });
    await until(() => changes.all().size === 0, "the description to go");
    expect(await alt() ?? null).toBeNull();
    changes.add({ kind: "alt", seq: chat.seq, alt: "x".repeat(301), state: "pending" });
    const key = changeKey({ kind: "alt", seq: chat.seq });
    await until(() => changes.all().get(key)?.state === "failed", "the refusal");
    expect(Object.keys(changes.all().get(key)?.error?.fields ?? {})).toContain("alt");
  });

  it("marks a refused change failed, alone, and keeps it until it is discarded", async () => {
    const { chat, changes, onServer } = await setUp("refusals");
    changes.add({ kind: "react", seq: chat.seq, emoji: "not an emoji", on: true, state: "pending" });
    changes.add({ kind: "edit", seq: chat.seq, text: "fine", state: "pending" });
    const key = changeKey({ kind: "react", seq: chat.seq, emoji: "not an emoji" });
    await until(() => changes.all().size === 1 && changes.all().get(key)?.state === "failed", "the refusal");
    expect(changes.all().get(key)?.error?.code).toBe("validation_failed");
    expect((await onServer()).text).toBe("fine");
    changes.retry(key);
    await until(() => changes.all().get(key)?.state === "failed", "the refusal again");
    changes.discard(key);
    expect(changes.all().size).toBe(0);
  });
});
