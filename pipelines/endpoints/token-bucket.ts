// A token bucket that hands out reservations: a caller takes what it needs at once (the balance may
// go negative) and waits until the refill has paid the debt. Callers are served in call order, a
// request larger than the bucket still goes through (it just waits longer), and an estimate can be
// settled afterwards with the real amount.

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  /**
   * @param ratePerSecond tokens added per second
   * @param capacity the most tokens the bucket holds (the largest burst)
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${ratePerSecond}`);
    if (!(capacity > 0)) throw new RangeError(`capacity must be > 0, got ${capacity}`);
    this.tokens = capacity;
    this.updatedAt = now();
  }

  /** Takes `amount` tokens now and returns how many milliseconds to wait before using them. */
  reserve(amount: number): number {
    this.refill();
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.ratePerSecond) * 1000;
  }

  /** Gives back (positive) or charges more (negative) tokens, e.g. estimate minus reported usage. */
  adjust(amount: number): void {
    this.refill();
    this.tokens = Math.min(this.capacity, this.tokens + amount);
  }

  /**
   * Hands nothing out for `ms`, then refills from empty (one token ready when the time is up):
   * after a server's "retry after", whatever burst the bucket had saved would be refused again.
   */
  holdFor(ms: number): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 1 - (ms / 1000) * this.ratePerSecond);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
  }
}
