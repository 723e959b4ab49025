// The socket client against the real server: resume, reconnect, envelopes.
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Chat, Room, ServerEnvelope } from "../src/api/client";
import { PROBE_MS, SocketClient, type SocketLike, type Status } from "../src/socket";
import { Person, serverForEachTest, until } from "./server";

const live = serverForEachTest();

function clientFor(person: Person): { client: SocketClient; seen: ServerEnvelope[]; statuses: Status[] } {
  const client = new SocketClient({
    url: `ws://127.0.0.1:${live.server.port}/api/ws`,
    open: (url) => new WebSocket(url, { headers: { cookie: person.cookie } }) as unknown as SocketLike,
  });
  const seen: ServerEnvelope[] = [];
  const statuses: Status[] = [];
  client.on((env) => seen.push(env));
  client.onStatus((s) => statuses.push(s));
  return { client, seen, statuses };
}

const chatsIn = (seen: ServerEnvelope[], room: string): Chat[] =>
  seen.flatMap((e) => (e.type === "chat" && e.data.chat.room_id === room ? [e.data.chat] : []));

describe("SocketClient", () => {
  it("reconnects after a server restart and fills the gap exactly once", async () => {
    const alice = new Person(live.server);
    const bob = new Person(live.server);
    await alice.call("GET", "/api/me");
    await bob.call("GET", "/api/me");
    const { room } = await alice.call<{ room: Room }>("POST", "/api/rooms", { title: "restart" });
    const { client, seen, statuses } = clientFor(bob);
    client.start();
    await until(() => client.status === "open", "open");
    client.join(room.id, 0);
    await until(() => seen.some((e) => e.type === "joined"), "joined");
    for (let i = 0; i < 3; i++) await alice.call("POST", `/api/rooms/${room.id}/chats`, { text: `before ${i}` });
    await until(() => chatsIn(seen, room.id).filter((c) => c.kind === "text").length === 3, "3 chats");

    await live.server.stop();
    await until(() => statuses.includes("reconnecting"), "reconnecting");
    await live.server.start();
    // Posted while bob may or may not be back yet: replay or live, never both.
    for (let i = 0; i < 5; i++) await alice.call("POST", `/api/rooms/${room.id}/chats`, { text: `after ${i}` });
    await until(() => chatsIn(seen, room.id).some((c) => c.text === "after 4"), "the last chat");
    await until(() => client.status === "open", "reopened");

    const seqs = chatsIn(seen, room.id).map((c) => c.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const texts = chatsIn(seen, room.id).flatMap((c) => (c.text ? [c.text] : []));
    expect(texts).toEqual(["before 0", "before 1", "before 2", "after 0", "after 1", "after 2", "after 3", "after 4"]);
    client.stop();
  });

  it("gives up a connection that stops answering within the probe time, and resumes once it answers", async () => {
    const alice = new Person(live.server);
    await alice.call("GET", "/api/me");
    const { room } = await alice.call<{ room: Room }>("POST", "/api/rooms", { title: "silent" });
    const { client, seen, statuses } = clientFor(alice);
    client.start();
    await until(() => client.status === "open", "open");
    const ref = client.join(room.id, 0);
    await until(() => seen.some((e) => e.type === "ack" && (e as { ref?: string }).ref === ref), "the join's ack");

    // The server is frozen: its socket stays open, nothing comes back.
    live.server.pause(true);
    const frozenAt = Date.now();
    // Whatever was already on its way has arrived before the probe goes.
    await new Promise((r) => setTimeout(r, 200));
    client.probe();
    await until(() => client.status === "reconnecting", "given up", PROBE_MS + 4000);
    const after = Date.now() - frozenAt;
    expect(after).toBeGreaterThanOrEqual(PROBE_MS);
    expect(after).toBeLessThan(PROBE_MS + 2500);

    live.server.pause(false);
    await until(() => client.status === "open", "reopened");
    await alice.call("POST", `/api/rooms/${room.id}/chats`, { text: "after the silence" });
    await until(() => chatsIn(seen, room.id).some((c) => c.text === "after the silence"), "the chat");
    expect(statuses).toEqual(["open", "reconnecting", "open"]);
    client.stop();
  }, 30_000);

  it("reconnects at once when asked, without waiting out its backoff", async () => {
    const alice = new Person(live.server);
    await alice.call("GET", "/api/me");
    let attempts = 0;
    const client = new SocketClient({
      // Left to itself, it would wait a minute before trying again.
      backoff: () => 60_000,
      url: `ws://127.0.0.1:${live.server.port}/api/ws`,
      open: (url) => { attempts++; return new WebSocket(url, { headers: { cookie: alice.cookie } }) as unknown as SocketLike; },
    });
    // Not started: asking does nothing.
    client.reconnectNow();
    expect(attempts).toBe(0);
    client.start();
    await until(() => client.status === "open", "open");
    await live.server.stop();
    await until(() => client.status === "reconnecting", "reconnecting");
    await live.server.start();
    expect(attempts).toBe(1);
    client.reconnectNow();
    expect(attempts).toBe(2);
    await until(() => client.status === "open", "reopened", 3000);
    // Asked again while open, it does nothing.
    client.reconnectNow();
    expect(attempts).toBe(2);
    client.stop();
  }, 30_000);

  it("resumes from history it already has without duplicating it", async () => {
    const alice = new Person(live.server);
    await alice.call("GET", "/api/me");
    const { room } = await alice.call<{ room: Room }>("POST", "/api/rooms", { title: "history" });
    for (let i = 0; i < 10; i++) await alice.call("POST", `/api/rooms/${room.id}/chats`, { text: `m${i}` });
    const page = await alice.call<{ chats: Chat[] }>("GET", `/api/rooms/${room.id}/chats?limit=5`);
    const last = page.chats.at(-1)?.seq ?? 0;
    expect(last).toBe(10);
    const { client, seen } = clientFor(alice);
    client.start();
    await until(() => client.status === "open", "open");
    client.join(room.id, last);
    await until(() => chatsIn(seen, room.id).length > 0, "alice's joined system chat");
    await alice.call("POST", `/api/rooms/${room.id}/chats`, { text: "new" });
    await until(() => chatsIn(seen, room.id).some((c) => c.text === "new"), "the new chat");
    expect(chatsIn(seen, room.id).map((c) => c.seq)).toEqual([11, 12]);
    client.stop();
  });

  it("stops rejoining a room it was kicked from, and reports errors with their ref", async () => {
    const owner = new Person(live.server);
    const bob = new Person(live.server);
    await owner.call("GET", "/api/me");
    const me = await bob.call<{ user: { id: string } }>("GET", "/api/me");
    const { room } = await owner.call<{ room: Room }>("POST", "/api/rooms", { title: "kick" });
    const { client, seen } = clientFor(bob);
    client.start();
    await until(() => client.status === "open", "open");
    client.join(room.id);
    await until(() => seen.some((e) => e.type === "joined"), "joined");
    await owner.call("POST", `/api/rooms/${room.id}/kick`, { user_id: me.user.id });
    await until(() => seen.some((e) => e.type === "kicked"), "kicked");

    await live.server.stop();
    await live.server.start();
    await until(() => client.status === "open", "reopened");
    const ref = client.join("0123456789abcdef0123456789abcdef");
    await until(() => seen.some((e) => e.type === "error"), "an error");
    const err = seen.find((e) => e.type === "error") as (ServerEnvelope & { ref?: string }) | undefined;
    expect(err?.type === "error" && err.data.code).toBe("not_found");
    expect(err?.ref).toBe(ref);
    expect(seen.filter((e) => e.type === "joined")).toHaveLength(1);
    client.stop();
  });
});
