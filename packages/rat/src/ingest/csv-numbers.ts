import type { DuckDb } from '../engine/duckdb.js';

/** What decides a number column's exact type: its sampled values written with more than 15 characters, and its shape. */
export interface NumberSample {
  /** Values longer than 15 characters (fewer digits always round-trip through a DOUBLE: DBL_DIG = 15). */
  long: string[];
  /** Whether every value is written without an exponent (`123.45`, not `1.2345e2`). */
  plain: boolean;
  /** The most digits after the decimal separator, and before it (leading zeros left out). */
  scale: number;
  whole: number;
}

/**
 * DuckDB's sniffer types a column DOUBLE when its integers do not fit BIGINT
 * (`99999999999999999999999`, `18446744073709551615`) or its numbers have more significant digits
 * than a DOUBLE holds (`123456789012345678.123456789`): read so, they lose digits without a word.
 * Such a column is read as DECIMAL(38, s) instead, with s the most fraction digits in the sample,
 * when every sampled value fits; else as text. The decimal read is checked (csv-guard.ts): a later
 * value with more fraction digits goes to the quarantine, not rounded.
 *
 * `sample` gives the shape of the DOUBLE columns (by index); only their long values are judged
 * here, so an ordinary file pays for a look at those and nothing on its read.
 */
export async function exactNumberTypes(types: readonly string[], sample: (columns: number[]) => Promise<NumberSample[]>): Promise<string[]> {
  const doubles = types.flatMap((type, index) => (/^DOUBLE$/i.test(type.trim()) ? [index] : []));
  const exact = [...types];
  if (doubles.length === 0) return exact;
  const samples = await sample(doubles);
  doubles.forEach((index, k) => {
    const column = samples[k]!;
    if (column.long.every(doubleHolds)) return;
    exact[index] = column.plain && column.whole + column.scale <= 38 ? `DECIMAL(38,${column.scale})` : 'VARCHAR';
  });
  return exact;
}

/** The NumberSample of each column from its values as text (the sample already split into fields); `point` is the decimal separator. */
export function sampleOfValues(values: readonly string[], point: '.' | ','): NumberSample {
  const sample: NumberSample = { long: [], plain: true, scale: 0, whole: 0 };
  for (const raw of values) {
    const value = raw.trim();
    if (value === '') continue;
    if (value.length > 15) sample.long.push(point === ',' ? value.replace(',', '.') : value);
    const [whole = '', fraction = ''] = value.replace(/^[+-]/, '').split(point);
    sample.plain &&= /^\d*$/.test(whole) && /^\d*$/.test(fraction);
    sample.scale = Math.max(sample.scale, fraction.length);
    sample.whole = Math.max(sample.whole, whole.replace(/^0+/, '').length);
  }
  return sample;
}

/**
 * The NumberSample of columns `c<i>` of `sampleSql` (the rows the sniffer read, every column text),
 * by DuckDB: first only the long values (one length test per value); the shape only for a column
 * with a long value a DOUBLE cannot hold.
 */
export async function sampleByQuery(duck: DuckDb, sampleSql: string, columns: number[], point: '.' | ','): Promise<NumberSample[]> {
  const value = (index: number) => `trim(c${index})`;
  // The columns' values as rows of (column, value), then grouped: `list(...) FILTER (...)` per column costs
  // DuckDB time quadratic in the number of columns (500 columns of 10,000 rows: 4 s, and 1,000: 58 s).
  const longs = await duck.rows<{ k: number; l: string[] }>(
    `SELECT CAST(k AS INTEGER) AS k, list(v)[1:100] AS l FROM (UNPIVOT (SELECT ${columns.map((index, k) => `${value(index)} AS "${k}"`).join(', ')} FROM (${sampleSql})) ON COLUMNS(*) INTO NAME k VALUE v) WHERE length(v) > 15 GROUP BY k`,
  );
  const byColumn = new Map(longs.map((row) => [Number(row.k), row.l]));
  const long = columns.map((_, k) => (byColumn.get(k) ?? []).map((v) => (point === ',' ? v.replace(',', '.') : v)));
  const judged = columns.flatMap((index, k) => (long[k]!.every(doubleHolds) ? [] : [index]));
  const shapes = new Map<number, NumberSample>();
  if (judged.length > 0) {
    const unsigned = (index: number) => `ltrim(${value(index)}, '+-')`;
    const items = judged.map(
      (index, k) =>
        `bool_and(CASE WHEN ${value(index)} <> '' THEN regexp_full_match(${value(index)}, '[+-]?[0-9]*(\\${point}[0-9]*)?') END) AS p${k},
         max(length(split_part(${unsigned(index)}, '${point}', 2))) AS s${k},
         max(length(ltrim(split_part(${unsigned(index)}, '${point}', 1), '0'))) AS w${k}`,
    );
    const [row] = await duck.rows<Record<string, unknown>>(`SELECT ${items.join(', ')} FROM (${sampleSql})`);
    judged.forEach((index, k) => shapes.set(index, { long: [], plain: row?.[`p${k}`] !== false, scale: Number(row?.[`s${k}`] ?? 0), whole: Number(row?.[`w${k}`] ?? 0) }));
  }
  return columns.map((index, k) => ({ ...(shapes.get(index) ?? { plain: true, scale: 0, whole: 0 }), long: long[k]! }));
}

/**
 * Whether a DOUBLE holds the number written `text` exactly (JavaScript prints a double's shortest
 * round-trip form). A number beyond a double's range (`1e400`) counts as held: it does not make its
 * column a decimal or text, the double column's check sends it to the quarantine (csv-guard.ts).
 */
export function doubleHolds(text: string): boolean {
  const parsed = Number(text);
  if (!Number.isFinite(parsed)) return true;
  const written = decimalForm(text);
  return written === undefined || written === decimalForm(String(parsed));
}

/** A decimal number as `<sign><digits>e<exponent>` without leading or trailing zeros, so equal numbers compare equal. */
function decimalForm(text: string): string | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  let power = Number(exponent) - fraction.length;
  const trailing = /0+$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  power += trailing;
  return `${sign === '-' ? '-' : ''}${digits}e${power}`;
}
