/**
 * Non-negative integer key → slot index, open addressing over typed arrays. On the counting
 * hot path it replaces Map<number, number>: no hashing of boxed numbers, no allocation.
 */
export class IntSlotMap {
  private keys: Int32Array;
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 256) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.keys = new Int32Array(n);
    this.slots = new Int32Array(n);
    this.mask = n - 1;
  }

  /** The slot of `key` (0 <= key < 2^31 - 1), or -1. */
  get(key: number): number {
    const stored = key + 1;
    let i = (Math.imul(key, 0x9e3779b1) >>> 20) & this.mask;
    for (;;) {
      const k = this.keys[i]!;
      if (k === stored) return this.slots[i]!;
      if (k === 0) return -1;
      i = (i + 1) & this.mask;
    }
  }

  set(key: number, slot: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.rehash();
    const stored = key + 1;
    let i = (Math.imul(key, 0x9e3779b1) >>> 20) & this.mask;
    for (;;) {
      const k = this.keys[i]!;
      if (k === 0) {
        this.keys[i] = stored;
        this.slots[i] = slot;
        this.size++;
        return;
      }
      if (k === stored) {
        this.slots[i] = slot;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  private rehash(): void {
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    this.keys = new Int32Array(oldKeys.length * 2);
    this.slots = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== 0) this.set(oldKeys[i]! - 1, oldSlots[i]!);
  }
}
