/**
 * 32-bit Murmur3, x86 variant: the hash behind the bucket transform (spec Appendix B "32-bit Hash
 * Requirements"). Returns a signed 32-bit integer, as Java's Guava implementation does, so test
 * vectors from the spec compare directly.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixKey(k: number): number {
  let key = Math.imul(k, C1);
  key = (key << 15) | (key >>> 17);
  return Math.imul(key, C2);
}

function finalMix(h: number): number {
  let hash = h ^ (h >>> 16);
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

export function murmur3Hash32(bytes: Uint8Array, seed = 0): number {
  let hash = seed | 0;
  const blockEnd = bytes.length - (bytes.length % 4);
  for (let i = 0; i < blockEnd; i += 4) {
    const k = (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24);
    hash ^= mixKey(k);
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  switch (bytes.length & 3) {
    case 3:
      tail ^= (bytes[blockEnd + 2] ?? 0) << 16;
    // falls through
    case 2:
      tail ^= (bytes[blockEnd + 1] ?? 0) << 8;
    // falls through
    case 1:
      tail ^= bytes[blockEnd] ?? 0;
      hash ^= mixKey(tail);
  }
  hash ^= bytes.length;
  return finalMix(hash) | 0;
}
