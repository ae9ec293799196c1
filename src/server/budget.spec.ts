import { describe, expect, it } from "vitest";
import { CostBudgets } from "./budget";

describe("CostBudgets: a token bucket per client", () => {
  const clock = () => {
    let now = 0;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it("starts full, takes each cost, and refuses what the bucket does not hold, saying when it will", () => {
    const time = clock();
    const budgets = new CostBudgets({ perSecond: 100, burst: 1000 }, time.now);
    expect(budgets.charge("a", 600)).toEqual({ ok: true, remaining: 400 });
    expect(budgets.charge("a", 600)).toEqual({ ok: false, remaining: 400, retryAfterSeconds: 2 });
    // A refusal takes nothing.
    expect(budgets.charge("a", 400)).toEqual({ ok: true, remaining: 0 });
    expect(budgets.charge("a", 1)).toEqual({ ok: false, remaining: 0, retryAfterSeconds: 1 });
    time.advance(1500);
    expect(budgets.charge("a", 100)).toEqual({ ok: true, remaining: 50 });
    // Never more than the burst.
    time.advance(3_600_000);
    expect(budgets.charge("a", 0)).toEqual({ ok: true, remaining: 1000 });
  });

  it("keeps one bucket per client: one client's spending leaves the others theirs", () => {
    const budgets = new CostBudgets({ perSecond: 10, burst: 100 }, clock().now);
    expect(budgets.charge("greedy", 100).ok).toBe(true);
    expect(budgets.charge("greedy", 1).ok).toBe(false);
    expect(budgets.charge("other", 100)).toEqual({ ok: true, remaining: 0 });
  });

  it("holds a bounded number of buckets: refilled ones go first, then the least recently used", () => {
    const time = clock();
    const budgets = new CostBudgets({ perSecond: 10, burst: 100 }, time.now, 3);
    for (const client of ["a", "b", "c"]) budgets.charge(client, 100);
    expect(budgets.size).toBe(3);
    // At the bound, a new client pushes out the least recently used (its bucket was not refilled).
    budgets.charge("a", 0);
    budgets.charge("d", 1);
    expect(budgets.size).toBe(3);
    expect(budgets.charge("b", 100).ok).toBe(true); // b was dropped: a new, full bucket
    expect(budgets.charge("a", 1).ok).toBe(false); // a was kept, still empty
    // Buckets that have refilled are dropped as soon as another client charges.
    time.advance(60_000);
    budgets.charge("e", 1);
    expect(budgets.size).toBe(1);
  });
});
