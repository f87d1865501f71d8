import { open } from 'node:fs/promises';

/**
 * Walks the frames and block headers of a Zstandard file without decompressing it (RFC 8878 §3.1),
 * and returns the offset where the data ends too early, or undefined when every frame is complete.
 * DuckDB reads a truncated .zst file without complaint and returns the rows it got: this check is
 * what makes such a file fail instead of landing half its rows.
 */
export async function findZstdTruncation(path: string): Promise<{ offset: number; problem: string } | undefined> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(18);
    const read = async (offset: number, length: number): Promise<Buffer | undefined> => {
      if (offset + length > size) return undefined;
      await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, length);
    };
    let offset = 0;
    while (offset < size) {
      const magicBytes = await read(offset, 4);
      if (!magicBytes) return { offset, problem: 'the file ends inside a frame header (truncated zstd)' };
      const magic = magicBytes.readUInt32LE(0);
      if ((magic & 0xfffffff0) === 0x184d2a50) {
        // Skippable frame (§3.1.2): 4-byte size, then that many bytes.
        const length = await read(offset + 4, 4);
        if (!length) return { offset, problem: 'the file ends inside a skippable frame (truncated zstd)' };
        offset += 8 + length.readUInt32LE(0);
        if (offset > size) return { offset: size, problem: 'the file ends inside a skippable frame (truncated zstd)' };
        continue;
      }
      if (magic !== 0xfd2fb528) return { offset, problem: `no zstd frame starts here (magic 0x${magic.toString(16)}): corrupt or not zstd` };
      const descriptor = await read(offset + 4, 1);
      if (!descriptor) return { offset, problem: 'the file ends inside a frame header (truncated zstd)' };
      const fhd = descriptor[0]!;
      const contentSizeFlag = fhd >> 6;
      const singleSegment = (fhd >> 5) & 1;
      const checksum = (fhd >> 2) & 1;
      const dictionaryFlag = fhd & 3;
      const headerSize = 1 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictionaryFlag]! + [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag]!;
      offset += 4 + headerSize;
      if (offset > size) return { offset: size, problem: 'the file ends inside a frame header (truncated zstd)' };
      for (;;) {
        const header = await read(offset, 3);
        if (!header) return { offset: size, problem: 'the file ends inside a block (truncated zstd)' };
        const value = header[0]! | (header[1]! << 8) | (header[2]! << 16);
        const last = value & 1;
        const type = (value >> 1) & 3;
        const blockSize = value >>> 3;
        if (type === 3) return { offset, problem: 'reserved block type: corrupt zstd data' };
        offset += 3 + (type === 1 ? 1 : blockSize);
        if (offset > size) return { offset: size, problem: 'the file ends inside a block (truncated zstd)' };
        if (last) break;
      }
      offset += checksum ? 4 : 0;
      if (offset > size) return { offset: size, problem: 'the file ends before the frame checksum (truncated zstd)' };
    }
    return undefined;
  } finally {
    await handle.close();
  }
}
