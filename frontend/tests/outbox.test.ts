// The outbox against the real server: posts wait while it is down, survive a
// reload (a new Outbox on the same storage) and go out once, in order, even
// when two pages send the same items.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gifName, type Chat, type Room, type User } from "../src/api/client";
import { Outbox, type Transport } from "../src/outbox";
import { apiAs, Person, serverForEachTest, until } from "./server";

const live = serverForEachTest();

/** localStorage as a page sees it: shared by every page of one origin. */
class PageStorage implements Storage {
  private readonly map = new Map<string, string>();
  get length() { return this.map.size; }
  clear() { this.map.clear(); }
  getItem(k: string) { return this.map.get(k) ?? null; }
  key(i: number) { return [...this.map.keys()][i] ?? null; }
  removeItem(k: string) { this.map.delete(k); }
  setItem(k: string, v: string) { this.map.set(k, v); }
}

/** The web app's transport, speaking for `person`. */
function transportFor(person: Person): Transport {
  const api = apiAs(live.server, person);
  return {
    postText: async (item) => {
      const { data } = await api.POST("/api/rooms/{id}/chats", {
        params: { path: { id: item.room_id } },
        body: { text: item.text, to: item.to?.id ?? null, client_id: item.client_id },
      });
      return data!.chat;
    },
    postGif: () => Promise.reject(new Error("not used here")),
    postRepost: async (item) => {
      const { data } = await api.POST("/api/rooms/{id}/chats", {
        params: { path: { id: item.room_id } },
        body: { gif: gifName(item.gif), client_id: item.client_id, reply_to: item.reply_to ?? null },
      });
      return data!.chat;
    },
  };
}

const WAVE = readFileSync(fileURLToPath(new URL("../e2e/fixtures/wave.gif", import.meta.url)));

/** Uploads the wave as `person`, with a description. */
async function uploadWave(person: Person, roomId: string, alt: string): Promise<Chat> {
  const form = new FormData();
  form.append("alt", alt);
  form.append("gif", new Blob([WAVE], { type: "image/gif" }), "wave.gif");
  const res = await fetch(`${live.server.base}/api/rooms/${roomId}/gifs`, { method: "POST", headers: { cookie: person.cookie }, body: form });
  expect(res.status).toBe(201);
  return ((await res.json()) as { chat: Chat }).chat;
}

describe("Outbox", () => {
  it("keeps posts while the server is down and sends each once, in order, from two pages", async () => {
    const alice = new Person(live.server);
    const { user } = await alice.call<{ user: User }>("GET", "/api/me");
    const { room } = await alice.call<{ room: Room }>("POST", "/api/rooms", { title: "outage" });
    const storage = new PageStorage();
    const first = new Outbox(transportFor(alice), storage);
    first.start(user.id);

    await live.server.stop();
    for (const text of ["one", "two", "three"]) first.addText(room.id, text, null);
    await until(() => first.items()[0]?.waiting === true, "the first post to wait");
    expect(first.items().map((i) => i.state)).toEqual(["pending", "pending", "pending"]);

    // A reload: a new page reads the same storage.
    const second = new Outbox(transportFor(alice), storage);
    expect(second.items().map((i) => (i.kind === "text" ? i.text : ""))).toEqual(["one", "two", "three"]);
    const sent: Chat[] = [];
    second.onSent((_item, chat) => sent.push(chat));

    await live.server.start();
    second.start(user.id);
    first.kick();
    await until(() => second.items().length === 0 && first.items().length === 0, "both pages to send everything");

    const page = await alice.call<{ chats: Chat[] }>("GET", `/api/rooms/${room.id}/chats`);
    const texts = page.chats.filter((c) => c.kind === "text").map((c) => c.text);
    expect(texts).toEqual(["one", "two", "three"]);
    expect(sent.map((c) => c.text)).toEqual(["one", "two", "three"]);
    expect(storage.getItem("gifchat:outbox")).toBeNull();
  });

  it("keeps a GIF posted again while the server is down, in line with text, and sends it once", async () => {
    const alice = new Person(live.server);
    const { user } = await alice.call<{ user: User }>("GET", "/api/me");
    const { room } = await alice.call<{ room: Room }>("POST", "/api/rooms", { title: "reposts" });
    const first = await uploadWave(alice, room.id, "a wave");
    const storage = new PageStorage();
    const page = new Outbox(transportFor(alice), storage);
    page.start(user.id);

    await live.server.stop();
    page.addText(room.id, "look again", null);
    page.addRepost(room.id, first.gif!, first.seq);
    await until(() => page.items()[0]?.waiting === true, "the first post to wait");
    // A reload keeps both, the GIF with what it needs to be shown.
    const again = new Outbox(transportFor(alice), storage);
    expect(again.items().map((i) => i.kind)).toEqual(["text", "repost"]);

    await live.server.start();
    again.start(user.id);
    page.kick();
    await until(() => again.items().length === 0 && page.items().length === 0, "both pages to send everything");
    const chats = (await alice.call<{ chats: Chat[] }>("GET", `/api/rooms/${room.id}/chats`)).chats.filter((c) => c.kind !== "system");
    expect(chats.map((c) => c.kind)).toEqual(["gif", "text", "gif"]);
    expect(chats[2]!.gif?.url).toBe(first.gif!.url);
    expect(chats[2]!.gif?.alt).toBe("a wave");
    expect(chats[2]!.reply_to?.seq).toBe(first.seq);
  });

  it("fails a refused post alone and sends the rest", async () => {
    const alice = new Person(live.server);
    const { user } = await alice.call<{ user: User }>("GET", "/api/me");
    const { room } = await alice.call<{ room: Room }>("POST", "/api/rooms", { title: "refusals" });
    const outbox = new Outbox(transportFor(alice), new PageStorage());
    outbox.start(user.id);
    outbox.addText(room.id, "before", null);
    const refused = outbox.addText(room.id, "x".repeat(2001), null);
    outbox.addText(room.id, "after", null);
    await until(() => outbox.items().length === 1 && outbox.items()[0]?.state === "failed", "the refusal");
    const failed = outbox.items()[0]!;
    expect(failed.client_id).toBe(refused.client_id);
    expect(failed.error?.code).toBe("validation_failed");
    expect(Object.keys(failed.error?.fields ?? {})).toContain("text");

    const page = await alice.call<{ chats: Chat[] }>("GET", `/api/rooms/${room.id}/chats`);
    expect(page.chats.filter((c) => c.kind === "text").map((c) => c.text)).toEqual(["before", "after"]);
    outbox.discard(refused.client_id);
    expect(outbox.items()).toHaveLength(0);
  });
});
