import { ValidationError } from '../core/errors.js';
import { refuseUnknownKeys } from './option-keys.js';
import { FLAG_SPELLING, type OptionSpelling } from './option-spelling.js';
import type { IngestProgress } from './progress.js';

export type SourceFormat = 'csv' | 'json' | 'parquet' | 'xlsx' | 'arrow' | 'avro';
export type Compression = 'none' | 'gzip' | 'zstd';
/** A text encoding as rat names it: `utf-16` is little-endian (DuckDB's name), `latin-1` ISO 8859-1. */
export type TextEncoding = 'utf-8' | 'utf-16' | 'utf-16be' | 'latin-1' | 'windows-1252';
/** The spellings `encoding` takes, each for one TextEncoding (`utf-16` follows a big-endian byte-order mark). */
export const ENCODING_NAMES: Readonly<Record<string, TextEncoding>> = {
  'utf-8': 'utf-8',
  'utf-16': 'utf-16',
  'utf-16le': 'utf-16',
  'utf-16be': 'utf-16be',
  'latin-1': 'latin-1',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
};
/** What a custom parser gets: the file, and ways to read it (decompressed when gzip or zstd). */
export interface ParserInput {
  /** Local path of the file as stored (a landing object is a downloaded copy; may be gzip- or zstd-compressed). */
  path: string;
  /** The file's name in the registry and lineage (an absolute local path or a landing key). */
  name: string;
  /** Size in bytes as stored. */
  size: number;
  /** The content, decompressed, as a stream of chunks. */
  bytes(): AsyncIterable<Buffer>;
  /** The content as text lines without their line endings (decoded as the `encoding` option, else as the file's detected encoding: UTF-8, UTF-16 or Latin-1; a byte-order mark dropped). */
  lines(): AsyncIterable<string>;
}

/** One row from a custom parser: column name -> value (string, number, bigint, boolean, Date, null, or a plain object/array stored as JSON text). */
export type ParsedRow = Record<string, unknown>;
export type ParserOutput = Iterable<ParsedRow> | AsyncIterable<ParsedRow>;

/**
 * Turns a raw file into rows, for files no built-in reader handles. Return (or resolve to) an array,
 * an iterable or an async iterable (an async generator streams any number of rows). Rows then go
 * through the same staging, typing, quarantine and commit as any file; a row is numbered by its
 * position in the output (1-based), and an error thrown while producing row n fails the file with
 * INGEST_PARSER_FAILED naming the file and row n.
 */
export type CustomParser = (input: ParserInput) => ParserOutput | Promise<ParserOutput>;

/** append adds rows; overwrite replaces all rows; merge replaces rows whose key columns match and adds the rest. */
export type IngestMode = 'append' | 'overwrite' | 'merge';
/** What a file with columns the table lacks does: evolve adds them, strict refuses the file, ignore drops them. */
export type SchemaDriftPolicy = 'evolve' | 'strict' | 'ignore';
/** quarantine puts bad rows into `<table>__rejects`; fail makes any bad row fail the whole file. */
export type BadRowPolicy = 'quarantine' | 'fail';

export interface IngestOptions {
  /** Default: from the file name, else from the content. */
  format?: SourceFormat;
  /** Default: detected from the first bytes. */
  compression?: Compression | 'auto';
  mode?: IngestMode;
  /** Key columns for mode merge (names after renaming). */
  keys?: string[];
  /** Column types that win over detection, e.g. { amount: 'DECIMAL(12,2)' } (final or source names). */
  types?: Record<string, string>;
  /** Partitioning of a table the ingest creates, e.g. ['month(order_date)']. */
  partitionBy?: string[];
  /** Explicit renames, source name -> column name; applied before safe names. */
  rename?: Record<string, string>;
  /** Turn source names into lower snake_case SQL names that need no quoting (default true). */
  safeNames?: boolean;
  /** Add _source_file and _ingested_at to every row (default true). */
  lineage?: boolean;
  schemaDrift?: SchemaDriftPolicy;
  onError?: BadRowPolicy;
  /** How messages spell these options in advice (default: the `rat ingest` flags). */
  spelling?: OptionSpelling;
  /** Skip files whose content is already in the target (per the file registry). */
  skipExisting?: boolean;
  /**
   * Several files into one table: how many files that are plain appends (their columns fit, no bad
   * rows) may share one catalog commit and snapshot (default 200; 1: a commit per file). Each file
   * still lands whole with its registry row or not at all.
   */
  filesPerCommit?: number;
  /** CSV: one-character field delimiter (default: detected). */
  delimiter?: string;
  /** CSV: quote character, '' for none (default: detected). */
  quote?: string;
  /** CSV: escape character inside quotes (default: detected). */
  escape?: string;
  /** CSV: whether the first line holds column names (default: detected). */
  header?: boolean;
  /** CSV: text encoding, one of ENCODING_NAMES (default: detected from a byte-order mark or the bytes). */
  encoding?: string;
  /** CSV: strptime formats for dates and timestamps (default: detected). */
  dateFormat?: string;
  timestampFormat?: string;
  /** CSV: the decimal separator of numbers, ',' for 1,5 (default '.'; not detected). */
  decimalSeparator?: '.' | ',';
  /** Rows the CSV type detection looks at (default 20480; -1 = the whole file, slower but exact). */
  sampleSize?: number;
  /** JSON: a top-level array or one object per line (default: detected). */
  jsonFormat?: 'auto' | 'array' | 'newline_delimited';
  /**
   * JSON: a dotted path to the records inside one JSON document, e.g. `features` (GeoJSON) or
   * `data.items`; an all-digit step indexes an array. Each element of the array there is a row (an
   * object there is one row). Default: the document itself (a top-level array of records, or one object).
   */
  records?: string;
  /** JSON: nested objects become `parent_child` columns instead of struct columns. */
  flatten?: boolean;
  /** Excel: the sheet to read, by name or 1-based position (default: the first). */
  sheet?: string | number;
  /** Excel: the 1-based row holding the column names (default 1); rows above it are skipped. */
  headerRow?: number;
  /** A custom parser used instead of the built-in readers for every file of this ingest (see CustomParser). */
  parser?: CustomParser;
  /** Called with progress of long steps (reading, writing). */
  onProgress?: (event: IngestProgress) => void;
}

export interface ResolvedIngestOptions extends Omit<IngestOptions, 'mode' | 'safeNames' | 'lineage' | 'schemaDrift' | 'onError' | 'types' | 'rename' | 'keys' | 'partitionBy' | 'spelling' | 'encoding'> {
  encoding?: TextEncoding;
  spelling: OptionSpelling;
  mode: IngestMode;
  keys: string[];
  types: Record<string, string>;
  /**
   * A source's own column types (a database table's), read as those types like `types`, but
   * hints only: where the table has the column, its type wins and the values are cast (those that
   * do not convert go to the quarantine), where a --type naming another type fails the file.
   */
  sourceTypes?: Record<string, string>;
  partitionBy: string[];
  rename: Record<string, string>;
  safeNames: boolean;
  lineage: boolean;
  schemaDrift: SchemaDriftPolicy;
  onError: BadRowPolicy;
  /**
   * Set by row sources (row-source.ts) for their spool, whose NaN and Infinity tokens are a
   * database's float values: kept as such. In a JSON file `1e400` is an overflow, quarantined.
   */
  infinitiesAreValues?: boolean;
  /**
   * Set by row sources (row-source.ts): their scratch NDJSON file of the records that could not
   * become rows (`{line, reason, raw}` each), quarantined with the bad rows of their spool.
   */
  sourceRejects?: string;
  /** Set by row sources whose records carry their number (RowSource.numbered): each spooled row holds it in LINE_COLUMN. */
  numberedRecords?: boolean;
  /**
   * Set by a replay of rows rebuilt from their values (QuarantineOptions.tableNames): their keys are
   * the table's column names, each kept as it is when it is a plain name (a keyword such as `order`
   * too, which safe names would make `order_`).
   */
  tableNames?: boolean;
  /**
   * Set by a replay to the --rename keys it kept from the ingest: its file holds only some of the
   * ingest's records, and a rename of a column none of them has is left out, not refused (a
   * --rename given to the replay itself still must name a column).
   */
  optionalRenames?: readonly string[];
}

/** Every key of IngestOptions (the compiler checks the list is whole): a JavaScript caller's misspelt key is refused, not ignored. */
export const INGEST_OPTION_KEYS = Object.keys({
  format: true,
  compression: true,
  mode: true,
  keys: true,
  types: true,
  partitionBy: true,
  rename: true,
  safeNames: true,
  lineage: true,
  schemaDrift: true,
  onError: true,
  spelling: true,
  skipExisting: true,
  filesPerCommit: true,
  delimiter: true,
  quote: true,
  escape: true,
  header: true,
  encoding: true,
  dateFormat: true,
  timestampFormat: true,
  decimalSeparator: true,
  sampleSize: true,
  jsonFormat: true,
  records: true,
  flatten: true,
  sheet: true,
  headerRow: true,
  parser: true,
  onProgress: true,
} satisfies Record<keyof IngestOptions, true>);

/** The values each option of a fixed set takes (the CLI's flags take the same). */
export const MODES: readonly IngestMode[] = ['append', 'overwrite', 'merge'];
export const FORMATS: readonly SourceFormat[] = ['csv', 'json', 'parquet', 'xlsx', 'arrow', 'avro'];
export const DRIFT_POLICIES: readonly SchemaDriftPolicy[] = ['evolve', 'strict', 'ignore'];
export const BAD_ROW_POLICIES: readonly BadRowPolicy[] = ['quarantine', 'fail'];
export const COMPRESSIONS: readonly NonNullable<IngestOptions['compression']>[] = ['auto', 'none', 'gzip', 'zstd'];
export const JSON_FORMATS: readonly NonNullable<IngestOptions['jsonFormat']>[] = ['auto', 'array', 'newline_delimited'];

/**
 * The type `types` gives the first of `names` it has as its own key: a column named `constructor` or
 * `toString` is not a key of every object (read as `types[name]`, it would be Object's method).
 */
export function givenType(types: Readonly<Record<string, string>> | undefined, ...names: string[]): string | undefined {
  const name = types ? names.find((n) => Object.hasOwn(types, n)) : undefined;
  return name === undefined ? undefined : types![name];
}

export function resolveIngestOptions(options: IngestOptions = {}): ResolvedIngestOptions {
  refuseUnknownKeys('ingest', options, INGEST_OPTION_KEYS);
  const { encoding, ...given } = options;
  const resolved: ResolvedIngestOptions = {
    ...given,
    mode: options.mode ?? 'append',
    keys: options.keys ?? [],
    types: options.types ?? {},
    partitionBy: options.partitionBy ?? [],
    rename: options.rename ?? {},
    safeNames: options.safeNames ?? true,
    lineage: options.lineage ?? true,
    schemaDrift: options.schemaDrift ?? 'evolve',
    onError: options.onError ?? 'quarantine',
    spelling: options.spelling ?? FLAG_SPELLING,
  };
  oneOf('mode', resolved.mode, MODES);
  if (options.format !== undefined) oneOf('format', options.format, FORMATS);
  oneOf('schema drift policy', resolved.schemaDrift, DRIFT_POLICIES);
  oneOf('bad-row policy (on error)', resolved.onError, BAD_ROW_POLICIES);
  // Checked before any file is read: else every file of a batch failed on it, each with a failed registry row.
  if (options.compression !== undefined) oneOf('compression', options.compression, COMPRESSIONS);
  if (options.jsonFormat !== undefined) oneOf('JSON format', options.jsonFormat, JSON_FORMATS);
  if (encoding !== undefined) {
    // Checked before any file is read: a misspelt encoding would otherwise fail every file of the batch.
    const named = Object.hasOwn(ENCODING_NAMES, encoding.toLowerCase()) ? ENCODING_NAMES[encoding.toLowerCase()] : undefined;
    if (!named) throw new ValidationError('INVALID_ARGUMENT', `unknown encoding "${encoding}": use ${Object.keys(ENCODING_NAMES).join(', ')}`);
    resolved.encoding = named;
  }
  if (resolved.mode === 'merge' && resolved.keys.length === 0) {
    throw new ValidationError('INVALID_ARGUMENT', 'mode merge needs key columns: e.g. --mode merge --key order_id');
  }
  if (resolved.mode !== 'merge' && resolved.keys.length > 0) {
    throw new ValidationError('INVALID_ARGUMENT', `key columns (${resolved.keys.join(', ')}) only apply to mode merge, not ${resolved.mode}`);
  }
  for (const [name, value] of [['delimiter', options.delimiter], ['escape', options.escape]] as const) {
    if (value !== undefined && value.length !== 1) throw new ValidationError('INVALID_ARGUMENT', `CSV ${name} must be one character, got ${JSON.stringify(value)}`);
  }
  if (options.quote !== undefined && options.quote.length > 1) throw new ValidationError('INVALID_ARGUMENT', `CSV quote must be one character or empty, got ${JSON.stringify(options.quote)}`);
  if (options.decimalSeparator !== undefined && options.decimalSeparator !== '.' && options.decimalSeparator !== ',') {
    throw new ValidationError('INVALID_ARGUMENT', `CSV decimal separator must be "." or ",", got ${JSON.stringify(options.decimalSeparator)}`);
  }
  if (options.sampleSize !== undefined && !(Number.isInteger(options.sampleSize) && (options.sampleSize === -1 || options.sampleSize > 0))) {
    throw new ValidationError('INVALID_ARGUMENT', `sample size must be a positive number of rows or -1 (whole file), got ${options.sampleSize}`);
  }
  if (options.filesPerCommit !== undefined && !(Number.isInteger(options.filesPerCommit) && options.filesPerCommit > 0)) {
    throw new ValidationError('INVALID_ARGUMENT', `files per commit must be a positive whole number, got ${options.filesPerCommit}`);
  }
  if (options.headerRow !== undefined && !(Number.isInteger(options.headerRow) && options.headerRow > 0)) {
    throw new ValidationError('INVALID_ARGUMENT', `header row must be a positive row number, got ${options.headerRow}`);
  }
  if (options.sheet !== undefined && (typeof options.sheet === 'number' ? !(Number.isInteger(options.sheet) && options.sheet > 0) : options.sheet.trim() === '')) {
    throw new ValidationError('INVALID_ARGUMENT', `sheet must be a sheet name or a 1-based position, got ${JSON.stringify(options.sheet)}`);
  }
  if (options.records !== undefined && (typeof options.records !== 'string' || options.records.trim() === '' || options.records.split('.').some((step) => step === ''))) {
    throw new ValidationError('INVALID_ARGUMENT', `records must be a dotted path to the records in a JSON document (e.g. features or data.items), got ${JSON.stringify(options.records)}`);
  }
  for (const [name, value] of [['date format', options.dateFormat], ['timestamp format', options.timestampFormat]] as const) if (value !== undefined) refuseBadDateFormat(name, value);
  if (options.parser !== undefined && typeof options.parser !== 'function') {
    throw new ValidationError('INVALID_ARGUMENT', `parser must be a function (input) => rows, got ${typeof options.parser}`);
  }
  return resolved;
}

/** The strptime specifiers DuckDB reads (https://duckdb.org/docs/stable/sql/functions/dateformat), without the `%`. */
const STRPTIME_SPECIFIERS = new Set(['a', 'A', 'w', 'u', 'd', '-d', 'b', 'h', 'B', 'm', '-m', 'y', '-y', 'Y', 'G', 'V', 'H', '-H', 'I', '-I', 'p', 'M', '-M', 'S', '-S', 'g', 'f', 'n', 'z', 'Z', 'j', '-j', 'U', 'W', 'c', 'x', 'X', 'T', '%']);

/**
 * Refuses a date or timestamp format DuckDB cannot read by (`%Q`), or that reads no date (`nonsense`,
 * `%H:%M`): the sniffer would drop it without a word, and every file be read as if it were not given.
 */
export function refuseBadDateFormat(name: string, format: string): void {
  const specifiers = [...format.matchAll(/%(-?.?)/g)].map((m) => m[1]!);
  const unknown = specifiers.find((s) => !STRPTIME_SPECIFIERS.has(s));
  if (unknown !== undefined) {
    throw new ValidationError('INVALID_ARGUMENT', `${name} ${JSON.stringify(format)}: unknown specifier %${unknown}; use strptime's, e.g. '%d/%m/%Y' or '%m/%d/%Y %H:%M:%S'`);
  }
  const has = (...wanted: string[]) => specifiers.some((s) => wanted.includes(s));
  if (!has('c', 'x') && !(has('Y', 'y', '-y', 'G') && has('m', '-m', 'b', 'h', 'B', 'j', '-j', 'U', 'W', 'V'))) {
    throw new ValidationError('INVALID_ARGUMENT', `${name} ${JSON.stringify(format)} reads no date (a year and a month or week, e.g. %Y and %m); e.g. '%d/%m/%Y' or '%m/%d/%Y %H:%M:%S'`);
  }
}

function oneOf<T extends string>(what: string, value: T, allowed: readonly T[]): void {
  if (!allowed.includes(value)) throw new ValidationError('INVALID_ARGUMENT', `unknown ${what} "${value}": use ${allowed.join(', ')}`);
}
