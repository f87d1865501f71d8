/**
 * Decompresses one block of Snappy's raw format: the uncompressed length as a varint, then literals
 * and copies (1-, 2- and 4-byte offsets). What Avro files written with the snappy codec hold, each
 * block followed there by a CRC-32 (checked by the caller). Corrupt input throws an Error naming what
 * is wrong, never reads or writes out of bounds.
 */
export function decodeSnappy(input: Uint8Array): Uint8Array {
  const fail = (problem: string): never => {
    throw new Error(`corrupt Snappy data: ${problem}`);
  };
  let at = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= input.length || shift > 28) fail('the length header is cut off or too long');
    const byte = input[at++]!;
    length += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  // Snappy expands at most about 24 times (a 1-byte tag per 64-byte copy): a larger length is damage.
  if (length > (input.length - at) * 24 + 64) fail(`it declares ${length} bytes from ${input.length}`);
  const out = new Uint8Array(length);
  let size = 0;
  while (at < input.length) {
    const tag = input[at++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let literal = tag >> 2;
      if (literal >= 60) {
        const bytes = literal - 59;
        if (at + bytes > input.length) fail('a literal length is cut off');
        literal = 0;
        for (let k = 0; k < bytes; k++) literal += input[at + k]! * 2 ** (8 * k);
        at += bytes;
      }
      literal += 1;
      if (at + literal > input.length || size + literal > length) fail('a literal runs past the end');
      out.set(input.subarray(at, at + literal), size);
      at += literal;
      size += literal;
      continue;
    }
    let copy: number;
    let offset: number;
    if (kind === 1) {
      if (at + 1 > input.length) fail('a copy is cut off');
      copy = 4 + ((tag >> 2) & 7);
      offset = ((tag >> 5) << 8) | input[at++]!;
    } else {
      const bytes = kind === 2 ? 2 : 4;
      if (at + bytes > input.length) fail('a copy is cut off');
      copy = 1 + (tag >> 2);
      offset = 0;
      for (let k = 0; k < bytes; k++) offset += input[at + k]! * 2 ** (8 * k);
      at += bytes;
    }
    if (offset === 0 || offset > size) fail(`a copy refers ${offset} bytes back, before the start of the data`);
    if (size + copy > length) fail('a copy runs past the declared length');
    // Byte by byte: a copy may overlap the bytes it writes.
    for (let from = size - offset, k = 0; k < copy; k++) out[size++] = out[from + k]!;
  }
  if (size !== length) fail(`it holds ${size} bytes, its header says ${length}`);
  return out;
}
