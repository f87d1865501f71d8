import { open } from 'node:fs/promises';
import { decompressionProblem, openDecompressed } from './decompressed.js';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';

/** What `extractRecords` wrote: the records (objects) as NDJSON, each carrying its number; the others as rejects. */
export interface ExtractedRecords {
  /** Object records written to the records file. */
  objects: number;
  /** Records that are not objects (a number, a string, an array), written to the rejects file. */
  rejected: number;
  /** Whether the path held null: a document without records, which is not an error of the file. */
  empty: boolean;
}

// Grammar states of the streaming parser: what may come next.
const VALUE = 0;
const VALUE_OR_CLOSE = 1;
const KEY_OR_CLOSE = 2;
const KEY = 3;
const COLON = 4;
const COMMA_OR_CLOSE = 5;
const END = 6;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ESCAPES = new Set([...'"\\/bfnrtu'].map((c) => c.charCodeAt(0)));
const BOM = [0xef, 0xbb, 0xbf];

interface Frame {
  array: boolean;
  /** Object: the current member's key, decoded only where it can be on the path. */
  key: string | undefined;
  /** Array: the current element's position. */
  index: number;
}

/**
 * Streams one JSON document and writes the records at `steps` (an array: each element; an object:
 * itself) to `out` as NDJSON, one compact record per line with its 1-based position as `lineKey`
 * first, so a record keeps its number through typing and the quarantine. Elements that are not
 * objects go to `rejectsOut` as `{line, reason, raw}`. With no `steps`, objects one after another
 * (jq's output) are records too, numbered in the file's order. The whole document is checked as JSON on the
 * way (with the line and byte of the first error), since a record cut off by a syntax error must
 * not land; memory stays at a chunk and the record being copied, whatever the file's size.
 */
export async function extractRecords(
  file: ProbedFile,
  steps: readonly string[],
  out: string,
  rejectsOut: string,
  lineKey: string,
  onBytesRead?: (bytes: number) => void,
  chunkBytes = 1024 * 1024,
): Promise<ExtractedRecords> {
  const where = steps.length > 0 ? `records "${steps.join('.')}"` : 'the document';
  const fail = (problem: string, position: { line?: number; byte?: number } = {}): never => {
    throw new InputFileError('INGEST_FILE_INVALID', file.display, position, problem);
  };
  const records = await open(out, 'w');
  const rejects = await open(rejectsOut, 'w');
  const output = new Output(records);
  const rejectLines: string[] = [];
  let rejectBytes = 0;
  const flushRejects = async () => {
    if (rejectLines.length === 0) return;
    await rejects.write(rejectLines.join(''));
    rejectLines.length = 0;
    rejectBytes = 0;
  };

  const stack: Frame[] = [];
  let state = VALUE;
  let line = 1;
  let offset = 0;
  // Inside a string: whether the previous byte began an escape, and hex digits still due after \u.
  let inString = false;
  let escaped = false;
  let hexDue = 0;
  let stringIsKey = false;
  let keyParts: Buffer[] | undefined;
  // Inside a number or true/false/null: its grammar state (literalStep), -1 outside; its first bytes for messages.
  let literal = -1;
  let literalChunk: Buffer | undefined;
  let literalStart = 0;
  // The last member name's bytes in its chunk, and where its ":" was: a value missing after it is named by them.
  let keyChunk: Buffer | undefined;
  let keyStart = 0;
  let keyEnd = 0;
  let colon: { line: number; byte: number } | undefined;
  // The target: found (its value started), and the depth its records start at.
  let found = false;
  let targetDone = false;
  let targetKind: 'array' | 'object' | 'null' | undefined;
  let recordDepth = -1;
  // The record being copied: its depth, number, kind, and for a non-object its raw text.
  let capturing = false;
  let captureObject = false;
  let opening = false;
  let needComma = false;
  let raw: Buffer[] = [];
  let rawFirst = 0;
  let recordNumber = 0;
  let objects = 0;
  let rejected = 0;
  const topKeys: string[] = [];
  let bomBytes = 0;
  let currentChunk: Buffer = Buffer.alloc(0);
  const position = () => ({ line, byte: offset });

  const onPath = (): boolean => {
    if (stack.length !== steps.length) return false;
    for (let i = 0; i < stack.length; i++) {
      const frame = stack[i]!;
      const step = steps[i]!;
      if (frame.array ? !/^\d+$/.test(step) || Number(step) !== frame.index : frame.key !== step) return false;
    }
    return true;
  };
  /** A value begins with `byte`: is it the target, or a record of it? */
  const valueStarts = (byte: number) => {
    if (!found && onPath()) {
      found = true;
      targetKind = byte === 0x5b ? 'array' : byte === 0x7b ? 'object' : byte === 0x6e ? 'null' : undefined;
      if (targetKind === undefined) fail(startsValue(byte) ? `${where} holds ${kindOf(byte)}, not records` : `${show(byte)} cannot start a JSON value (not JSON?)`, position());
      if (targetKind === 'array') recordDepth = stack.length + 1;
      if (targetKind === 'object') recordDepth = stack.length;
      if (targetKind === 'null') recordDepth = -1;
    }
    if (!capturing && !targetDone && stack.length === recordDepth && found) {
      capturing = true;
      recordNumber++;
      captureObject = byte === 0x7b;
      // An object record's "{" is written with its number as the first member, by copy().
      opening = captureObject;
      if (!captureObject) {
        raw = [];
        rawFirst = byte;
      }
    }
  };
  /** A value ended at the current depth. */
  const valueEnds = () => {
    state = stack.length === 0 ? END : COMMA_OR_CLOSE;
    if (capturing && stack.length === recordDepth) {
      capturing = false;
      if (captureObject) {
        output.byte(0x0a);
        objects++;
      } else {
        const text = Buffer.concat(raw).toString('utf8');
        const reason = `record ${recordNumber} of ${where} is not a JSON object but ${kindOf(rawFirst)}`;
        const entry = `${JSON.stringify({ line: recordNumber, reason, raw: text })}\n`;
        rejectLines.push(entry);
        rejectBytes += entry.length;
        rejected++;
      }
      if (targetKind === 'object') targetDone = true;
    }
    if (found && !targetDone && targetKind === 'array' && stack.length === recordDepth - 1) targetDone = true;
    if (found && targetKind === 'null' && stack.length === steps.length) targetDone = true;
  };
  const copy = (byte: number) => {
    if (!capturing) return;
    if (!captureObject) {
      raw.push(Buffer.of(byte));
      return;
    }
    if (opening) {
      opening = false;
      output.text(`{"${lineKey}":${recordNumber}`);
      needComma = true;
      return;
    }
    if (needComma) {
      needComma = false;
      if (byte !== 0x7d) output.byte(0x2c);
    }
    output.byte(byte);
  };
  /** Bytes [start, end) of a chunk inside a string or a number: no structure to follow, only to copy. */
  const run = (chunk: Buffer, start: number, end: number) => {
    if (keyParts) keyParts.push(Buffer.from(chunk.subarray(start, end)));
    if (!capturing) return;
    if (captureObject) output.bytes(chunk, start, end);
    else raw.push(Buffer.from(chunk.subarray(start, end)));
  };
  /** The number or literal read so far, up to `until` in the current chunk, for messages. */
  const literalShown = (until: number) => {
    const text = literalChunk === currentChunk ? currentChunk.toString('latin1', literalStart, Math.min(until, literalStart + 40)) : 'a number or literal';
    return text.length >= 40 ? `${text}...` : text;
  };
  const endLiteral = (until: number) => {
    if (!LITERAL_ENDS.has(literal)) fail(`${literalShown(until)} is not a JSON value`, position());
    literal = -1;
    valueEnds();
  };

  const source = openDecompressed(file.localPath, file.compression, chunkBytes);
  try {
    for await (const chunk of source.stream as AsyncIterable<Buffer>) {
      const end = chunk.length;
      currentChunk = chunk;
      for (let i = 0; i < end; i++, offset++) {
        // Runs of plain string bytes and of number or literal characters are copied whole.
        let j = i;
        if (inString && !escaped && hexDue === 0) {
          while (j < end) {
            const b = chunk[j]!;
            if (b === QUOTE || b === BACKSLASH || b < 0x20) break;
            j++;
          }
        } else if (literal >= 0) {
          while (j < end && isLiteralByte(chunk[j]!)) {
            literal = literalStep(literal, chunk[j]!);
            if (literal < 0) {
              offset += j - i;
              fail(`${literalShown(j + 1)} is not a JSON value`, position());
            }
            j++;
          }
        }
        if (j > i) {
          run(chunk, i, j);
          offset += j - i;
          i = j;
          if (i === end) break;
        }
        // The run stopped at a byte that is not part of a number or literal: it ends here.
        if (literal >= 0) endLiteral(i);
        const byte = chunk[i]!;
        if (inString) {
          if (escaped) {
            escaped = false;
            if (!ESCAPES.has(byte)) fail(`\\${String.fromCharCode(byte)} is not a JSON escape`, position());
            if (byte === 0x75) hexDue = 4;
          } else if (hexDue > 0) {
            if (!((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66))) fail('\\u must be followed by four hex digits', position());
            hexDue--;
          } else if (byte === BACKSLASH) escaped = true;
          else if (byte === QUOTE) {
            inString = false;
            copy(byte);
            if (stringIsKey) {
              const frame = stack[stack.length - 1]!;
              frame.key = keyParts ? (JSON.parse(`"${Buffer.concat(keyParts).toString('utf8')}"`) as string) : undefined;
              if (stack.length === 1 && frame.key !== undefined && topKeys.length < 12) topKeys.push(frame.key);
              keyParts = undefined;
              keyEnd = i + 1;
              state = COLON;
            } else valueEnds();
            continue;
          } else if (byte < 0x20) fail(byte === 0x0a ? 'a string runs past the end of its line (unclosed quote?)' : 'a control character inside a string', position());
          keyParts?.push(Buffer.of(byte));
          copy(byte);
          continue;
        }
        if (byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a) {
          if (byte === 0x0a) line++;
          continue;
        }
        // A UTF-8 byte-order mark before the document.
        if (offset < 3 && offset === bomBytes && byte === BOM[offset]) {
          bomBytes++;
          continue;
        }
        switch (state) {
          case END:
            // Objects one after another with nothing between them but white space (jq's output, pretty
            // printed): each is a record, read value after value, so a syntax error in any of them is
            // named where it is. Only the document itself reads so; records at a path are in one document.
            if (steps.length > 0 || targetKind !== 'object') fail(`more than one JSON value at the top level (newline-delimited JSON?): ${where} reads one JSON document`, position());
            targetDone = false;
            state = VALUE;
          // falls through: the byte starts the next record
          case VALUE:
          case VALUE_OR_CLOSE: {
            if (state === VALUE_OR_CLOSE && byte === 0x5d) {
              closeContainer(byte);
              break;
            }
            valueStarts(byte);
            const member = colon;
            colon = undefined;
            if (byte === 0x7b || byte === 0x5b) {
              copy(byte);
              stack.push({ array: byte === 0x5b, key: undefined, index: 0 });
              state = byte === 0x5b ? VALUE_OR_CLOSE : KEY_OR_CLOSE;
            } else if (byte === QUOTE) {
              copy(byte);
              inString = true;
              stringIsKey = false;
            } else if ((byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x74 || byte === 0x66 || byte === 0x6e) {
              copy(byte);
              literal = literalStep(0, byte);
              literalChunk = chunk;
              literalStart = i;
            } else if (member && (byte === 0x7d || byte === 0x2c)) missingValue(member, byte);
            else fail(`${show(byte)} cannot start a JSON value`, position());
            break;
          }
          case KEY_OR_CLOSE:
          case KEY:
            if (state === KEY_OR_CLOSE && byte === 0x7d) {
              closeContainer(byte);
              break;
            }
            if (byte !== QUOTE) fail(`expected a quoted member name, found ${show(byte)}`, position());
            copy(byte);
            inString = true;
            stringIsKey = true;
            // Keys are decoded only where the path can run; deeper ones are passed over.
            keyParts = stack.length <= steps.length ? [] : undefined;
            keyChunk = chunk;
            keyStart = i;
            break;
          case COLON:
            if (byte !== 0x3a) fail(`expected ":" after a member name, found ${show(byte)}`, position());
            copy(byte);
            colon = { line, byte: offset + 1 };
            state = VALUE;
            break;
          case COMMA_OR_CLOSE: {
            const frame = stack[stack.length - 1]!;
            if (byte === 0x2c) {
              copy(byte);
              if (frame.array) frame.index++;
              state = frame.array ? VALUE : KEY;
            } else if (byte === (frame.array ? 0x5d : 0x7d)) closeContainer(byte);
            else fail(`expected "," or "${frame.array ? ']' : '}'}", found ${show(byte)}`, position());
            break;
          }
        }
      }
      if (output.pending > 0) await output.flush();
      if (rejectBytes > 1 << 20) await flushRejects();
      onBytesRead?.(source.bytesRead());
    }
    if (literal >= 0) endLiteral(currentChunk.length);
    if (inString || stack.length > 0 || state !== END) fail(`the JSON document ends early${stack.length > 0 ? ` inside ${stack.length} unclosed ${stack[stack.length - 1]!.array ? 'array' : 'object'}(s)` : ''} (truncated file?)`, position());
    if (!found) fail(`${where} is not in the document${topKeys.length > 0 ? ` (its top-level fields: ${topKeys.join(', ')})` : ''}`);
    await output.flush(true);
    await flushRejects();
  } catch (error) {
    source.close();
    if (error instanceof InputFileError) throw error;
    if (file.compression !== 'none') throw new InputFileError('INGEST_FILE_INVALID', file.display, { byte: source.bytesRead() }, decompressionProblem(file.compression, error), { cause: error });
    throw error;
  } finally {
    await records.close();
    await rejects.close();
  }
  return { objects, rejected, empty: targetKind === 'null' };

  /** A member's ":" with no value after it (`"v": }`): named at the colon, with the member's name when its chunk is still at hand. */
  function missingValue(at: { line: number; byte: number }, found: number): never {
    const name = keyChunk === currentChunk ? currentChunk.toString('utf8', keyStart, Math.min(keyEnd, keyStart + 40)) : undefined;
    return fail(`a value is missing after ${name === undefined ? 'a member name' : `${name}${keyEnd - keyStart > 40 ? '...' : ''}`}: (found ${show(found)})`, at);
  }

  function closeContainer(byte: number): void {
    copy(byte);
    stack.pop();
    valueEnds();
  }
}

/**
 * One step of the grammar of JSON numbers and of true, false and null: the state after `byte` in
 * `state` (0 before the first byte), or -1 when `byte` cannot come there. Numbers: 1 after '-', 2
 * after a leading 0, 3 in the integer digits, 4 after '.', 5 in the fraction, 6 after 'e', 7 after its
 * sign, 8 in the exponent. The words: 10 + 8 * word + letters read.
 */
function literalStep(state: number, byte: number): number {
  const digit = byte >= 0x30 && byte <= 0x39;
  switch (state) {
    case 0:
      if (byte === 0x2d) return 1;
      if (byte === 0x30) return 2;
      if (digit) return 3;
      for (let w = 0; w < WORDS.length; w++) if (byte === WORDS[w]!.charCodeAt(0)) return 10 + 8 * w + 1;
      return -1;
    case 1:
      return byte === 0x30 ? 2 : digit ? 3 : -1;
    case 2:
    case 3:
      if (byte === 0x2e) return 4;
      if (byte === 0x65 || byte === 0x45) return 6;
      return state === 3 && digit ? 3 : -1;
    case 4:
    case 5:
      if (digit) return 5;
      return state === 5 && (byte === 0x65 || byte === 0x45) ? 6 : -1;
    case 6:
      return byte === 0x2b || byte === 0x2d ? 7 : digit ? 8 : -1;
    case 7:
    case 8:
      return digit ? 8 : -1;
    default: {
      const word = WORDS[(state - 10) >> 3]!;
      const read = (state - 10) & 7;
      return read < word.length && byte === word.charCodeAt(read) ? state + 1 : -1;
    }
  }
}

const WORDS = ['true', 'false', 'null'];
/** The states a number or word may end in. */
const LITERAL_ENDS = new Set([2, 3, 5, 8, ...WORDS.map((word, w) => 10 + 8 * w + word.length)]);

/** Digits, lower-case letters (true, false, null, exponents), '.', '+', '-' and 'E': what numbers and literals are made of. */
function isLiteralByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x2e || byte === 0x2b || byte === 0x2d || byte === 0x45;
}

/** Whether a JSON value can begin with `byte`. */
function startsValue(byte: number): boolean {
  return byte === QUOTE || byte === 0x5b || byte === 0x7b || byte === 0x2d || (byte >= 0x30 && byte <= 0x39) || byte === 0x74 || byte === 0x66 || byte === 0x6e;
}

/** A JSON value's kind from its first byte, for messages. */
function kindOf(byte: number): string {
  if (byte === QUOTE) return 'a string';
  if (byte === 0x5b) return 'an array';
  if (byte === 0x7b) return 'an object';
  if (byte === 0x74 || byte === 0x66) return 'a boolean';
  if (byte === 0x6e) return 'null';
  return 'a number';
}

function show(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? `"${String.fromCharCode(byte)}"` : `byte 0x${byte.toString(16).padStart(2, '0')}`;
}

/** The records file's buffer: bytes and text go in; whole buffers go out once 1 MiB is ready. */
class Output {
  private buffer = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private ready: Buffer[] = [];
  constructor(private readonly handle: import('node:fs/promises').FileHandle) {}
  get pending(): number {
    return this.ready.length;
  }
  byte(value: number): void {
    if (this.used === this.buffer.length) this.rotate();
    this.buffer[this.used++] = value;
  }
  bytes(source: Buffer, start: number, end: number): void {
    // Short runs byte by byte: Buffer.copy costs more than a few dozen bytes' loop.
    if (end - start <= 64 && this.used + (end - start) <= this.buffer.length) {
      const buffer = this.buffer;
      let used = this.used;
      for (let k = start; k < end; k++) buffer[used++] = source[k]!;
      this.used = used;
      return;
    }
    while (start < end) {
      if (this.used === this.buffer.length) this.rotate();
      const n = Math.min(end - start, this.buffer.length - this.used);
      source.copy(this.buffer, this.used, start, start + n);
      this.used += n;
      start += n;
    }
  }
  text(value: string): void {
    if (this.used + value.length * 3 > this.buffer.length) this.rotate();
    this.used += this.buffer.write(value, this.used);
  }
  async flush(all = false): Promise<void> {
    if (all && this.used > 0) this.rotate();
    for (const part of this.ready) await this.handle.write(part);
    this.ready = [];
  }
  private rotate(): void {
    this.ready.push(this.buffer.subarray(0, this.used));
    this.buffer = Buffer.allocUnsafe(1 << 20);
    this.used = 0;
  }
}
