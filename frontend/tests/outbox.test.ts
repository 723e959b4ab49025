// The outbox against the real server: posts wait while it is down, survive a
// reload (a new Outbox on the same storage) and go out once, in order, even
// when two pages send the same items.
import { describe, expect, it } from "vitest";
import { type Chat, type Room, type User } from "../src/api/client";
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
  };
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
