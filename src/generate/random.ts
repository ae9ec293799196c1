/**
 * A small seeded pseudo-random generator for the synthetic event generator.
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128 bits of state, period of at
 * least 2^32 and in practice about 2^127) seeded through splitmix32. mulberry32 would be
 * smaller, but its 2^32 period is within reach of ten million events at a few hundred draws
 * each. Everything here is plain 32-bit integer arithmetic: the same seed gives the same
 * sequence on every platform and Node version.
 */

const HEX = "0123456789abcdef";
const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER_ALNUM = "0123456789abcdefghijklmnopqrstuvwxyz";
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, i) => HEX[i >> 4] + HEX[i & 15]);

/** Mixes any number of integers and strings into one 32-bit seed (murmur3-style finaliser). */
export function hashSeed(...parts: Array<number | string>): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = typeof part === "number" ? `#${part}` : `$${part}`;
    for (let i = 0; i < text.length; i++) {
      h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/**
 * The index of the first cumulative weight above `target` (binary search): with
 * `target = uniform × total`, a weighted pick among many items in O(log n).
 */
export function indexInCumulative(cumulative: ArrayLike<number>, target: number): number {
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (cumulative[mid] > target) high = mid;
    else low = mid + 1;
  }
  return low;
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seed: Array<number | string>) {
    // splitmix32 spreads the seed over the four words; a few rounds warm the state up.
    let s = hashSeed(...seed);
    const split = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(this.next() * items.length)];
  }

  /** One of `items`, each with its weight (linear scan: for short lists). */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    let total = 0;
    for (let i = 0; i < items.length; i++) total += weights[i];
    let target = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      target -= weights[i];
      if (target < 0) return items[i];
    }
    return items[items.length - 1];
  }

  /** One of `[value, weight]` pairs. */
  weightedPair<T>(pairs: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, weight] of pairs) total += weight;
    let target = this.next() * total;
    for (const [value, weight] of pairs) {
      target -= weight;
      if (target < 0) return value;
    }
    return pairs[pairs.length - 1][0];
  }

  /**
   * A skewed index in [0, n): index 0 is the most likely and the first few take most of the
   * draws. P(index < k) = (k/n)^(1/power); power 1 is uniform, 3 gives the first of ten
   * about 46% of the draws.
   */
  skewed(n: number, power = 2.5): number {
    return Math.min(n - 1, Math.floor(n * Math.pow(this.next(), power)));
  }

  /** A skewed pick: the first items of the list are chosen most often. */
  skewedPick<T>(items: readonly T[], power = 2.5): T {
    return items[this.skewed(items.length, power)];
  }

  /** A geometric count >= 1 with the given mean. */
  count(mean: number, max = Number.MAX_SAFE_INTEGER): number {
    if (mean <= 1) return 1;
    const p = 1 / mean;
    const n = 1 + Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
    return Math.min(max, n);
  }

  /** `n` lower-case hex digits. */
  hex(n: number): string {
    let out = "";
    while (out.length < n) {
      const x = this.uint32();
      out += BYTE_HEX[x & 255] + BYTE_HEX[(x >>> 8) & 255] + BYTE_HEX[(x >>> 16) & 255] + BYTE_HEX[x >>> 24];
    }
    return out.length === n ? out : out.slice(0, n);
  }

  /** `n` decimal digits (the first one is not 0 unless `leadingZero`). */
  digits(n: number, leadingZero = false): string {
    let out = leadingZero ? "" : String(1 + Math.floor(this.next() * 9));
    while (out.length < n) out += String(Math.floor(this.next() * 10));
    return out;
  }

  /** `n` characters from [0-9a-zA-Z]. */
  alnum(n: number): string {
    return this.chars(ALNUM, n);
  }

  /** `n` characters from [0-9a-z]. */
  lowerAlnum(n: number): string {
    return this.chars(LOWER_ALNUM, n);
  }

  chars(alphabet: string, n: number): string {
    let out = "";
    for (let i = 0; i < n; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }

  /** A random-looking version 4 UUID (lower case), fully determined by the seed. */
  uuid(): string {
    const h = this.hex(32);
    const variant = HEX[8 + (this.uint32() & 3)];
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** A child generator with its own stream, independent of how much this one is used later. */
  fork(...label: Array<number | string>): Random {
    return new Random(this.uint32(), ...label);
  }
}
