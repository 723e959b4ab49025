import { describe, expect, it } from "vitest";
import { backoffDelay, SeqTracker } from "../src/socket";

describe("backoffDelay", () => {
  it("grows exponentially and stays within half to all of its ceiling", () => {
    const low = [0, 1, 2, 3, 4].map((a) => backoffDelay(a, () => 0));
    const high = [0, 1, 2, 3, 4].map((a) => backoffDelay(a, () => 1));
    expect(low).toEqual([250, 500, 1000, 2000, 4000]);
    expect(high).toEqual([500, 1000, 2000, 4000, 8000]);
  });

  it("is capped, so a long outage is retried every few seconds", () => {
    expect(backoffDelay(30, () => 1)).toBe(15_000);
    expect(backoffDelay(30, () => 0)).toBe(7_500);
  });

  it("spreads clients out with jitter", () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(3)));
    expect(delays.size).toBeGreaterThan(40);
  });
});

describe("SeqTracker", () => {
  it("accepts each seq once per room and only moving forward", () => {
    const t = new SeqTracker();
    expect(t.accept("r", 1)).toBe(true);
    expect(t.accept("r", 1)).toBe(false);
    expect(t.accept("r", 3)).toBe(true);
    expect(t.accept("r", 2)).toBe(false);
    expect(t.accept("other", 1)).toBe(true);
    expect(t.since("r")).toBe(3);
  });

  it("starts from history loaded over HTTP", () => {
    const t = new SeqTracker();
    t.advance("r", 50);
    expect(t.accept("r", 50)).toBe(false);
    expect(t.accept("r", 51)).toBe(true);
    t.forget("r");
    expect(t.since("r")).toBeUndefined();
  });
});
