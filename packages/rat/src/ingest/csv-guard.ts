import { VARCHAR } from '@duckdb/node-api';
import { type DuckDb, quoteIdent, quoteString } from '../engine/duckdb.js';
import type { LocatedRecord, RecordCheck } from './csv-records.js';
import { lossyCastSql, nonIntegerTextSql, zoneLossReasonSql } from './schema-plan.js';

/**
 * DuckDB's CSV reader converts integers and dates leniently (duckdb/duckdb#25824): `1.5` read into an
 * integer column becomes 2, `2024-01-02 10:00:00` read into a date column loses its time, and neither
 * is an error or a reject. The sniffer's sample cannot rule such a value out further down the file.
 *
 * So such columns are converted here, checked. The one streamed read reads them by a type that keeps
 * every value the column can take exactly (`fastReadType`: integers up to 2^53 as DOUBLE, dates as
 * TIMESTAMP), which costs a few comparisons per value where text would cost a cast and three string
 * searches (+4.5% instructions for the benchmark file's COPY, against +12.5% as text). The first value with a fraction
 * or a time of day, or out of range, stops the read with GUARD_MARK; a value that type cannot read
 * is a reader reject on such a column, which the caller treats the same way. The file is then read
 * into a temp table with these columns as text, where `quarantineGuarded` moves exactly the rows that
 * do not convert, or would change, to the quarantine, with their line and raw text.
 *
 * A date or timestamp column read with an explicit format (`%d/%m/%Y`, sniffed or given) parses
 * strictly, but DuckDB 1.5.6's reader (and its `try_strptime`) takes `infinity`, `-infinity` and
 * `epoch`, any case, for 1900-01-01 without a word. Its streamed read keeps the reader's parse and
 * stops only at 1900-01-01 itself (one comparison per value; a real 1900-01-01 is rare), and the
 * exact read converts the text with the format, reading those three words as the cast does
 * (`convertedSql`): infinity then goes to the quarantine as on the ISO path (temporal-infinity.ts),
 * `epoch` is 1970-01-01 as in PostgreSQL, and a real 1900-01-01 loads. The same for a format's %Y,
 * which takes 1 to 4 digits (`05/02/24` is year 24): the streamed read also stops at a year before
 * 1000, and the exact read takes such a year only where the text writes it with 4 digits.
 *
 * The cast that reads dates and timestamps without a format (ISO) is as lenient with the year:
 * `05/02/24` is 0005-02-24 and `24-02-05` is 0024-02-05. So every such date and timestamp column is
 * guarded too, read by the reader as TIMESTAMP: the streamed read stops at a value before the year
 * 1000 (one comparison per value), and the exact read takes such a year only where the text starts
 * with 4 digits (`0024-02-05`, `0001-01-01`). Timestamps with a time zone are read as text and cast
 * (guardedReadSql): text the cast does not read, and a year before 1000 (`24-05-02 10:00:00+02` is
 * the year 24 to it), stop the streamed read.
 */
export const GUARD_MARK = 'rat: a CSV value the reader would round or cut';

/** DuckDB's names of a timestamp without a time zone, in any unit. */
export const NAIVE_TIMESTAMP_SQL = /^(TIMESTAMP|DATETIME|TIMESTAMP\s+WITHOUT\s+TIME\s+ZONE|TIMESTAMP_(S|MS|US|NS))$/i;

/**
 * DuckDB's names of a timestamp with a time zone. Its CSV reader reads text that is no timestamp
 * (`soon`) into such a column as NULL, without a reject, with or without a format: the column is
 * read as text and converted checked, as a date is.
 */
const ZONED_TIMESTAMP_SQL = /^(TIMESTAMPTZ|TIMESTAMP\s+WITH\s+TIME\s+ZONE)$/i;

/** DuckDB's integer type names. */
export const INTEGER_SQL = /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/i;

/** DuckDB's names of a double and a float: the guard's type is DOUBLE or FLOAT. */
const FLOAT_SQL = /^(DOUBLE|FLOAT8|FLOAT|FLOAT4|REAL)$/i;

/**
 * The smallest integer beyond which a DOUBLE (2^53) or FLOAT (2^24) no longer holds every integer:
 * at or past it, a number may have lost whole units (9007199254740993 reads as 9007199254740992).
 */
const FLOAT_EXACT_LIMIT: Record<string, string> = { DOUBLE: '9007199254740992.0', FLOAT: '16777216.0' };

/** A decimal type, its scale in group 2. DuckDB's reader rounds `1.005` into DECIMAL(12,2) as 1.01 without a word. */
const DECIMAL_SQL = /^DECIMAL\((\d+),\s*(\d+)\)$/i;

/** A column converted, checked, to `type`. */
export interface CsvGuard {
  /** Position of the column in the file (and the read's column list). */
  index: number;
  /** Its name in the read (the table's column name). */
  name: string;
  type: string;
  /** What the streamed read reads it as: `fastReadType`, or VARCHAR where the sample holds values that type cannot keep. */
  read: string;
  /** A decimal written with a decimal comma (`1,5`): the text's comma becomes a point before it is cast. */
  comma?: boolean;
  /** The strptime format of a date or timestamp column read with one: read by the reader as `type`, its text converted by convertedSql. */
  format?: string;
  /** A timestamp column some of whose values carry a UTC offset, which its type would drop: read as text. */
  offsets?: true;
}

/** 2^53 - 1: the largest integer every smaller one of which a DOUBLE holds exactly. */
export const EXACT_DOUBLE = 9007199254740991;

/** The values of each integer type, as far as a DOUBLE holds them exactly. */
const INTEGER_RANGE: Record<string, [number, number]> = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INTEGER: [-2147483648, 2147483647],
  BIGINT: [-EXACT_DOUBLE, EXACT_DOUBLE],
  HUGEINT: [-EXACT_DOUBLE, EXACT_DOUBLE],
  UTINYINT: [0, 255],
  USMALLINT: [0, 65535],
  UINTEGER: [0, 4294967295],
  UBIGINT: [0, EXACT_DOUBLE],
};

/**
 * The type the streamed read reads a guarded column as: DOUBLE for integers, TIMESTAMP for dates
 * (unless a timestamp format is given, which would apply to it too) and timestamps. VARCHAR when no
 * such type fits.
 */
export function fastReadType(guard: Pick<CsvGuard, 'type' | 'format' | 'offsets'>, timestampFormat: string | undefined): string {
  const { type, format } = guard;
  // No type keeps the text of a value TIMESTAMPTZ does not read: the reader's own parse makes it NULL.
  if (type === 'TIMESTAMPTZ') return 'VARCHAR';
  // The reader's own parse, which is strict but for the three words read as 1900-01-01: guardedReadSql stops at that date.
  if (format !== undefined) return type;
  if (type === 'DATE') return timestampFormat === undefined ? 'TIMESTAMP' : 'VARCHAR';
  // A double or float reads as itself: guardedReadSql stops at the values its range check cannot judge without the text.
  if (type === 'DOUBLE' || type === 'FLOAT') return type;
  // No type holds every decimal exactly but the decimal itself, which would round, nor a timestamp's offset but TIMESTAMPTZ, which converts it: text.
  if (DECIMAL_SQL.test(type) || guard.offsets) return 'VARCHAR';
  if (type === 'TIMESTAMP') return 'TIMESTAMP';
  return 'DOUBLE';
}

/**
 * The columns whose read type DuckDB's reader converts leniently: integers, decimals, dates without an
 * explicit format (a format parses strictly), and plain timestamps whose sampled values the sniffer
 * found to carry a UTC offset (`detected` TIMESTAMPTZ): read as TIMESTAMP, `10:00:00+05:00` loses
 * its offset. A column without a time zone cannot hold an instant without choosing a zone, so such
 * a value goes to the quarantine. (A plain timestamp column is not checked for offsets otherwise: reading
 * it as text would cost every file; an offset past the sniffer's sample still loses it.) Plain timestamps
 * are checked for the year the cast reads from a short one (`05/02/24` as 0005). And timestamps with a zone, which the reader reads as NULL from text that is no timestamp. And dates and
 * timestamps read with an explicit format (`format`), for the words the reader takes for 1900-01-01.
 * And doubles and floats: the reader reads `1e400` as infinity and `1e-400` as 0 (floatOutOfRangeSql).
 */
export function csvGuards(
  names: readonly string[],
  readTypes: readonly string[],
  dialect: { dateFormat?: string | undefined; timestampFormat?: string | undefined; decimalSeparator?: '.' | ','; detected?: readonly string[] },
): CsvGuard[] {
  return readTypes.flatMap((readType, index) => {
    // Every spelling of a timestamp without a zone but nanoseconds is the table's timestamp (microseconds): checked as TIMESTAMP.
    const spelled = readType.trim().toUpperCase().replace(/\s+/g, ' ');
    const float = FLOAT_SQL.test(spelled) ? (/^(DOUBLE|FLOAT8)$/.test(spelled) ? 'DOUBLE' : 'FLOAT') : undefined;
    const type = float ?? (NAIVE_TIMESTAMP_SQL.test(spelled) && spelled !== 'TIMESTAMP_NS' ? 'TIMESTAMP' : ZONED_TIMESTAMP_SQL.test(spelled) ? 'TIMESTAMPTZ' : spelled.replace(/\s+/g, ''));
    const decimal = DECIMAL_SQL.test(type);
    const offsets = (type === 'TIMESTAMP' || type === 'TIMESTAMP_NS') && dialect.timestampFormat === undefined && ZONED_TIMESTAMP_SQL.test(dialect.detected?.[index]?.trim() ?? '');
    const zoned = type === 'TIMESTAMPTZ';
    const format = (type === 'DATE' && dialect.dateFormat) || (type === 'TIMESTAMP' && !offsets && dialect.timestampFormat) || (zoned && hasZone(dialect.timestampFormat) && dialect.timestampFormat) || undefined;
    // A format with a zone (%z) is never read into a TIMESTAMP (csv-reader.ts readType: TIMESTAMPTZ), and is the one a TIMESTAMPTZ column is read by.
    const formatted = format !== undefined && (zoned || !hasZone(format));
    // TIMESTAMP_NS holds no year before 1677: the reader refuses a short year's 0005 itself.
    const iso = (type === 'DATE' && dialect.dateFormat === undefined) || (type === 'TIMESTAMP' && dialect.timestampFormat === undefined);
    const lenient = INTEGER_SQL.test(type) || decimal || float !== undefined || offsets || iso || formatted || zoned;
    if (!lenient) return [];
    return [
      {
        index,
        name: names[index]!,
        type: type === 'INT' ? 'INTEGER' : type,
        read: 'VARCHAR',
        ...((decimal || float !== undefined) && dialect.decimalSeparator === ',' ? { comma: true } : {}),
        ...(formatted ? { format } : {}),
        ...(offsets ? { offsets: true as const } : {}),
      },
    ];
  });
}

/** Whether a strptime format reads a UTC offset or zone (%z, %Z; not a literal `%%z`). */
export function hasZone(format: string | undefined): boolean {
  return format !== undefined && /%[zZ]/.test(format.replaceAll('%%', ''));
}

/** The guarded column's text as its type's cast reads it. */
function castableSql(guard: CsvGuard, alias = ''): string {
  const value = `${alias}${quoteIdent(guard.name)}`;
  return guard.comma ? `replace(${value}, ',', '.')` : value;
}

/**
 * The guarded column's text converted to its type: by the format where it has one, except the words
 * the reader and try_strptime take for 1900-01-01, which are read as the cast reads them (infinity,
 * -infinity, 1970-01-01). The reader trims spaces around a value; so does this.
 */
function convertedSql(guard: CsvGuard, value: string): string {
  if (guard.type === 'TIMESTAMPTZ') {
    // As the reader reads such a column: by the cast, which takes ISO text with an offset or without one (UTC); a %z format reads the rest.
    const iso = isoCastSql(value, guard.type);
    return guard.format === undefined ? iso : `coalesce(${iso}, CAST(${formatParsedSql(guard.format, value)} AS TIMESTAMPTZ))`;
  }
  if (guard.format === undefined) {
    return guard.type === 'DATE' || guard.type === 'TIMESTAMP' ? isoCastSql(value, guard.type) : `TRY_CAST(${value} AS ${guard.type})`;
  }
  return `CASE WHEN lower(trim(${value})) IN ('infinity', '-infinity', 'epoch') THEN TRY_CAST(trim(${value}) AS ${guard.type}) ELSE CAST(${formatParsedSql(guard.format, value)} AS ${guard.type}) END`;
}

/** The text parsed by a strptime format, NULL where it does not read by it or writes a %Y year short. */
function formatParsedSql(format: string, value: string): string {
  const parsed = `try_strptime(${value}, ${quoteString(format)})`;
  return fourDigitYear(format) ? writtenYearSql(parsed, `strpos(${value}, lpad(CAST(year(${parsed}) AS VARCHAR), 4, '0')) > 0`) : parsed;
}

/**
 * `parsed` (a date or timestamp), or NULL where it is before the year 1000 and the text does not write
 * its year with 4 digits (`written`): %Y and the ISO cast take 1 to 4 digits, so `05/02/24` would be
 * year 24 (or 5), while `0024` is meant.
 */
function writtenYearSql(parsed: string, written: string): string {
  // -infinity is no year: it goes to the quarantine with its own reason (temporal-infinity.ts).
  return `CASE WHEN ${parsed} < TIMESTAMP '1000-01-01' AND isfinite(${parsed}) AND NOT ${written} THEN NULL ELSE ${parsed} END`;
}

/** The text cast to a date or timestamp type as ISO, NULL for a year before 1000 the text does not start with in 4 digits (`05/02/24`, `24-02-05`). */
function isoCastSql(value: string, type: string): string {
  return writtenYearSql(`TRY_CAST(${value} AS ${type})`, `regexp_matches(${value}, '^\\s*[-+]?\\d{4}')`);
}

/** Whether a strptime format reads the year by %Y (not a literal `%%Y`). */
function fourDigitYear(format: string): boolean {
  return format.replaceAll('%%', '').includes('%Y');
}

/** The value the reader gives a formatted column for `infinity`, `-infinity` and `epoch`. */
const WORD_AS_READ: Record<string, string> = { DATE: `DATE '1900-01-01'`, TIMESTAMP: `TIMESTAMP '1900-01-01 00:00:00'` };

/** Values before the year 1000, which the reader's %Y and the ISO cast also read from a short year (`24`): convertedSql tells the two apart. */
const BEFORE_YEAR_1000: Record<string, string> = { DATE: `DATE '1000-01-01'`, TIMESTAMP: `TIMESTAMP '1000-01-01 00:00:00'`, TIMESTAMPTZ: `TIMESTAMPTZ '1000-01-01 00:00:00+00'` };

/** True when `value` (text) is not NULL and does not convert to the guard's type, or converts with a change. */
function badSql(value: string, guard: CsvGuard): string {
  // A format parses the whole text strictly: a time of day the date format has no place for does not convert.
  if (guard.format !== undefined) return `(${value} IS NOT NULL AND ${convertedSql(guard, value)} IS NULL)`;
  return `(${value} IS NOT NULL AND (${convertedSql(guard, value)} IS NULL OR ${changedSql(value, guard.type)}))`;
}

/**
 * True when the cast would change the value (lossyCastSql): checked in full only for text that could hold a fraction or a time, the rest costs a byte search.
 * An integer written otherwise than as its number (nonIntegerTextSql) would lose its text too.
 */
function changedSql(value: string, type: string): string {
  if (type === 'TIMESTAMP' || type === 'TIMESTAMP_NS') return lossyCastSql(value, VARCHAR, type)!;
  // An offset is the instant's, kept; only text that reads as no timestamp is bad (convertedSql).
  if (type === 'TIMESTAMPTZ') return 'false';
  if (type === 'DOUBLE' || type === 'FLOAT') return `(${floatOutOfRangeSql(value, type)} OR ${floatDigitsLostSql(value, type)})`;
  const suspect = type === 'DATE' ? `length(${value}) > 10` : `(strpos(${value}, '.') > 0 OR strpos(${value}, 'e') > 0 OR strpos(${value}, 'E') > 0)`;
  const changed = `(${suspect} AND coalesce(${lossyCastSql(value, VARCHAR, type)}, false))`;
  return INTEGER_SQL.test(type) ? `(${changed} OR ${nonIntegerTextSql(value)})` : changed;
}


/**
 * True for a number beyond a double's (or float's) range: `1e400` reads as infinity, `1e-400` as 0.
 * Not the tokens `inf`, `infinity` and `nan`, which are the type's own values (as in JSON).
 */
function floatOutOfRangeSql(value: string, type: string): string {
  const number = `TRY_CAST(${value} AS ${type})`;
  return `((isinf(${number}) AND NOT regexp_full_match(trim(${value}), '[+-]?inf(inity)?', 'i')) OR (${number} = 0 AND regexp_matches(${value}, '^[^eE]*[1-9]')))`;
}

/**
 * True for a number at or past the type's last exact integer (FLOAT_EXACT_LIMIT) whose significant
 * digits are not the number's as read (`9007199254740993`, `12345678901234567.5`): whole units lost.
 * Smaller numbers are the nearest double, as any decimal fraction is (`0.1`): their last digits are
 * the binary's, not units. The digits are compared as text, for those large numbers only.
 */
function floatDigitsLostSql(value: string, type: string): string {
  const number = `TRY_CAST(${value} AS ${type})`;
  const digits = (text: string) => `trim(regexp_replace(split_part(lower(${text}), 'e', 1), '[^0-9]', '', 'g'), '0')`;
  return `(abs(${number}) >= ${FLOAT_EXACT_LIMIT[type]} AND NOT isinf(${number}) AND ${digits(value)} <> ${digits(`CAST(${number} AS VARCHAR)`)})`;
}

/** Whether the value DuckDB's reader read for a column by the guard's read type (text in `value`, from a reject) converts to the column's type. */
export function convertsSql(guard: CsvGuard, value: string): string {
  return `${convertedSql(guard, value)} IS NOT NULL`;
}

/** The select-list item that converts a guarded column (read as `guard.read`) on the streamed read, stopping the read (GUARD_MARK) at a value that needs the quarantine. */
export function guardedReadSql(guard: CsvGuard): string {
  const name = quoteIdent(guard.name);
  const value = castableSql(guard);
  const stop = `error(${quoteString(`${GUARD_MARK} (column ${guard.name})`)})`;
  if ((guard.type === 'DOUBLE' || guard.type === 'FLOAT') && guard.read === guard.type) {
    // Read as a number (a decimal comma too): one comparison. Infinity (1e400), NaN and every number past the last exact integer stop; the exact read judges them.
    // An underflow (1e-400 reads as 0) is not seen here: needText reads a column whose first bytes show one as text.
    return `CASE WHEN abs(${name}) >= ${FLOAT_EXACT_LIMIT[guard.type]} THEN ${stop} ELSE ${name} END AS ${name}`;
  }
  if (guard.read === 'DOUBLE') {
    const [low, high] = INTEGER_RANGE[guard.type]!;
    // One comparison where the range is symmetric (BIGINT, HUGEINT): 2% fewer instructions on the benchmark file than two.
    const inRange = low === -high ? `abs(${value}) <= ${high}` : `${value} BETWEEN ${low} AND ${high}`;
    return `CASE WHEN ${value} = trunc(${value}) AND ${inRange} THEN CAST(${value} AS ${guard.type}) WHEN ${value} IS NULL THEN NULL ELSE ${stop} END AS ${name}`;
  }
  if (guard.format !== undefined && guard.read === guard.type) {
    const shortYear = fourDigitYear(guard.format) ? ` OR ${value} < ${BEFORE_YEAR_1000[guard.type]!}` : '';
    return `CASE WHEN ${value} = ${WORD_AS_READ[guard.type]!}${shortYear} THEN ${stop} ELSE ${value} END AS ${name}`;
  }
  if (guard.format !== undefined) return `CAST(coalesce(${convertedSql(guard, value)}, CASE WHEN ${value} IS NULL THEN NULL ELSE ${stop} END) AS ${guard.type}) AS ${name}`;
  // The ISO cast reads `05/02/24` as the year 5: a year before 1000 (or -infinity, rare) stops the read, and the exact read looks at how it is written.
  if (guard.type === 'TIMESTAMPTZ' && guard.format === undefined) {
    // One cast per value: text it does not read, and a year before 1000 (which it may read from a short year), stop the read for the exact read to judge.
    const instant = `TRY_CAST(${value} AS TIMESTAMPTZ)`;
    return `CASE WHEN ${instant} >= ${BEFORE_YEAR_1000.TIMESTAMPTZ} THEN ${instant} WHEN ${value} IS NULL THEN NULL ELSE ${stop} END AS ${name}`;
  }
  if (guard.read === 'TIMESTAMP' && guard.type === 'TIMESTAMP') return `CASE WHEN ${value} < ${BEFORE_YEAR_1000.TIMESTAMP} THEN ${stop} ELSE ${value} END AS ${name}`;
  if (guard.read === 'TIMESTAMP') {
    return `CASE WHEN ${value} = CAST(CAST(${value} AS DATE) AS TIMESTAMP) AND ${value} >= ${BEFORE_YEAR_1000.TIMESTAMP} THEN CAST(${value} AS DATE) WHEN ${value} IS NULL THEN NULL ELSE ${stop} END AS ${name}`;
  }
  return `CAST(CASE WHEN ${changedSql(value, guard.type)} THEN ${stop} ELSE coalesce(${convertedSql(guard, value)}, CASE WHEN ${value} IS NULL THEN NULL ELSE ${stop} END) END AS ${guard.type}) AS ${name}`;
}

/** The reasons for a value the cast takes but would change: an integer's text, a number a double cannot hold (CASE branches, or nothing). */
function valueReasonSql(guard: CsvGuard, castable: string, value: string): string {
  const column = (text: string) => `${quoteString(`column ${guard.name}: `)} || left(${value}, 200) || ${quoteString(text)}`;
  if (INTEGER_SQL.test(guard.type)) {
    return `WHEN ${nonIntegerTextSql(castable)} THEN ${column(` is not written as a plain integer (a leading zero, 0x or _), which ${guard.type} would not keep`)} `;
  }
  if (guard.type !== 'DOUBLE' && guard.type !== 'FLOAT') return '';
  const kind = guard.type === 'DOUBLE' ? 'a double' : 'a float';
  return `WHEN ${floatOutOfRangeSql(castable, guard.type)} THEN ${column(` is beyond the range of ${kind}`)} WHEN ${floatDigitsLostSql(castable, guard.type)} THEN ${column(` has more digits than ${kind} holds`)} `;
}

/** Whether an error is a guarded read stopping at a value that needs the quarantine. */
export function isGuardStop(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = (e as { cause?: unknown }).cause) if (e.message.includes(GUARD_MARK)) return true;
  return false;
}

/** A WHERE condition: the row has a value in some guarded column that does not convert, or would change. */
function anyBadSql(guards: readonly CsvGuard[], alias = ''): string {
  return guards.map((g) => `coalesce(${badSql(castableSql(g, alias), g)}, false)`).join(' OR ');
}

/** Converts the guarded columns of a temp table that holds none of the rows anyBadSql finds (TRY_CAST: DuckDB also converts the deleted rows). */
export async function convertGuarded(duck: DuckDb, relation: string, guards: readonly CsvGuard[]): Promise<void> {
  for (const g of guards) await duck.run(`ALTER TABLE ${quoteIdent(relation)} ALTER COLUMN ${quoteIdent(g.name)} SET DATA TYPE ${g.type} USING ${convertedSql(g, castableSql(g))}`);
}

/** Files (by `sourceColumn`) of a temp table read from several files whose guarded columns hold a value that needs the quarantine. */
export async function filesWithGuardedValues(duck: DuckDb, relation: string, guards: readonly CsvGuard[], sourceColumn: string): Promise<string[]> {
  if (guards.length === 0) return [];
  const rows = await duck.rows<{ f: string }>(`SELECT DISTINCT ${quoteIdent(sourceColumn)} AS f FROM ${quoteIdent(relation)} WHERE ${anyBadSql(guards)}`);
  return rows.map((r) => r.f);
}

/** How quarantineGuarded writes the raw text of a row it cannot locate in the file. */
export interface RawDialect {
  delimiter: string;
  quote: string;
  escape: string;
  /** The read's columns, in file order. */
  columns: readonly string[];
}

/** Rows past the first this many of a file keep a NULL line: locating them holds each in memory. */
export const MAX_LOCATED = 100_000;

/** A temp table (ord, line, raw) of the records locateRecords found, by their ordinal. */
export async function locatedTable(duck: DuckDb, name: string, located: Map<number, LocatedRecord> | undefined): Promise<void> {
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(name)} (ord BIGINT, line BIGINT, raw VARCHAR)`);
  const entries = [...(located ?? new Map<number, LocatedRecord>()).entries()];
  for (let i = 0; i < entries.length; i += 500) {
    const values = entries.slice(i, i + 500).map(([ord, record]) => `(${ord}, ${record.line}, ${quoteString(record.raw)})`);
    await duck.run(`INSERT INTO ${quoteIdent(name)} VALUES ${values.join(', ')}`);
  }
}

/**
 * For a file read into the temp table `relation` (guarded columns as text, rows in file order): moves
 * every row with a guarded value that does not convert or would change into `rejects` (line, reason,
 * raw), with its reason (`column qty: cannot convert 1.5 to BIGINT`), and converts the guarded columns
 * of the rows left. `locate` finds the rows' lines and raw text in the file; where it cannot, the
 * line is NULL and `raw` is the row written back as a CSV line. Returns how many rows it moved.
 */
export async function quarantineGuarded(
  duck: DuckDb,
  input: {
    relation: string;
    rejects: string;
    guards: readonly CsvGuard[];
    dialect: RawDialect;
    locate(checks: RecordCheck[]): Promise<Map<number, LocatedRecord> | undefined>;
  },
): Promise<number> {
  const { relation, rejects, guards, dialect } = input;
  if (guards.length === 0) return 0;
  const table = quoteIdent(relation);
  const bad = anyBadSql(guards, 'r.');
  const found = await duck.rows<Record<string, string | bigint | null>>(
    `SELECT r.rowid AS __ord, ${guards.map((g, i) => `r.${quoteIdent(g.name)} AS g${i}`).join(', ')} FROM ${table} r WHERE ${bad} ORDER BY r.rowid LIMIT ${MAX_LOCATED}`,
  );
  if (found.length === 0) {
    await convertGuarded(duck, relation, guards);
    return 0;
  }
  const located = await input.locate(
    found.flatMap((row) => guards.flatMap((g, i) => (row[`g${i}`] === null ? [] : [{ ordinal: Number(row.__ord), column: g.index, value: String(row[`g${i}`]) }]))),
  );
  const lines = `${relation}_lines`;
  await locatedTable(duck, lines, located);
  try {
    const reason = `concat_ws('; ', ${guards
      .map((g) => {
        const value = `r.${quoteIdent(g.name)}`;
        // A plain timestamp guard finds text with an offset (or none that converts): name the offset, not a failed conversion.
        // Not for a short year (`05/02/24 10:00`), which TIMESTAMPTZ reads too: that one does not convert.
        const zone = (g.type === 'TIMESTAMP' || g.type === 'TIMESTAMP_NS') && g.format === undefined ? `WHEN ${isoCastSql(value, 'TIMESTAMPTZ')} IS NOT NULL THEN ${zoneLossReasonSql(g.name, value)} ` : '';
        return `CASE WHEN NOT coalesce(${badSql(castableSql(g, 'r.'), g)}, false) THEN NULL ${zone}${valueReasonSql(g, castableSql(g, 'r.'), value)}ELSE 'column ' || ${quoteString(g.name)} || ': cannot convert ' || left(${value}, 200) || ' to ${g.type}' END`;
      })
      .join(', ')})`;
    const field = (column: string) => {
      const text = `CAST(r.${quoteIdent(column)} AS VARCHAR)`;
      if (dialect.quote === '') return `coalesce(${text}, '')`;
      return `coalesce(${quoteString(dialect.quote)} || replace(${text}, ${quoteString(dialect.quote)}, ${quoteString(dialect.escape + dialect.quote)}) || ${quoteString(dialect.quote)}, '')`;
    };
    const rebuilt = `concat_ws(${quoteString(dialect.delimiter)}, ${dialect.columns.map(field).join(', ')})`;
    await duck.run(
      `INSERT INTO ${quoteIdent(rejects)} SELECT m.line, ${reason}, coalesce(m.raw, ${rebuilt}) FROM ${table} r LEFT JOIN ${quoteIdent(lines)} m ON m.ord = r.rowid WHERE ${bad}`,
    );
    const [{ moved }] = (await duck.rows<{ moved: bigint }>(`SELECT count(*) AS moved FROM ${table} WHERE ${anyBadSql(guards)}`)) as [{ moved: bigint }];
    await duck.run(`DELETE FROM ${table} WHERE ${anyBadSql(guards)}`);
    await convertGuarded(duck, relation, guards);
    return Number(moved);
  } finally {
    await duck.run(`DROP TABLE IF EXISTS ${quoteIdent(lines)}`);
  }
}
