/**
 * Spaces sends out to a rate (messages per second): each caller waits for its own slot. One
 * pacer per limit; a provider with a global and a per-recipient limit uses two.
 */
export class RatePacer {
  private nextSlot = 0;
  private readonly interval: number;

  constructor(perSecond: number) {
    if (!(perSecond > 0)) throw new Error('A rate must be above zero');
    this.interval = 1000 / perSecond;
  }

  /** Resolves when the caller may send; slots are handed out in call order. */
  async wait(): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.interval;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }
}
