/** What a client may spend: cost units refilled every second, up to a burst. */
export interface BudgetSettings {
  perSecond: number;
  burst: number;
}

/** The outcome of a charge: what remains, and when refused, how long until it would pass. */
export type Charge = { ok: true; remaining: number } | { ok: false; remaining: number; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was computed, ms (the clock's). */
  at: number;
}

/**
 * A token bucket per client: each holds up to `burst` cost units and gains `perSecond` every
 * second; an operation takes its cost from its client's bucket, or is refused (and takes
 * nothing) when the bucket holds less.
 *
 * Memory stays bounded: buckets are kept in the order they were last used; each charge drops
 * the least recently used bucket when it has refilled (a full bucket is the same as none), and
 * at `maxClients` the least recently used is dropped whatever it holds (that client starts
 * again with a full bucket: only when more than `maxClients` clients spend at once).
 */
export class CostBudgets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly settings: BudgetSettings,
    private readonly now: () => number = () => performance.now(),
    readonly maxClients = 10_000,
  ) {}

  /** Takes `cost` (at most `burst`: more never fits) from the client's bucket, if it holds that much. */
  charge(client: string, cost: number): Charge {
    const now = this.now();
    const { perSecond, burst } = this.settings;
    const bucket = this.buckets.get(client);
    let tokens = burst;
    if (bucket) {
      tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      this.buckets.delete(client);
    }
    this.evict(now);
    const ok = tokens >= cost;
    if (ok) tokens -= cost;
    this.buckets.set(client, { tokens, at: now });
    if (ok) return { ok, remaining: Math.floor(tokens) };
    return {
      ok,
      remaining: Math.floor(tokens),
      retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / perSecond)),
    };
  }

  /** Clients with a bucket (for tests). */
  get size(): number {
    return this.buckets.size;
  }

  private evict(now: number): void {
    const { perSecond, burst } = this.settings;
    for (const [client, bucket] of this.buckets) {
      const full = bucket.tokens + ((now - bucket.at) / 1000) * perSecond >= burst;
      if (full || this.buckets.size >= this.maxClients) this.buckets.delete(client);
      else break;
      if (!full) break;
    }
  }
}
