import { encodeValue } from '../iceberg/values.js';
import type { DataFile, IcebergType, IcebergValue, PartitionValues, PrimitiveType, Schema, StructField } from '../iceberg/types.js';
import { type DuckDb, quoteString } from './duckdb.js';

interface ColumnChunkStats {
  path_in_schema: string;
  num_values: bigint | number;
  stats_min_value: string | null;
  stats_max_value: string | null;
  stats_null_count: bigint | number | null;
  total_compressed_size: bigint | number;
  row_group_id: bigint | number;
  row_group_num_rows: bigint | number;
}

/**
 * Builds the Iceberg data_file record for a Parquet file from its footer alone (parquet_metadata),
 * so no data is scanned twice. Bounds are kept only for columns that are not inside a list or map,
 * and only where every row group has statistics (spec: "Manifests", lower_bounds/upper_bounds).
 */
export async function dataFileFromParquet(
  db: DuckDb,
  input: { localPath: string; filePath: string; fileSizeInBytes: number; schema: Schema; partition: PartitionValues; content?: 0 | 1 | 2; equalityIds?: number[] },
): Promise<DataFile> {
  const chunks = await db.rows<ColumnChunkStats>(
    `SELECT path_in_schema, num_values, stats_min_value, stats_max_value, stats_null_count, total_compressed_size, row_group_id, row_group_num_rows
     FROM parquet_metadata(${quoteString(input.localPath)})`,
  );
  // The file's row count is the sum over its row groups (every chunk repeats its row group's count);
  // one footer read instead of a second parquet_file_metadata() call on every commit.
  const rowGroups = new Map<number, number>();
  for (const chunk of chunks) rowGroups.set(Number(chunk.row_group_id), Number(chunk.row_group_num_rows));
  const numRows = sum([...rowGroups.values()]);
  const leaves = leafColumns(input.schema.fields);
  const columnSizes = new Map<number, number>();
  const valueCounts = new Map<number, number>();
  const nullValueCounts = new Map<number, number>();
  const lowerBounds = new Map<number, Uint8Array>();
  const upperBounds = new Map<number, Uint8Array>();
  const byPath = new Map<string, ColumnChunkStats[]>();
  for (const chunk of chunks) {
    const list = byPath.get(chunk.path_in_schema) ?? [];
    list.push(chunk);
    byPath.set(chunk.path_in_schema, list);
  }
  for (const leaf of leaves) {
    const stats = byPath.get(leaf.path);
    if (!stats) continue;
    columnSizes.set(leaf.id, sum(stats.map((s) => s.total_compressed_size)));
    if (leaf.repeated) continue;
    valueCounts.set(leaf.id, sum(stats.map((s) => s.num_values)));
    if (stats.every((s) => s.stats_null_count !== null)) nullValueCounts.set(leaf.id, sum(stats.map((s) => s.stats_null_count ?? 0)));
    if (!boundsSupported(leaf.type)) continue;
    const nonEmpty = stats.filter((s) => Number(s.num_values) > Number(s.stats_null_count ?? -1));
    if (nonEmpty.length === 0 || nonEmpty.some((s) => s.stats_min_value === null || s.stats_max_value === null)) continue;
    let lower: IcebergValue | undefined;
    let upper: IcebergValue | undefined;
    for (const s of nonEmpty) {
      const min = parseStatValue(leaf.type, s.stats_min_value!);
      const max = parseStatValue(leaf.type, s.stats_max_value!);
      if (min === undefined || max === undefined) {
        lower = upper = undefined;
        break;
      }
      if (lower === undefined || lessThan(min, lower)) lower = min;
      if (upper === undefined || lessThan(upper, max)) upper = max;
    }
    if (lower === undefined || upper === undefined) continue;
    lowerBounds.set(leaf.id, encodeValue(leaf.type, lower));
    upperBounds.set(leaf.id, encodeValue(leaf.type, upper));
  }
  return {
    content: input.content ?? 0,
    filePath: input.filePath,
    fileFormat: 'PARQUET',
    partition: input.partition,
    recordCount: numRows,
    fileSizeInBytes: input.fileSizeInBytes,
    columnSizes,
    valueCounts,
    nullValueCounts,
    lowerBounds,
    upperBounds,
    ...(input.equalityIds ? { equalityIds: input.equalityIds } : {}),
  };
}

interface Leaf {
  id: number;
  path: string;
  type: PrimitiveType;
  repeated: boolean;
}

/** Primitive leaves with the path DuckDB's parquet_metadata prints (`a, b` for struct a.b; 3-level lists and maps). */
export function leafColumns(fields: StructField[], prefix: string[] = [], repeated = false): Leaf[] {
  const leaves: Leaf[] = [];
  for (const field of fields) collect(field.id, field.type, [...prefix, field.name], repeated, leaves);
  return leaves;
}

function collect(id: number, type: IcebergType, path: string[], repeated: boolean, out: Leaf[]): void {
  if (typeof type === 'string') {
    out.push({ id, path: path.join(', '), type, repeated });
    return;
  }
  switch (type.type) {
    case 'struct':
      for (const field of type.fields) collect(field.id, field.type, [...path, field.name], repeated, out);
      return;
    case 'list':
      collect(type.elementId, type.element, [...path, 'list', 'element'], true, out);
      return;
    case 'map':
      collect(type.keyId, type.key, [...path, 'key_value', 'key'], true, out);
      collect(type.valueId, type.value, [...path, 'key_value', 'value'], true, out);
      return;
  }
}

function boundsSupported(type: PrimitiveType): boolean {
  // Binary, fixed and uuid statistics come back as escaped text; without exact bytes no bound is safer.
  return !(type === 'binary' || type === 'uuid' || type.startsWith('fixed['));
}

function sum(values: (bigint | number | null)[]): number {
  let total = 0;
  for (const value of values) total += Number(value ?? 0);
  return total;
}

function lessThan(a: IcebergValue, b: IcebergValue): boolean {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0;
  return (a as number | bigint) < (b as number | bigint);
}

const MICROS_PER_DAY = 86_400_000_000n;

/** Parses DuckDB's text rendering of a Parquet min/max statistic into the Iceberg in-memory value. */
export function parseStatValue(type: PrimitiveType, text: string): IcebergValue | undefined {
  const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
  if (decimal) return parseDecimal(text, Number(decimal[2]));
  switch (type) {
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(text)) return undefined;
      return type === 'int' ? Number(text) : BigInt(text);
    }
    case 'float':
    case 'double': {
      const value = Number(text);
      // NaN never goes into bounds (spec: lower/upper bounds exclude NaN).
      return Number.isNaN(value) ? undefined : value;
    }
    case 'date':
      return parseDateDays(text);
    case 'time': {
      const match = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
      if (!match) return undefined;
      return (BigInt(match[1]!) * 3600n + BigInt(match[2]!) * 60n + BigInt(match[3]!)) * 1_000_000n + BigInt((match[4] ?? '').padEnd(6, '0') || '0');
    }
    case 'timestamp':
    case 'timestamptz':
      return parseTimestampMicros(text);
    case 'string':
      return text;
    default:
      return undefined;
  }
}

function parseDecimal(text: string, scale: number): bigint | undefined {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const fraction = (match[3] ?? '').padEnd(scale, '0');
  if (fraction.length > scale) return undefined;
  const unscaled = BigInt(match[2]! + fraction);
  return match[1] ? -unscaled : unscaled;
}

function parseDateDays(text: string): number | undefined {
  const match = /^(-?\d{4,})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 86_400_000);
}

function parseTimestampMicros(text: string): bigint | undefined {
  const match = /^(-?\d{4,}-\d{2}-\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([+-])(\d{2})(?::?(\d{2}))?)?$/.exec(text);
  if (!match) return undefined;
  const days = parseDateDays(match[1]!);
  if (days === undefined) return undefined;
  const fraction = (match[5] ?? '').slice(0, 6).padEnd(6, '0');
  let micros = BigInt(days) * MICROS_PER_DAY + (BigInt(match[2]!) * 3600n + BigInt(match[3]!) * 60n + BigInt(match[4]!)) * 1_000_000n + BigInt(fraction);
  if (match[6]) {
    const offset = (BigInt(match[7]!) * 3600n + BigInt(match[8] ?? '0') * 60n) * 1_000_000n;
    micros = match[6] === '+' ? micros - offset : micros + offset;
  }
  // Sub-microsecond digits were cut: the true value may be slightly larger, never smaller.
  return micros;
}
