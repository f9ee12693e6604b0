/**
 * A small seeded pseudo-random generator (mulberry32): training draws every random number (weight
 * initialisation, shuffling, augmentation) from it, so a seed fixes the run on any backend.
 */

/** A seeded source of uniform numbers in `[0, 1)` with helpers used by training. */
export class SeededRandom {
  private state: number;

  /** @example const random = new SeededRandom(42); random.next(); */
  constructor(seed: number) {
    // Mix the seed once so nearby seeds (1, 2, 3…) start far apart.
    this.state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x85ebca6b) >>> 0;
  }

  /** A uniform number in `[0, 1)`. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in `[0, n)`. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniform number in `[low, high)`. */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** A standard normal number (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}
