/**
 * Decompresses one LZ4 frame (the LZ4 frame format, version 01): what Arrow IPC files written with
 * LZ4 buffer compression hold in each buffer. Dependent and independent blocks, stored (uncompressed)
 * blocks, and the optional content size, dictionary id and checksums are handled; checksums are
 * skipped, not verified (the Arrow reader checks the buffer lengths). Corrupt input throws an Error
 * naming what is wrong, never reads or writes out of bounds.
 */
export function decodeLz4Frame(input: Uint8Array): Uint8Array {
  const fail = (problem: string): never => {
    throw new Error(`corrupt LZ4 frame: ${problem}`);
  };
  if (input.length < 7 || input[0] !== 0x04 || input[1] !== 0x22 || input[2] !== 0x4d || input[3] !== 0x18) fail('no LZ4 frame magic number');
  const flags = input[4]!;
  if (flags >> 6 !== 1) fail(`unknown frame version ${flags >> 6}`);
  const blockChecksums = (flags & 0x10) !== 0;
  const contentSize = (flags & 0x08) !== 0;
  const dictionaryId = (flags & 0x01) !== 0;
  let at = 6 + (contentSize ? 8 : 0) + (dictionaryId ? 4 : 0) + 1;
  const declared = contentSize ? Number(new DataView(input.buffer, input.byteOffset + 6, 8).getBigUint64(0, true)) : undefined;
  // LZ4 expands at most about 255 times: a larger declared size is damage, not a size to allocate.
  if (declared !== undefined && declared > input.length * 255 + 64) fail(`its header declares ${declared} bytes from ${input.length}`);
  let out = new Uint8Array(declared ?? Math.max(64, input.length * 4));
  let size = 0;
  /** Makes room for `more` bytes after the first `used`. */
  const room = (used: number, more: number) => {
    if (used + more <= out.length) return;
    const grown = new Uint8Array(Math.max(out.length * 2, used + more));
    grown.set(out.subarray(0, used));
    out = grown;
  };
  const word = () => {
    if (at + 4 > input.length) fail('it ends inside a block header');
    const value = (input[at]! | (input[at + 1]! << 8) | (input[at + 2]! << 16) | (input[at + 3]! << 24)) >>> 0;
    at += 4;
    return value;
  };
  for (;;) {
    const header = word();
    if (header === 0) break;
    const length = header & 0x7fffffff;
    if (at + length > input.length) fail('a block runs past the end of the data');
    if (header & 0x80000000) {
      room(size, length);
      out.set(input.subarray(at, at + length), size);
      size += length;
    } else {
      size = decodeBlock(input, at, at + length, size, room, () => out, fail);
    }
    at += length + (blockChecksums ? 4 : 0);
  }
  if (declared !== undefined && size !== declared) fail(`it holds ${size} bytes, its header says ${declared}`);
  return out.subarray(0, size);
}

/** One LZ4 block's sequences (literals, then a match into what is already decoded), appended at `size`; the new size. */
function decodeBlock(input: Uint8Array, start: number, end: number, size: number, room: (used: number, more: number) => void, output: () => Uint8Array, fail: (problem: string) => never): number {
  let at = start;
  const length = (base: number) => {
    let n = base;
    if (base === 15) {
      let byte: number;
      do {
        if (at >= end) fail('a length runs past the end of its block');
        byte = input[at++]!;
        n += byte;
      } while (byte === 255);
    }
    return n;
  };
  while (at < end) {
    const token = input[at++]!;
    const literals = length(token >> 4);
    if (at + literals > end) fail('literals run past the end of their block');
    room(size, literals);
    output().set(input.subarray(at, at + literals), size);
    size += literals;
    at += literals;
    // The last sequence of a block has literals only.
    if (at === end) break;
    if (at + 2 > end) fail('a match offset runs past the end of its block');
    const offset = input[at]! | (input[at + 1]! << 8);
    at += 2;
    if (offset === 0 || offset > size) fail(`a match refers ${offset} bytes back, before the start of the data`);
    const match = length(token & 15) + 4;
    room(size, match);
    const out = output();
    // Byte by byte: a match may overlap the bytes it writes (a repeated pattern).
    for (let from = size - offset, k = 0; k < match; k++) out[size++] = out[from + k]!;
  }
  return size;
}
