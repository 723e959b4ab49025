// GIF uploads in the outbox: one that cannot reach the server waits and goes
// again with the same client_id; one the server refuses fails for good.
import { describe, expect, it } from "vitest";
import { ApiError, type Chat } from "../src/api/client";
import { canRetry, Outbox, type OutGif, type Transport } from "../src/outbox";

function fakeTransport(answers: (() => Promise<Chat>)[]): { transport: Transport; ids: string[] } {
  const ids: string[] = [];
  const transport: Transport = {
    postText: () => Promise.reject(new Error("not used here")),
    postRepost: () => Promise.reject(new Error("not used here")),
    postGif: (item: OutGif) => {
      ids.push(item.client_id);
      const next = answers.shift();
      return next ? next() : Promise.reject(new Error("no answer left"));
    },
  };
  return { transport, ids };
}

const chat = { seq: 1, kind: "gif" } as unknown as Chat;
const tick = () => new Promise((ok) => setTimeout(ok, 0));
globalThis.URL.createObjectURL ??= () => "blob:x";
globalThis.URL.revokeObjectURL ??= () => {};

describe("Outbox GIF uploads", () => {
  it("keeps an upload that could not reach the server and sends it again on kick, with the same client_id", async () => {
    const { transport, ids } = fakeTransport([
      () => Promise.reject(new ApiError(0, "unavailable", "network error")),
      () => Promise.reject(new ApiError(503, "unavailable", "down")),
      () => Promise.resolve(chat),
    ]);
    const box = new Outbox(transport, null);
    box.start("u1");
    const sent: Chat[] = [];
    box.onSent((_i, c) => sent.push(c));
    const item = box.addGif("r1", new Blob(["GIF89a"], { type: "image/gif" }));
    await tick();
    expect(box.items()[0]).toMatchObject({ state: "pending", waiting: true });
    expect(box.items()[0]?.error).toBeUndefined();
    box.kick();
    await tick();
    expect(box.items()[0]).toMatchObject({ state: "pending", waiting: true });
    box.kick();
    await tick();
    expect(sent).toEqual([chat]);
    expect(box.items()).toHaveLength(0);
    expect(ids).toEqual([item.client_id, item.client_id, item.client_id]);
  });

  it("fails an upload the server refuses for what it is, with no retry offered", async () => {
    const { transport } = fakeTransport([() => Promise.reject(new ApiError(415, "unsupported_media_type", "not a GIF"))]);
    const box = new Outbox(transport, null);
    box.start("u1");
    box.addGif("r1", new Blob(["PNG"], { type: "image/gif" }));
    await tick();
    const [failed] = box.items();
    expect(failed).toMatchObject({ state: "failed", waiting: false, error: { code: "unsupported_media_type", status: 415 } });
    expect(canRetry(failed?.error)).toBe(false);
    expect(canRetry({ code: "rate_limited", message: "", fields: {}, status: 429 })).toBe(true);
    box.discard(failed!.client_id);
  });
});
