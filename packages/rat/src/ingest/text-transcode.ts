import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { decompressionProblem, openDecompressed } from './decompressed.js';
import { type ProbedFile, readHead, SAMPLE_BYTES } from './file-probe.js';
import type { TextEncoding } from './ingest-options.js';
import { InputFileError } from './input-file-error.js';

/**
 * Whether text in this encoding is decoded by rat (decodedText): neither DuckDB's CSV reader (its
 * `encoding` option takes utf-8, utf-16 little-endian and latin-1) nor Node's Buffer decodes it.
 */
export function needsDecoder(encoding: TextEncoding): encoding is 'utf-16be' | 'windows-1252' {
  return encoding === 'utf-16be' || encoding === 'windows-1252';
}

/**
 * Bytes as text, by the WHATWG Encoding Standard's decoder (https://encoding.spec.whatwg.org/):
 * a character split between two chunks is kept whole, and UTF-16's byte-order mark is dropped.
 */
export async function* decodedText(chunks: AsyncIterable<Buffer>, encoding: 'utf-16be' | 'windows-1252'): AsyncGenerator<string> {
  const decoder = new TextDecoder(encoding);
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true });
    if (text !== '') yield text;
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

/**
 * A UTF-8 copy (at `out`) of a CSV file in an encoding DuckDB's reader lacks (needsDecoder), as the
 * file to read instead: decompressed and decoded. Lines stay lines, so line numbers, hash and
 * display name stay the file's.
 */
export async function csvInUtf8(file: ProbedFile, encoding: 'utf-16be' | 'windows-1252', out: string): Promise<ProbedFile> {
  const sink = createWriteStream(out);
  const { stream, close } = openDecompressed(file.localPath, file.compression);
  try {
    for await (const text of decodedText(stream as AsyncIterable<Buffer>, encoding)) {
      if (!sink.write(text)) await once(sink, 'drain');
    }
  } catch (error) {
    if (file.compression === 'none') throw error;
    throw new InputFileError('INGEST_FILE_INVALID', file.display, {}, decompressionProblem(file.compression, error), { cause: error });
  } finally {
    close();
    sink.end();
    await once(sink, 'close');
  }
  return { ...file, localPath: out, compression: 'none', encoding: 'utf-8', sample: await readHead(out, SAMPLE_BYTES, false) };
}
