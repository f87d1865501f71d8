import { type DuckDBType, DuckDBTypeId, TIMESTAMP, VARCHAR } from '@duckdb/node-api';
import { type DuckDb, quoteIdent, quoteString } from '../engine/duckdb.js';
import { InputFileError } from './input-file-error.js';
import { readTypeSql } from './json-infer.js';
import { anyLeafSql, firstLeafSql, firstLeafText, isNested, type Leaf, leavesOf, pathName, readTypeWith, rebuildSql, withLeafTypes } from './json-nested.js';
import { infiniteTemporalReasonSql, infiniteTemporalSql } from './temporal-infinity.js';

/** How one top-level column of a JSON file is read. */
export interface JsonColumn {
  /** The key in the records: what `--rename` names, and what safe names are made from. */
  key: string;
  /** The column in read_json's output: the key, or DuckDB's name for it when it renamed it (`name_1`, `C0`). */
  name: string;
  /** The type DuckDB's inference found. */
  type: DuckDBType;
  /** The type named in read_json's `columns`. */
  readType: string;
  /** The column's value over read_json's output. */
  expr: string;
  /** Whether values of mixed types (JSON) are read as text already (named VARCHAR in `columns`). */
  readAsText: boolean;
  /** Rows whose value cannot be typed and go to the quarantine: the condition and the reason, both SQL. */
  reject?: { when: string; reason: string };
  /** A nested column's DOUBLE values, read as text by the exact read until settleNumbers decides their type. */
  doubles?: Leaf[];
}

/** In a read's error, marks a number that read_json would give inexactly (isInexactNumber). */
const INEXACT_MARK = 'rat: a JSON number read_json gives inexactly';
/** In a read's error, marks an infinite date or timestamp, which goes to the quarantine (isInexactNumber). */
const INFINITE_MARK = 'rat: an infinite JSON date or timestamp';

/**
 * The keys of the records, in the order of DuckDB's inferred `names`, when DuckDB renamed any;
 * undefined when the names are the keys. DuckDB's inference renames a key that differs from an
 * earlier one only in case (`Name`, `name` -> `Name`, `name_1`) and an empty key (`C0`, its
 * position), and a later read that names its `columns` matches keys exactly, so `name_1` would read
 * NULL everywhere. Only names that look renamed cost a pass over the file for its keys (in the order
 * first seen, as inference collects them); those must line up with the names, or the file fails
 * naming them rather than load a column of NULLs.
 */
export async function recordKeys(duck: DuckDb, file: string, readOptions: readonly string[], names: readonly string[]): Promise<string[] | undefined> {
  if (!mayBeRenamed(names)) return undefined;
  const objectOptions = readOptions.filter((o) => !/^records\s*=/.test(o));
  const rows = await duck.rows<{ key: string }>(
    `SELECT key FROM (
       SELECT unnest(json_keys(json)) AS key, generate_subscripts(json_keys(json), 1) AS pos, ordinality AS rec
       FROM read_json_objects(${objectOptions.join(', ')}) WITH ORDINALITY)
     GROUP BY key ORDER BY min(rec), arg_min(pos, rec)`,
  );
  const keys = rows.map((r) => r.key);
  if (keys.every((key, i) => key === names[i]) && keys.length === names.length) return undefined;
  const aligned = keys.length === names.length && keys.every((key, i) => key === names[i] || isRenamed(names[i]!, key, i));
  if (!aligned) {
    throw new InputFileError(
      'INGEST_FILE_INVALID',
      file,
      {},
      `keys that differ only in case or are empty (${keys.filter((k, i) => k !== names[i]).map((k) => JSON.stringify(k)).join(', ')}) cannot be told apart: DuckDB reads the keys ${keys.map((k) => JSON.stringify(k)).join(', ')} as the columns ${names.join(', ')}; rename the keys in the file`,
    );
  }
  return keys;
}

/** Whether any inferred name could be one DuckDB made up: `C<position>`, or an earlier name (case aside) with `_<n>` added. */
function mayBeRenamed(names: readonly string[]): boolean {
  const seen = new Set<string>();
  return names.some((name, i) => {
    const base = /^(.*)_\d+$/.exec(name.toLowerCase())?.[1];
    const suspect = name === `C${i}` || (base !== undefined && seen.has(base));
    seen.add(name.toLowerCase());
    return suspect;
  });
}

function isRenamed(name: string, key: string, position: number): boolean {
  if (key === '') return name === `C${position}`;
  return name.startsWith(`${key}_`) && /^(_\d+)+$/.test(name.slice(key.length));
}

/** A timestamp written with a UTC offset or `Z`. */
const OFFSET = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Whether the TIMESTAMP column `key` holds timestamps with a UTC offset, by its first value. DuckDB's
 * inference types `2024-01-02T03:04:05+02:00` TIMESTAMP, and read so with `columns` the offset is
 * dropped (03:04:05, not the instant 01:04:05 UTC). Its inference gives a column one format for all
 * its values (with an offset and without in one column is VARCHAR), so the first value tells.
 */
export async function holdsOffsets(duck: DuckDb, readOptions: readonly string[], key: string): Promise<boolean> {
  const [row] = await duck.rows<{ v: string }>(`SELECT v FROM read_json(${[...readOptions, `columns = {${quoteString(key)}: 'VARCHAR'}`].join(', ')}) AS r(v) WHERE v IS NOT NULL LIMIT 1`);
  return row !== undefined && OFFSET.test(row.v.trim());
}

/**
 * An ISO 8601 date and time of day (`T` or a space between them) to the second, with a fraction of
 * up to 9 digits and with a UTC offset, `Z` or neither. Digits past the microsecond are cut, as in
 * a CSV file: DuckDB's cast does so, and Iceberg v2 timestamps hold microseconds.
 */
const ISO_DATE_TIME = '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?';
const ISO_OFFSET = '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$';

/**
 * The types with the string columns and nested string fields whose every value is an ISO 8601
 * date-time given TIMESTAMP (planColumns then reads those with an offset as TIMESTAMPTZ). DuckDB's
 * inference types such strings TIMESTAMP only when all share one shape: `2024-02-29T10:11:12.123456`
 * (a `T`, a fraction, no offset), or `...10:00:00Z` beside `...10:00:00.5Z`, it leaves VARCHAR.
 * A field is looked at further only when its first value is one: its other values then cost a pass
 * over the file, strings of other kinds (the 1 GB benchmark's) a record or so each. One mixing values
 * with an offset and without stays text, as DuckDB leaves it, so no value is shifted by a guessed zone;
 * so does one holding a date that is not one (`2024-02-30T10:00:00`). Keys are the names (read_json
 * renamed none): `columns` reads them by name.
 */
export async function typeDateTimeTexts(duck: DuckDb, readOptions: readonly string[], names: readonly string[], types: readonly DuckDBType[]): Promise<DuckDBType[]> {
  const found: Array<{ column: number; path: Leaf['path'] }> = [];
  for (let column = 0; column < names.length; column++) {
    const type = types[column]!;
    const reader = `read_json(${[...readOptions, `columns = {${quoteString(names[column]!)}: ${quoteString(readTypeSql(type, true))}}`].join(', ')}) AS r(c)`;
    const leaves = isNested(type) ? leavesOf(type, (t) => t.typeId === DuckDBTypeId.VARCHAR) : type.typeId === DuckDBTypeId.VARCHAR && type.alias !== 'JSON' ? [{ path: [], type }] : [];
    for (const leaf of leaves) {
      const first = await firstLeafText(duck, reader, 'c', leaf.path);
      if (first !== undefined && new RegExp(`^${ISO_DATE_TIME}$`).test(first)) found.push({ column, path: leaf.path });
    }
  }
  if (found.length === 0) return [...types];
  const columns = [...new Set(found.map((f) => f.column))];
  const reader = `read_json(${[...readOptions, `columns = {${columns.map((c) => `${quoteString(names[c]!)}: ${quoteString(readTypeSql(types[c]!, true))}`).join(', ')}}`].join(', ')})`;
  const any = (f: (typeof found)[number], condition: (v: string) => string) => `bool_or(${anyLeafSql(quoteIdent(names[f.column]!), f.path, condition)})`;
  const stats = found.map(
    (f, i) => `${any(f, (v) => `${v} IS NOT NULL AND NOT (regexp_full_match(${v}, '${ISO_DATE_TIME}') AND TRY_CAST(${v} AS TIMESTAMP) IS NOT NULL)`)} AS other${i},
      ${any(f, (v) => `regexp_matches(${v}, '${ISO_OFFSET}')`)} AS zoned${i}, ${any(f, (v) => `NOT regexp_matches(${v}, '${ISO_OFFSET}')`)} AS naive${i}`,
  );
  const [row] = await duck.rows<Record<string, boolean | null>>(`SELECT ${stats.join(', ')} FROM ${reader}`);
  const timestamps = found.filter((_, i) => !row![`other${i}`] && !(row![`zoned${i}`] && row![`naive${i}`]));
  return types.map((type, column) => withLeafTypes(type, timestamps.filter((f) => f.column === column).map((f) => ({ path: f.path, type: TIMESTAMP }))));
}

/** What the exact read makes of a DOUBLE column, from its values as text (numberReadings). */
export type NumberReading = 'double' | 'decimal' | 'text';

/**
 * How each DOUBLE column's values are kept, read as text: DuckDB's JSON parser gives an integer
 * beyond BIGINT's and UBIGINT's range as a double (`-9223372036854775809` as
 * -9223372036854775808), so a column of integers with such a one is `decimal(38,0)` (every digit
 * kept), and one that also holds integers of more than 38 digits is text: never a rounded
 * double. So is a column of fractions beside an integer that no double holds, one beyond
 * 2^53 such as 9007199254740993 (a SQLite column without a declared type holding ids and reals):
 * text keeps every value as written, as for the larger integers; a DECIMAL would need a scale that
 * fits every fraction (1e-300 has none), and quarantining the integer would leave out a value the
 * source holds as it is. Columns without such integers stay DOUBLE (2^60 is a double: it stays).
 * Each entry of `anyOf` turns a condition on one value (SQL over its text) into an aggregate over
 * the read that is true when some value meets it: a column's values, or those inside a nested column.
 */
async function numberReadings(duck: DuckDb, reader: string, anyOf: ReadonlyArray<(condition: (v: string) => string) => string>): Promise<NumberReading[]> {
  if (anyOf.length === 0) return [];
  const integer = (v: string) => `regexp_full_match(${v}, '-?[0-9]+')`;
  const stats = anyOf.map(
    (any, i) => `${any((v) => `${integer(v)} AND TRY_CAST(${v} AS BIGINT) IS NULL`)} AS big${i},
      ${any((v) => `${integer(v)} AND coalesce(TRY_CAST(TRY_CAST(${v} AS DOUBLE) AS HUGEINT) <> TRY_CAST(${v} AS HUGEINT), true)`)} AS inexact${i},
      ${any((v) => `NOT ${integer(v)}`)} AS fraction${i}, ${any((v) => `${integer(v)} AND length(ltrim(${v}, '-')) > 38`)} AS long${i}`,
  );
  const [row] = await duck.rows<Record<string, boolean | null>>(`SELECT ${stats.join(', ')} FROM ${reader}`);
  return anyOf.map((_, i) => {
    // Beside fractions, an integer beyond BIGINT that a double holds (100000000000000000000) is a double too: a decimal(38,0) would fail the fractions.
    if (row![`fraction${i}`]) return row![`inexact${i}`] ? 'text' : 'double';
    if (!row![`big${i}`]) return 'double';
    return row![`long${i}`] ? 'text' : 'decimal';
  });
}

/**
 * SQL for a DOUBLE column read as text (numberReadings) whose value is out of a double's range
 * (`1e400`). Not the token `Infinity` (Python's json writes a float's infinity so, as it writes NaN):
 * that is the double's own infinity, which a table column holds as it holds NaN.
 */
export function infiniteSql(value: string): string {
  return `(${value} IS NOT NULL AND isinf(TRY_CAST(${value} AS DOUBLE)) AND NOT regexp_full_match(${value}, '[+-]?inf(inity)?', 'i'))`;
}

/** 2^53: every integer up to it, and no odd one above it, is a double. */
const MAX_EXACT_DOUBLE_INTEGER = '9007199254740992';

/**
 * A DOUBLE column's value on the first, fast read: read_json's double, or a stop of the read
 * (INEXACT_MARK) at a value it may hold inexactly, an infinity (`1e400`) or an integer of 2^53 or
 * more, which may have been rounded (9007199254740993 reads as 9007199254740992); the file is then
 * read again exactly (numberReadings).
 */
export function guardedDoubleSql(value: string, key: string, infinitiesAreValues = false): string {
  const stop = `error(${quoteString(`${INEXACT_MARK} (key ${JSON.stringify(key)})`)})`;
  const large = `(abs(${value}) >= ${MAX_EXACT_DOUBLE_INTEGER}.0 AND ${value} = trunc(${value}))`;
  // A database's Infinity is a value (isinf is then not a stop); abs(Infinity) = trunc(Infinity) would stop the read too.
  const when = infinitiesAreValues ? `NOT isinf(${value}) AND ${large}` : `isinf(${value}) OR ${large}`;
  return `CASE WHEN ${when} THEN ${stop} ELSE ${value} END`;
}

/**
 * Whether a read stopped at a value that needs the exact read: a number it cannot give exactly (a
 * guarded double, guardedDoubleSql, or an integer beyond a BIGINT read type, readTypeSql), or an
 * infinite date or timestamp (planColumns), which the exact read quarantines.
 */
export function isInexactNumber(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (/Failed to cast value to numerical/i.test(e.message) || e.message.includes(INEXACT_MARK) || e.message.includes(INFINITE_MARK)) return true;
  }
  return false;
}

/**
 * How each column is read. With `columns` named (`renamed` false): as readTypeSql says, timestamps
 * with an offset as TIMESTAMPTZ, and DOUBLE columns guarded (first read) or as text (`exact`, see
 * numberReadings). When DuckDB renamed keys (`renamed`), read_json must infer again, as it alone
 * knows which key its `name_1` is: then the values are cast to the same types after the read.
 * `textKeys` are read as text, whatever their values (the table's column is text).
 */
export async function planColumns(
  duck: DuckDb,
  file: string,
  readOptions: readonly string[],
  names: readonly string[],
  keys: readonly string[],
  types: readonly DuckDBType[],
  exact: boolean,
  renamed: boolean,
  infinitiesAreValues = false,
  textKeys: ReadonlySet<string> = new Set(),
): Promise<JsonColumn[]> {
  const columns: JsonColumn[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const type = types[i]!;
    const key = keys[i]!;
    const ident = quoteIdent(name);
    if (textKeys.has(key)) {
      columns.push({ key, name, type: VARCHAR, readType: 'VARCHAR', expr: ident, readAsText: true });
      continue;
    }
    if (isNested(type)) {
      columns.push(await planNested(duck, file, readOptions, name, key, type, exact, renamed, infinitiesAreValues));
      continue;
    }
    let readType = readTypeSql(type, exact);
    let expr = ident;
    if (type.typeId === DuckDBTypeId.TIMESTAMP && key !== '' && (await holdsOffsets(duck, readOptions, key))) {
      readType = 'TIMESTAMPTZ';
      // read_json's own inference reads such values as the instant in UTC (the session's zone).
      if (renamed) expr = `CAST(${ident} AS TIMESTAMPTZ)`;
    } else if (type.typeId === DuckDBTypeId.DOUBLE) {
      if (exact && renamed) throw onlyNamedReadKeeps(file, key);
      if (exact) readType = 'VARCHAR';
      else expr = guardedDoubleSql(ident, key, infinitiesAreValues);
    } else if (renamed && type.alias !== 'JSON' && readType !== type.toString()) expr = `CAST(${ident} AS ${readType})`;
    // An infinite date or timestamp (a database's `infinity`) has no Iceberg value: the first read stops
    // at one (no cost until then), and the exact read sends its row to the quarantine.
    const infinite = infiniteTemporalSql(expr, readType);
    if (infinite && !exact) expr = `CASE WHEN ${infinite} THEN error(${quoteString(`${INFINITE_MARK} (key ${JSON.stringify(key)})`)}) ELSE ${expr} END`;
    const reject = infinite && exact ? { when: infinite, reason: infiniteTemporalReasonSql(key, expr, readType) } : undefined;
    columns.push({ key, name, type, readType, expr, readAsText: !renamed, ...(reject ? { reject } : {}) });
  }
  return columns;
}

function onlyNamedReadKeeps(file: string, key: string): InputFileError {
  return new InputFileError(
    'INGEST_FILE_INVALID',
    file,
    { column: key },
    `key ${JSON.stringify(key)} holds a number that only a read naming its columns keeps exactly, and keys that differ only in case keep rat from naming them; rename those keys in the file`,
  );
}

const TEMPORAL_LEAVES = new Set([DuckDBTypeId.DATE, DuckDBTypeId.TIMESTAMP, DuckDBTypeId.TIMESTAMP_TZ, DuckDBTypeId.TIMESTAMP_S, DuckDBTypeId.TIMESTAMP_MS, DuckDBTypeId.TIMESTAMP_NS]);

/**
 * A nested column (json-nested.ts) gets the checks of a top-level one, value by value inside it:
 * TIMESTAMP values with an offset are read as TIMESTAMPTZ (the first value of each such field
 * tells, as for a column), and DOUBLE values and infinite dates stop the first read as they do in a
 * column; the exact read then reads the DOUBLE values as text (settleNumbers decides their type) and
 * quarantines a row with an infinite date. Columns without such values are read as before.
 */
async function planNested(
  duck: DuckDb,
  file: string,
  readOptions: readonly string[],
  name: string,
  key: string,
  type: DuckDBType,
  exact: boolean,
  renamed: boolean,
  infinitiesAreValues: boolean,
): Promise<JsonColumn> {
  const ident = quoteIdent(name);
  const timestamps = key === '' ? [] : leavesOf(type, (t) => t.typeId === DuckDBTypeId.TIMESTAMP);
  const doubles = leavesOf(type, (t) => t.typeId === DuckDBTypeId.DOUBLE);
  const temporal = leavesOf(type, (t) => TEMPORAL_LEAVES.has(t.typeId));
  const read: Array<{ path: Leaf['path']; as: string }> = [];
  if (timestamps.length > 0) {
    const textType = readTypeWith(type, exact, timestamps.map((leaf) => ({ path: leaf.path, as: 'VARCHAR' })));
    const reader = `read_json(${[...readOptions, `columns = {${quoteString(key)}: ${quoteString(textType)}}`].join(', ')}) AS r(c)`;
    for (const leaf of timestamps) {
      const first = await firstLeafText(duck, reader, 'c', leaf.path);
      if (first !== undefined && OFFSET.test(first.trim())) read.push({ path: leaf.path, as: 'TIMESTAMPTZ' });
    }
  }
  if (exact && doubles.length > 0) {
    if (renamed) throw onlyNamedReadKeeps(file, key);
    read.push(...doubles.map((leaf) => ({ path: leaf.path, as: 'VARCHAR' })));
  }
  const readType = readTypeWith(type, exact, read);
  // Renamed keys are read by read_json's own inference, which reads offsets as the instant in UTC.
  let expr = renamed && readType !== readTypeSql(type, exact) ? `CAST(${ident} AS ${readType})` : ident;
  const infinite = temporal.map((leaf) => ({ leaf, when: anyLeafSql(ident, leaf.path, (v) => `isinf(${v})`) }));
  const column: JsonColumn = { key, name, type, readType, expr, readAsText: !renamed };
  if (exact) {
    for (const { leaf, when } of infinite) {
      const value = `CAST(${firstLeafSql(ident, leaf.path, 'isinf(v)')} AS VARCHAR)`;
      addReject(column, { when, reason: infiniteTemporalReasonSql(pathName(key, leaf.path), value, leaf.type.toString()) });
    }
    column.doubles = doubles;
    return column;
  }
  const large = (v: string) => `(abs(${v}) >= ${MAX_EXACT_DOUBLE_INTEGER}.0 AND ${v} = trunc(${v}))`;
  const stops = [
    ...doubles.map((leaf) => ({
      when: anyLeafSql(ident, leaf.path, (v) => (infinitiesAreValues ? `NOT isinf(${v}) AND ${large(v)}` : `isinf(${v}) OR ${large(v)}`)),
      mark: `${INEXACT_MARK} (key ${JSON.stringify(pathName(key, leaf.path))})`,
    })),
    ...infinite.map(({ leaf, when }) => ({ when, mark: `${INFINITE_MARK} (key ${JSON.stringify(pathName(key, leaf.path))})` })),
  ];
  if (stops.length > 0) expr = `CASE ${stops.map((s) => `WHEN ${s.when} THEN error(${quoteString(s.mark)})`).join(' ')} ELSE ${expr} END`;
  column.expr = expr;
  return column;
}

/** Adds a condition that sends a row to the quarantine, with its reason, to a column's own. */
function addReject(column: JsonColumn, reject: { when: string; reason: string }): void {
  const before = column.reject;
  column.reject = before ? { when: `(${before.when}) OR (${reject.when})`, reason: `CASE WHEN ${before.when} THEN ${before.reason} ELSE ${reject.reason} END` } : reject;
}

/** For the exact read (planColumns with `exact`): each DOUBLE column, read as text, as numberReadings decides; infinities are quarantined. So are the DOUBLE values inside nested columns. */
export async function settleNumbers(duck: DuckDb, reader: string, columns: JsonColumn[], infinitiesAreValues = false): Promise<void> {
  const texts = columns.filter((c) => c.type.typeId === DuckDBTypeId.DOUBLE && c.readType === 'VARCHAR');
  const nested = columns.flatMap((column) => (column.doubles ?? []).map((leaf) => ({ column, leaf })));
  const readings = await numberReadings(duck, reader, [
    ...texts.map((c) => (condition: (v: string) => string) => `bool_or(${condition(quoteIdent(c.name))})`),
    ...nested.map(({ column, leaf }) => (condition: (v: string) => string) => `bool_or(${anyLeafSql(quoteIdent(column.name), leaf.path, condition)})`),
  ]);
  texts.forEach((column, i) => {
    const reading = readings[i]!;
    const ident = quoteIdent(column.name);
    if (reading === 'text') return;
    if (reading === 'decimal') {
      column.expr = `CAST(${ident} AS DECIMAL(38, 0))`;
      return;
    }
    column.expr = `CAST(${ident} AS DOUBLE)`;
    if (infinitiesAreValues) return;
    column.reject = { when: infiniteSql(ident), reason: `${quoteString(`key ${JSON.stringify(column.key)}: `)} || ${ident} || ' is beyond the range of a double'` };
  });
  const converts = new Map<JsonColumn, Array<{ path: Leaf['path']; sql: (leaf: string) => string }>>();
  nested.forEach(({ column, leaf }, i) => {
    const reading = readings[texts.length + i]!;
    const ident = quoteIdent(column.name);
    const sql = reading === 'text' ? (v: string) => v : reading === 'decimal' ? (v: string) => `CAST(${v} AS DECIMAL(38, 0))` : (v: string) => `CAST(${v} AS DOUBLE)`;
    converts.set(column, [...(converts.get(column) ?? []), { path: leaf.path, sql }]);
    if (reading !== 'double' || infinitiesAreValues) return;
    const first = firstLeafSql(ident, leaf.path, infiniteSql('v'));
    addReject(column, { when: anyLeafSql(ident, leaf.path, infiniteSql), reason: `${quoteString(`key ${JSON.stringify(pathName(column.key, leaf.path))}: `)} || ${first} || ' is beyond the range of a double'` });
  });
  for (const [column, convert] of converts) column.expr = rebuildSql(quoteIdent(column.name), column.type, convert);
}
