import { type DuckDb, quoteIdent } from '../engine/duckdb.js';

/**
 * DuckDB's sniffer types a column DOUBLE when its integers do not fit BIGINT
 * (`99999999999999999999999`, `18446744073709551615`) or its numbers have more significant digits
 * than a DOUBLE holds (`123456789012345678.123456789`): read so, they lose digits without a word.
 * Such a column is read as DECIMAL(38, s) instead, with s the largest number of fraction digits in
 * the sample, where every sampled value fits; else as text. The decimal read is checked
 * (csv-guard.ts): a later value with more fraction digits is quarantined, not rounded.
 *
 * Only columns the sniffer typed DOUBLE are looked at, over the rows it sampled, and in one query
 * that reads just those columns as text: a file whose doubles are ordinary pays that query and
 * nothing on its read.
 */
export async function exactNumberTypes(
  duck: DuckDb,
  input: {
    /** read_csv over the sampled rows, every column text: `read_csv(path, ...) LIMIT n`. */
    sampleSql: string;
    /** The read's column names, in file order. */
    names: readonly string[];
    /** The sniffed types, same order. */
    types: readonly string[];
    decimalSeparator: '.' | ',';
  },
): Promise<string[]> {
  const doubles = input.types.flatMap((type, index) => (/^DOUBLE$/i.test(type.trim()) ? [index] : []));
  if (doubles.length === 0) return [...input.types];
  const point = input.decimalSeparator;
  const items = doubles.flatMap((index, k) => {
    const value = `trim(${quoteIdent(input.names[index]!)})`;
    const digits = `length(regexp_replace(${value}, '[^0-9]', '', 'g'))`;
    const unsigned = `ltrim(${value}, '+-')`;
    return [
      // Fewer than 16 digits round-trip through a DOUBLE (DBL_DIG = 15): only longer values are judged, in JavaScript.
      `list(${value}) FILTER (WHERE ${digits} > 15)[1:100] AS long${k}`,
      `bool_and(regexp_full_match(${value}, '[+-]?[0-9]*(\\${point}[0-9]*)?')) FILTER (WHERE ${value} <> '') AS plain${k}`,
      `max(length(split_part(${unsigned}, '${point}', 2))) AS scale${k}`,
      `max(length(ltrim(split_part(${unsigned}, '${point}', 1), '0'))) AS whole${k}`,
    ];
  });
  const [row] = await duck.rows<Record<string, unknown>>(`SELECT ${items.join(', ')} FROM (${input.sampleSql})`);
  const types = [...input.types];
  doubles.forEach((index, k) => {
    const long = (row?.[`long${k}`] as string[] | null) ?? [];
    if (!long.some((v) => !doubleHolds(point === ',' ? v.replace(',', '.') : v))) return;
    const scale = Number(row![`scale${k}`] ?? 0);
    const whole = Number(row![`whole${k}`] ?? 0);
    types[index] = row![`plain${k}`] === true && whole + scale <= 38 ? `DECIMAL(38,${scale})` : 'VARCHAR';
  });
  return types;
}

/** Whether a DOUBLE holds the number written `text` exactly (JavaScript prints a double's shortest round-trip form). */
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
