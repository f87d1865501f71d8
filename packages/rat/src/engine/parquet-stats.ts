import { encodeValue } from '../iceberg/values.js';
import type { DataFile, IcebergType, IcebergValue, PartitionValues, PrimitiveType, Schema, StructField } from '../iceberg/types.js';
import { type DuckDb, quoteFilePath } from './duckdb.js';
import { parseDuckDbDate, parseDuckDbTimestamp } from './temporal-text.js';

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

/** What one Parquet file says about one leaf column, from its footer or from the COPY that wrote it. */
interface LeafStats {
  size: number;
  values: number;
  /** Undefined when some row group does not say. */
  nulls: number | undefined;
  /** Min and max (DuckDB's text) of each part holding non-null values; undefined when one of them has none. */
  ranges: { min: string; max: string }[] | undefined;
}

export interface DataFileInput {
  filePath: string;
  fileSizeInBytes: number;
  schema: Schema;
  partition: PartitionValues;
  content?: 0 | 1 | 2;
  equalityIds?: number[];
}

/**
 * Builds the Iceberg data_file record for an existing Parquet file from its footer alone
 * (parquet_metadata), so no data is scanned twice. Bounds are kept only for columns that are not
 * inside a list or map, and only where every row group has statistics (spec: "Manifests",
 * lower_bounds/upper_bounds).
 */
export async function dataFileFromParquet(db: DuckDb, input: DataFileInput & { localPath: string }): Promise<DataFile> {
  const chunks = await db.rows<ColumnChunkStats>(
    `SELECT path_in_schema, num_values, stats_min_value, stats_max_value, stats_null_count, total_compressed_size, row_group_id, row_group_num_rows
     FROM parquet_metadata(${quoteFilePath(input.localPath)})`,
  );
  // The file's row count is the sum over its row groups (every chunk repeats its row group's count).
  const rowGroups = new Map<number, number>();
  for (const chunk of chunks) rowGroups.set(Number(chunk.row_group_id), Number(chunk.row_group_num_rows));
  const byPath = new Map<string, ColumnChunkStats[]>();
  for (const chunk of chunks) {
    const list = byPath.get(chunk.path_in_schema) ?? [];
    list.push(chunk);
    byPath.set(chunk.path_in_schema, list);
  }
  return buildDataFile(input, sum([...rowGroups.values()]), (leaf) => {
    const stats = byPath.get(leaf.path);
    if (!stats) return undefined;
    const nonEmpty = stats.filter((s) => Number(s.num_values) > Number(s.stats_null_count ?? -1));
    return {
      size: sum(stats.map((s) => s.total_compressed_size)),
      values: sum(stats.map((s) => s.num_values)),
      nulls: stats.every((s) => s.stats_null_count !== null) ? sum(stats.map((s) => s.stats_null_count)) : undefined,
      ranges: nonEmpty.some((s) => s.stats_min_value === null || s.stats_max_value === null) ? undefined : nonEmpty.map((s) => ({ min: s.stats_min_value!, max: s.stats_max_value! })),
    };
  });
}

/** One row of `COPY ... (FORMAT parquet, RETURN_STATS)`: a file DuckDB wrote, as JSON values. */
export interface CopyStatsRow {
  filename: string;
  count: string | number;
  file_size_bytes: string | number;
  /** Per leaf column (`"a"."b"`): column_size_bytes, num_values, null_count, min, max, has_nan. */
  column_statistics: { key: string; value: { key: string; value: string }[] }[] | null;
}

/**
 * Builds the data_file record of a Parquet file from the statistics the COPY that wrote it
 * returned (RETURN_STATS): no second read of the file, no extra DuckDB call. DuckDB computes them
 * over the whole file, the same values its footer holds; a float column with NaN gets no bounds
 * (DuckDB sorts NaN above every number, so bounds without it would prune rows a filter matches).
 */
export function dataFileFromCopyStats(row: CopyStatsRow, input: Omit<DataFileInput, 'fileSizeInBytes'>): DataFile {
  const columns = new Map<string, Map<string, string>>();
  for (const column of row.column_statistics ?? []) columns.set(column.key, new Map(column.value.map((e) => [e.key, e.value])));
  return buildDataFile({ ...input, fileSizeInBytes: Number(row.file_size_bytes) }, Number(row.count), (leaf) => {
    const stats = columns.get(leaf.copyKey);
    if (!stats) return undefined;
    const values = Number(stats.get('num_values') ?? 0);
    const nulls = stats.has('null_count') ? Number(stats.get('null_count')) : undefined;
    const min = stats.get('min');
    const max = stats.get('max');
    const empty = nulls !== undefined && nulls >= values;
    const ranges = empty ? [] : min === undefined || max === undefined || stats.get('has_nan') === 'true' ? undefined : [{ min, max }];
    return { size: Number(stats.get('column_size_bytes') ?? 0), values, nulls, ranges };
  });
}

/**
 * The first date or timestamp column (at any depth) of a file the COPY wrote that holds `infinity` or
 * `-infinity`, with that value; undefined when none does. DuckDB has these values (read from
 * PostgreSQL, or text 'infinity' read as a date), Iceberg has not: a date is a count of days, a
 * timestamp of microseconds, and DuckDB writes its infinities as the largest and smallest counts,
 * which every reader then takes for a real date (5881580-07-11). The statistics DuckDB returns show
 * them as min or max, so no value is checked row by row.
 */
export function infiniteTemporal(row: CopyStatsRow, schema: Schema): { column: string; type: PrimitiveType; value: string } | undefined {
  const columns = new Map<string, Map<string, string>>();
  for (const column of row.column_statistics ?? []) columns.set(column.key, new Map(column.value.map((e) => [e.key, e.value])));
  for (const leaf of leafColumns(schema.fields)) {
    if (!TEMPORAL_TYPES.has(leaf.type)) continue;
    const stats = columns.get(leaf.copyKey);
    const value = [stats?.get('min'), stats?.get('max')].find((v) => v === 'infinity' || v === '-infinity');
    if (value) return { column: leaf.path.replaceAll(', ', '.'), type: leaf.type, value };
  }
  return undefined;
}

const TEMPORAL_TYPES = new Set<PrimitiveType>(['date', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns']);

function buildDataFile(input: DataFileInput, recordCount: number, statsOf: (leaf: Leaf) => LeafStats | undefined): DataFile {
  const columnSizes = new Map<number, number>();
  const valueCounts = new Map<number, number>();
  const nullValueCounts = new Map<number, number>();
  const lowerBounds = new Map<number, Uint8Array>();
  const upperBounds = new Map<number, Uint8Array>();
  for (const leaf of leafColumns(input.schema.fields)) {
    const stats = statsOf(leaf);
    if (!stats) continue;
    columnSizes.set(leaf.id, stats.size);
    if (leaf.repeated) continue;
    valueCounts.set(leaf.id, stats.values);
    if (stats.nulls !== undefined) nullValueCounts.set(leaf.id, stats.nulls);
    if (!boundsSupported(leaf.type) || stats.ranges === undefined || stats.ranges.length === 0) continue;
    let lower: IcebergValue | undefined;
    let upper: IcebergValue | undefined;
    for (const range of stats.ranges) {
      const min = parseStatValue(leaf.type, range.min);
      const max = parseStatValue(leaf.type, range.max);
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
    recordCount,
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
  /** As parquet_metadata prints it: `a, b` for struct a.b; lists and maps with their 3-level groups. */
  path: string;
  /** As RETURN_STATS keys it: the DuckDB column path, each name quoted (`"a"."b"`, `"l"."element"`, `"m"."key"`). */
  copyKey: string;
  type: PrimitiveType;
  repeated: boolean;
}

export function leafColumns(fields: StructField[]): Leaf[] {
  const leaves: Leaf[] = [];
  for (const field of fields) collect(field.id, field.type, [field.name], [field.name], false, leaves);
  return leaves;
}

function collect(id: number, type: IcebergType, path: string[], duckPath: string[], repeated: boolean, out: Leaf[]): void {
  if (typeof type === 'string') {
    out.push({ id, path: path.join(', '), copyKey: duckPath.map((name) => `"${name.replaceAll('"', '""')}"`).join('.'), type, repeated });
    return;
  }
  switch (type.type) {
    case 'struct':
      for (const field of type.fields) collect(field.id, field.type, [...path, field.name], [...duckPath, field.name], repeated, out);
      return;
    case 'list':
      collect(type.elementId, type.element, [...path, 'list', 'element'], [...duckPath, 'element'], true, out);
      return;
    case 'map':
      collect(type.keyId, type.key, [...path, 'key_value', 'key'], [...duckPath, 'key'], true, out);
      collect(type.valueId, type.value, [...path, 'key_value', 'value'], [...duckPath, 'value'], true, out);
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

/** Parses DuckDB's text rendering of a Parquet min/max statistic into the Iceberg in-memory value. */
export function parseStatValue(type: PrimitiveType, text: string): IcebergValue | undefined {
  const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
  if (decimal) return parseDecimal(text, Number(decimal[2]));
  switch (type) {
    case 'boolean':
      // parquet_metadata prints true/false, RETURN_STATS 1/0.
      return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : undefined;
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
      return parseDuckDbDate(text);
    case 'time': {
      const match = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
      if (!match) return undefined;
      return (BigInt(match[1]!) * 3600n + BigInt(match[2]!) * 60n + BigInt(match[3]!)) * 1_000_000n + BigInt((match[4] ?? '').padEnd(6, '0') || '0');
    }
    case 'timestamp':
    case 'timestamptz':
      return parseDuckDbTimestamp(text, true);
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
