import { execFile, spawn } from 'node:child_process';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type DuckDBConnection, type DuckDBListType, type DuckDBMapType, type DuckDBStructType, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import { type DuckDb, quoteFilePath, quoteIdent } from '../engine/duckdb.js';
import { describeOn, describeQuery } from '../engine/table-writer.js';

export interface InferredColumns {
  names: string[];
  types: DuckDBType[];
}

/** How the columns were inferred: `parts` connections at once, or 1 (the whole file in one pass). */
export interface JsonInference extends InferredColumns {
  parts: number;
}

/** A file is split only into parts at least this large. */
export const MIN_PART_BYTES = 64 * 1024 * 1024;
/** Parts are at most this large: DuckDB holds a part read from a pipe in memory until its statement ends. */
export const MAX_PART_BYTES = 128 * 1024 * 1024;

/**
 * The columns and types of a JSON file, from every record (read_json with `sample_size = -1`), so
 * that a key or a type first seen late in the file is neither dropped nor a failed read.
 *
 * DuckDB infers them in one pass that its threads do not speed up: about 18 s for the 1 GB benchmark
 * file here, four times the read of its rows. So a large newline-delimited file is inferred in parts
 * cut at line breaks, as many at a time as DuckDB has threads, each on a connection of its own, its
 * bytes copied through a named pipe. DuckDB keeps what it reads from a pipe until the statement
 * ends, so parts are at most `maxPartBytes` and only that many are held at once, whatever the
 * file's size. Inference merges the types of each record, so
 * when every part comes to the same columns and types, so does the whole file; when they differ, or
 * anything goes wrong (a malformed line, no named pipes), the whole file is inferred in one pass as
 * before, which also gives an error its line in the file.
 *
 * `options` are read_json's options after the path; `format` is the file's format as given, or
 * `compressed` for a compressed file (whose bytes cannot be cut at lines). Parts agree when their
 * columns read the same (readTypeSql): BIGINT and HUGEINT alike, unless `exact` (one pass).
 */
export async function inferJsonColumns(
  duck: DuckDb,
  path: string,
  options: readonly string[],
  format: string,
  sample: Buffer | undefined,
  scratchDir: string,
  exact = false,
  minPartBytes = MIN_PART_BYTES,
  maxPartBytes = MAX_PART_BYTES,
): Promise<JsonInference> {
  const whole = async () => ({ ...(await describeQuery(duck, `SELECT * FROM read_json(${[quoteFilePath(path), ...options, 'sample_size = -1'].join(', ')})`)), parts: 1 });
  if (exact) return whole();
  const split = await splitLines(duck, path, format, sample, minPartBytes, maxPartBytes).catch(() => undefined);
  if (!split || split.parts.length < 2) return whole();
  const partOptions = options.filter((o) => !/^(format|compression)\s*=/.test(o));
  const inferred = await inferParts(duck, path, split, [`format = 'newline_delimited'`, `compression = 'uncompressed'`, ...partOptions, 'sample_size = -1'], scratchDir).catch(() => undefined);
  return inferred ? { ...inferred, parts: split.parts.length } : whole();
}

/** A file cut into parts, and how many of them are inferred at a time. */
export interface LineSplit {
  parts: [number, number][];
  atOnce: number;
}

/**
 * Byte ranges of the file, each starting at a line: at least one per DuckDB thread, none under
 * `minPartBytes`, none over `maxPartBytes`, and no more held at once than a quarter of DuckDB's
 * memory limit; undefined when the file is not split: too small, too little memory, compressed, not
 * newline-delimited, or not on Linux (named pipes and GNU dd's byte offsets).
 */
export async function splitLines(duck: DuckDb, path: string, format: string, sample: Buffer | undefined, minPartBytes: number, maxPartBytes: number): Promise<LineSplit | undefined> {
  if (process.platform !== 'linux') return undefined;
  if (format !== 'newline_delimited' && !(format === 'auto' && firstLineIsObject(sample))) return undefined;
  const { size } = await stat(path);
  const [row] = await duck.rows<{ threads: bigint | number; memory: string }>(`SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS memory`);
  const threads = Number(row!.threads);
  if (threads < 2 || size < 2 * minPartBytes) return undefined;
  // DuckDB keeps what it reads from a pipe in memory until the statement ends: the parts being inferred are held.
  const partBytes = Math.min(Math.max(size / threads, minPartBytes), maxPartBytes, memoryBytes(row!.memory) / 4 / threads);
  if (!(partBytes >= minPartBytes)) return undefined;
  const count = Math.ceil(size / partBytes);
  const cuts = [0];
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (let i = 1; i < count; i++) {
      for (let position = Math.floor((size * i) / count); ; position += buffer.length) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        const newline = buffer.subarray(0, bytesRead).indexOf(0x0a);
        if (newline >= 0) {
          if (position + newline + 1 < size && position + newline + 1 > cuts[cuts.length - 1]!) cuts.push(position + newline + 1);
          break;
        }
      }
    }
  } finally {
    await handle.close();
  }
  cuts.push(size);
  const parts = cuts.slice(1).map((end, i): [number, number] => [cuts[i]!, end]);
  return { parts, atOnce: Math.min(threads, parts.length) };
}

const UNITS: Record<string, number> = { bytes: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** DuckDB's memory_limit setting as it prints it (`18.8 GiB`) in bytes; NaN when it reads otherwise. */
export function memoryBytes(setting: string): number {
  const match = /^([\d.]+)\s*(bytes|[KMGT]i?B)$/.exec(setting.trim());
  return match ? Number(match[1]) * (UNITS[match[2]!] ?? Number.NaN) : Number.NaN;
}

/** Whether the file's first line (in its first bytes) is a whole JSON object: a newline-delimited file, as DuckDB's format detection would take it. */
function firstLineIsObject(sample: Buffer | undefined): boolean {
  if (!sample) return false;
  const text = sample.toString('utf8').replace(/^\uFEFF/, '');
  const newline = text.indexOf('\n');
  if (newline < 0) return false;
  try {
    const value: unknown = JSON.parse(text.slice(0, newline));
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

const execFileAsync = promisify(execFile);

/**
 * Infers the ranges `atOnce` at a time, each running statement on a connection of its own (the
 * first on `duck`'s), fed through a named pipe; undefined as soon as a part disagrees with the
 * first, or when any fails (no more parts are started then).
 */
async function inferParts(duck: DuckDb, path: string, split: LineSplit, options: string[], scratchDir: string): Promise<InferredColumns | undefined> {
  const pipes = split.parts.map((_, i) => join(scratchDir, `infer-part-${i}.ndjson`));
  await execFileAsync('mkfifo', pipes);
  const connections: DuckDBConnection[] = [duck.connection];
  const signature = (c: InferredColumns) => c.names.map((name, i) => `${JSON.stringify(name)} ${readTypeSql(c.types[i]!)}`).join(', ');
  let agreed: { columns: InferredColumns; signature: string } | undefined;
  let failed = false;
  let next = 0;
  const worker = async (connection: DuckDBConnection) => {
    while (!failed && next < split.parts.length) {
      const i = next++;
      const inferring = describeOn(connection, `SELECT * FROM read_json(${[quoteFilePath(pipes[i]!), ...options].join(', ')})`);
      const fed = feed(path, split.parts[i]!, pipes[i]!, inferring);
      const [columns, fedOutcome] = await Promise.allSettled([inferring, fed]);
      if (columns.status === 'rejected' || fedOutcome.status === 'rejected') {
        failed = true;
        return;
      }
      const own = signature(columns.value);
      agreed ??= { columns: columns.value, signature: own };
      if (own !== agreed.signature) failed = true;
    }
  };
  try {
    for (let i = 1; i < split.atOnce; i++) connections.push(await duck.connect());
    await Promise.all(connections.map(worker));
    return failed ? undefined : agreed?.columns;
  } finally {
    for (const connection of connections.slice(1)) connection.closeSync();
    await Promise.all(pipes.map((pipe) => rm(pipe, { force: true })));
  }
}

/**
 * Copies bytes [start, end) of the file into a named pipe with `dd`, a process of its own: Node's
 * file reads run on libuv's thread pool, where each DuckDB statement waiting for the pipe's bytes
 * already holds a thread, so reading the file in Node could wait for a thread that never frees.
 * DuckDB sees the end of the part when dd closes the pipe; when DuckDB stops reading early (a
 * malformed line), dd ends on SIGPIPE; when DuckDB's statement fails without opening the pipe, dd,
 * waiting to open it, is stopped (and 30 s after one that succeeded, which cannot happen but must not hang). So neither side can wait for the other forever.
 */
function feed(path: string, [start, end]: [number, number], pipe: string, statement: Promise<unknown>): Promise<void> {
  const args = [`if=${path}`, `of=${pipe}`, 'bs=1M', `skip=${start}`, `count=${end - start}`, 'iflag=skip_bytes,count_bytes', 'status=none'];
  const child = spawn('dd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // A statement that read its part to the end saw dd close the pipe, and dd exits by itself, though
  // on a loaded machine a moment later: killing it then failed the part, and the file was inferred in
  // one pass. A statement that failed may never have opened the pipe, where dd would wait forever.
  statement.then(() => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Unref'd: a process done with its work does not wait for this.
    const timer = setTimeout(stop, 30_000).unref();
    child.on('close', () => clearTimeout(timer));
  }, stop);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`dd into ${pipe}: ${signal ?? `exit ${code}`} ${errors.trim()}`))));
  });
}

/**
 * The type to name in read_json's `columns` for a type its inference found: the same, except that
 * values of mixed types (inferred as JSON) are read as VARCHAR, and unless `exact`, HUGEINT as
 * BIGINT. Named JSON, read_json would parse a string value's text as JSON and fail on it; as VARCHAR
 * it reads strings as themselves and anything else as its JSON, what `json_extract_string(value,
 * '$')` gives for the inferred type. HUGEINT is what DuckDB infers for integers of both signs
 * (signed and unsigned to its parser), almost always values BIGINT holds; one that it does not
 * fails the read (isInexactNumber, json-columns.ts), and the file is read again exactly.
 */
export function readTypeSql(type: DuckDBType, exact = false): string {
  if (type.alias === 'JSON') return 'VARCHAR';
  switch (type.typeId) {
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      return `STRUCT(${struct.entryNames.map((name, i) => `${quoteIdent(name)} ${readTypeSql(struct.entryTypes[i]!, exact)}`).join(', ')})`;
    }
    case DuckDBTypeId.LIST:
      return `${readTypeSql((type as DuckDBListType).valueType, exact)}[]`;
    case DuckDBTypeId.MAP:
      return `MAP(${readTypeSql((type as DuckDBMapType).keyType, exact)}, ${readTypeSql((type as DuckDBMapType).valueType, exact)})`;
    case DuckDBTypeId.HUGEINT:
      return exact ? 'HUGEINT' : 'BIGINT';
    default:
      return type.toString();
  }
}
