import { normalize } from 'node:path';
import type { PlannedScan } from '../iceberg/scan-planner.js';
import type { DataFile, IcebergValue, PartitionSpec, PrimitiveType, Schema, StructField } from '../iceberg/types.js';
import { valueToJson } from '../iceberg/values.js';
import { quoteFilePath, quoteIdent, quoteString } from './duckdb.js';
import { duckDbTypeOf } from './type-mapping.js';

export interface ScanSqlOptions {
  /** Local path DuckDB opens for a file location. */
  localPath(location: string): Promise<string>;
  /**
   * True only when every data file is known to store the scan schema's columns under their current
   * names and types, so that DuckDB may read them by name (no field-id mapping).
   */
  filesMatchSchema(scan: PlannedScan): boolean;
  /** The table's partition specs: identity partition values stand in for columns a data file lacks. */
  partitionSpecs?: PartitionSpec[];
  /** Field ids stored in each Parquet file (from its footer), by local path; without it every file is taken to store every column. */
  storedFieldIds?(paths: string[]): Promise<Map<string, Set<number>>>;
}

const DOWNLOAD_CONCURRENCY = 8;
/**
 * Data files live under Iceberg partition paths (`k=1/`), which DuckDB would otherwise read as hive
 * partitions: the path value would replace the column's stored value (URL-decoded, with an inferred type).
 */
const NO_HIVE = 'hive_partitioning=false';

/**
 * The DuckDB query that reads a planned Iceberg scan: the selected Parquet files, columns resolved
 * by field id when files were written under another schema, minus rows removed by position deletes
 * (matched on file and row position) and equality deletes (matched on the equality columns, only for
 * the data files the planner attached them to). Spec: "Scan Planning", "Delete Formats".
 */
export async function scanSql(scan: PlannedScan, options: ScanSqlOptions): Promise<string> {
  const schema = scan.schema;
  if (scan.tasks.length === 0) {
    const nulls = schema.fields.map((f) => `CAST(NULL AS ${duckDbTypeOf(f.type)}) AS ${quoteIdent(f.name)}`).join(', ');
    return `SELECT ${nulls || '1 AS __empty'} WHERE false`;
  }
  const dataPaths = await mapLimit(scan.tasks, (task) => localPathOf(options, task.dataFile.filePath));
  const pathByLocation = new Map(scan.tasks.map((task, i) => [task.dataFile.filePath, dataPaths[i]!]));
  const constants = await identityConstants(scan, pathByLocation, options);
  const value = (f: StructField): string => (constants.has(f.id) ? `COALESCE(c.${quoteIdent(f.name)}, d.${quoteIdent(f.name)})` : `d.${quoteIdent(f.name)}`);
  const columns = schema.fields.map((f) => (constants.has(f.id) ? `${value(f)} AS ${quoteIdent(f.name)}` : value(f))).join(', ');
  // With the field-id mapping a column missing from a file reads as NULL instead of failing to bind.
  const mapping = constants.size === 0 && options.filesMatchSchema(scan) ? '' : `, schema=${fieldIdMapping(schema)}`;
  const hasDeletes = scan.tasks.some((t) => t.positionDeletes.length > 0 || t.equalityDeletes.length > 0);
  const fileList = `[${dataPaths.map(quoteFilePath).join(', ')}]`;
  if (!hasDeletes && constants.size === 0) {
    const projection = schema.fields.map((f) => quoteIdent(f.name)).join(', ');
    return `SELECT ${projection} FROM read_parquet(${fileList}${mapping}, ${NO_HIVE})`;
  }

  const conditions: string[] = [];
  const positionFiles = unique(scan.tasks.flatMap((t) => t.positionDeletes));
  if (positionFiles.length > 0) {
    const paths = await mapLimit(positionFiles, (f) => localPathOf(options, f.filePath));
    // Delete files name data files by their location as written; map each to the local path DuckDB reports.
    const locations = `(VALUES ${[...pathByLocation].map(([location, path]) => `(${quoteString(location)}, ${quoteString(path)})`).join(', ')}) AS m(location, path)`;
    conditions.push(
      `NOT EXISTS (SELECT 1 FROM read_parquet([${paths.map(quoteFilePath).join(', ')}], ${NO_HIVE}) p JOIN ${locations} ON p.file_path = m.location WHERE m.path = d.filename AND p.pos = d.file_row_number)`,
    );
  }
  const equalityGroups = new Map<string, { ids: number[]; files: Map<DataFile, number>; targets: [string, number][] }>();
  type Group = { ids: number[]; files: Map<DataFile, number>; targets: [string, number][] };
  for (const task of scan.tasks) {
    for (const { file } of task.equalityDeletes) {
      const ids = file.equalityIds ?? [];
      const key = ids.join(',');
      const group: Group = equalityGroups.get(key) ?? { ids, files: new Map<DataFile, number>(), targets: [] };
      if (!group.files.has(file)) group.files.set(file, group.files.size);
      group.targets.push([pathByLocation.get(task.dataFile.filePath)!, group.files.get(file)!]);
      equalityGroups.set(key, group);
    }
  }
  for (const group of equalityGroups.values()) {
    const fields = group.ids.map((id) => schemaFieldById(schema, id)).filter((f) => f !== undefined);
    if (fields.length !== group.ids.length) continue;
    const deleteFiles = [...group.files.keys()];
    const deletePaths = await mapLimit(deleteFiles, (f) => localPathOf(options, f.filePath));
    const idMap = `MAP {${fields.map((f) => `${f.id}: {name: ${quoteString(f.name)}, type: ${quoteString(duckDbTypeOf(f.type))}, default_value: NULL}`).join(', ')}}`;
    const rows = deletePaths
      .map((path, index) => `SELECT ${index} AS __del, ${fields.map((f) => quoteIdent(f.name)).join(', ')} FROM read_parquet(${quoteFilePath(path)}, schema=${idMap}, ${NO_HIVE})`)
      .join(' UNION ALL ');
    const targets = `(VALUES ${group.targets.map(([path, index]) => `(${quoteString(path)}, ${index})`).join(', ')}) AS t(path, __del)`;
    const match = fields.map((f) => `e.${quoteIdent(f.name)} IS NOT DISTINCT FROM ${value(f)}`).join(' AND ');
    conditions.push(`NOT EXISTS (SELECT 1 FROM (${rows}) e JOIN ${targets} ON e.__del = t.__del WHERE t.path = d.filename AND ${match})`);
  }
  const source = `read_parquet(${fileList}${mapping}, filename=true, file_row_number=true, ${NO_HIVE})`;
  const join = constants.size > 0 ? ` LEFT JOIN ${constantsTable(schema, constants, pathByLocation)} ON c.__path = d.filename` : '';
  return `SELECT ${columns} FROM ${source} d${join}${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''}`;
}

/**
 * Spec "Column Projection": a column a data file does not store reads as the file's identity partition
 * value (tables migrated from Hive, or written with partition columns left out of the files; their
 * manifests may still carry metrics for the column, so only the Parquet footer tells).
 * Returns field id -> data file location -> value, for the files that lack the column.
 */
async function identityConstants(scan: PlannedScan, pathByLocation: Map<string, string>, options: ScanSqlOptions): Promise<Map<number, Map<string, IcebergValue>>> {
  const candidates: { location: string; fieldId: number; value: IcebergValue }[] = [];
  for (const task of scan.tasks) {
    const file = task.dataFile;
    for (const field of options.partitionSpecs?.find((s) => s.specId === task.specId)?.fields ?? []) {
      if (field.transform !== 'identity' || !(field.fieldId in file.partition)) continue;
      const column = scan.schema.fields.find((f) => f.id === field.sourceId);
      if (column && typeof column.type === 'string') candidates.push({ location: file.filePath, fieldId: column.id, value: file.partition[field.fieldId] as IcebergValue });
    }
  }
  const constants = new Map<number, Map<string, IcebergValue>>();
  if (candidates.length === 0 || !options.storedFieldIds) return constants;
  const stored = await options.storedFieldIds([...new Set(candidates.map((c) => pathByLocation.get(c.location)!))]);
  for (const candidate of candidates) {
    if (stored.get(pathByLocation.get(candidate.location)!)?.has(candidate.fieldId)) continue;
    const byFile = constants.get(candidate.fieldId) ?? new Map<string, IcebergValue>();
    byFile.set(candidate.location, candidate.value);
    constants.set(candidate.fieldId, byFile);
  }
  return constants;
}

/** `(VALUES (local path, constant, ...), ...) AS c(__path, column, ...)`; NULL where a file stores the column. */
function constantsTable(schema: Schema, constants: Map<number, Map<string, IcebergValue>>, pathByLocation: Map<string, string>): string {
  const fields = schema.fields.filter((f) => constants.has(f.id));
  const rows = [...pathByLocation].map(([location, path]) => {
    const values = fields.map((f) => {
      const byFile = constants.get(f.id)!;
      return sqlLiteral(f.type as PrimitiveType, byFile.has(location) ? byFile.get(location)! : null);
    });
    return `(${[quoteString(path), ...values].join(', ')})`;
  });
  return `(VALUES ${rows.join(', ')}) AS c(__path, ${fields.map((f) => quoteIdent(f.name)).join(', ')})`;
}

function sqlLiteral(type: PrimitiveType, value: IcebergValue): string {
  const duckType = duckDbTypeOf(type);
  if (value === null) return `CAST(NULL AS ${duckType})`;
  const text = String(valueToJson(type, value));
  if (type === 'binary' || type.startsWith('fixed[')) return `from_hex(${quoteString(text)})`;
  return `CAST(${quoteString(text)} AS ${duckType})`;
}

/** DuckDB's read_parquet `schema=` value: field id -> current name and type, NULL for files without the field. */
export function fieldIdMapping(schema: Schema): string {
  return `MAP {${schema.fields
    .map((f) => `${f.id}: {name: ${quoteString(f.name)}, type: ${quoteString(duckDbTypeOf(f.type))}, default_value: NULL}`)
    .join(', ')}}`;
}

function schemaFieldById(schema: Schema, id: number) {
  return schema.fields.find((f) => f.id === id);
}

function unique(files: DataFile[]): DataFile[] {
  return [...new Map(files.map((file) => [file.filePath, file])).values()];
}

/**
 * The path DuckDB opens for a file, normalized: a path holding a glob character is quoted as a pattern
 * (quoteFilePath), and DuckDB then reports the file it matched (`filename`, `file_name`) with `//`
 * collapsed, which must still equal the path the joins on file name compare it with.
 */
async function localPathOf(options: ScanSqlOptions, location: string): Promise<string> {
  return normalize(await options.localPath(location));
}

async function mapLimit<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  }
  await Promise.all(Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, items.length) }, worker));
  return results;
}
