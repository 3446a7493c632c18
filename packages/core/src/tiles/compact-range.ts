/**
 * The right edge of an RFC 9162 tree: the roots of the complete subtrees that a size decomposes
 * into, largest first. With it, a monitor that reads every entry once recomputes each new root by
 * itself, in O(log n) memory, and so needs to trust no hash the log serves.
 */
import { EMPTY_ROOT, leafHash, nodeHash } from '../merkle/hash.ts';

export class CompactRange {
  size: number;
  /** complete-subtree roots, leftmost (largest) first */
  readonly hashes: Uint8Array[];

  constructor(size = 0, hashes: Uint8Array[] = []) {
    let bits = 0;
    for (let n = size; n > 0; n = Math.floor(n / 2)) bits += n % 2;
    if (bits !== hashes.length) throw new Error(`a compact range of size ${size} has ${bits} hashes, got ${hashes.length}`);
    this.size = size;
    this.hashes = hashes;
  }

  appendLeafHash(h: Uint8Array): void {
    let hash = h;
    // Each trailing 1 bit of the old size is a subtree the new leaf completes.
    for (let n = this.size; n % 2 === 1; n = Math.floor(n / 2)) hash = nodeHash(this.hashes.pop()!, hash);
    this.hashes.push(hash);
    this.size++;
  }

  appendEntry(entry: Uint8Array): void {
    this.appendLeafHash(leafHash(entry));
  }

  root(): Uint8Array {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let h = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) h = nodeHash(this.hashes[i]!, h);
    return h;
  }

  toJSON(): { size: number; hashes: string[] } {
    return { size: this.size, hashes: this.hashes.map((h) => Buffer.from(h).toString('base64')) };
  }

  static fromJSON(j: { size: number; hashes: string[] }): CompactRange {
    return new CompactRange(j.size, j.hashes.map((h) => new Uint8Array(Buffer.from(h, 'base64'))));
  }
}
