import { normalize } from 'node:path';
import type { PlannedScan } from '../iceberg/scan-planner.js';
import type { DataFile, IcebergValue, PartitionSpec, PrimitiveType, Schema, StructField } from '../iceberg/types.js';
import { valueToJson } from '../iceberg/values.js';
import { quoteFilePath, quoteIdent, quoteString } from './duckdb.js';
import type { NameMappedProjection } from './name-mapped-projection.js';
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
  /**
   * For a table with a name mapping: how each file that stores no field ids reads by name, by local
   * path; files with field ids are absent from the result. Spec "Column Projection", rule 2.
   */
  nameMapped?(paths: string[], schema: Schema): Promise<Map<string, NameMappedProjection>>;
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
  const byName = options.nameMapped ? await options.nameMapped(dataPaths, schema) : new Map<string, NameMappedProjection>();
  const constants = await identityConstants(scan, pathByLocation, byName, options);
  const value = (f: StructField): string => (constants.has(f.id) ? `COALESCE(c.${quoteIdent(f.name)}, d.${quoteIdent(f.name)})` : `d.${quoteIdent(f.name)}`);
  const columns = schema.fields.map((f) => (constants.has(f.id) ? `${value(f)} AS ${quoteIdent(f.name)}` : value(f))).join(', ');
  // With the field-id mapping a column missing from a file reads as NULL instead of failing to bind.
  const mapping = constants.size === 0 && options.filesMatchSchema(scan) ? '' : `, schema=${fieldIdMapping(schema)}`;
  const hasDeletes = scan.tasks.some((t) => t.positionDeletes.length > 0 || t.equalityDeletes.length > 0);
  const source = (withPositions: boolean): string => dataSource(schema, dataPaths, mapping, byName, withPositions);
  if (!hasDeletes && constants.size === 0) {
    const projection = schema.fields.map((f) => quoteIdent(f.name)).join(', ');
    return `SELECT ${projection} FROM ${source(false)}`;
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
  const join = constants.size > 0 ? ` LEFT JOIN ${constantsTable(schema, constants, pathByLocation)} ON c.__path = d.filename` : '';
  return `SELECT ${columns} FROM ${source(true)} d${join}${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''}`;
}

/**
 * The data files as one relation with the schema's columns (and, `withPositions`, each row's
 * `filename` and `file_row_number` for the deletes): files with field ids in one read_parquet, files
 * read by name through the name mapping in one read_parquet per file shape and projection (the files
 * of one import share it), all under UNION ALL.
 */
function dataSource(schema: Schema, paths: string[], mapping: string, byName: Map<string, NameMappedProjection>, withPositions: boolean): string {
  const positions = withPositions ? ', filename=true, file_row_number=true' : '';
  const read = (files: string[], extra: string): string => `read_parquet([${files.map(quoteFilePath).join(', ')}]${extra}${positions}, ${NO_HIVE})`;
  const byId = paths.filter((p) => !byName.has(p));
  if (byName.size === 0) return read(byId, mapping);
  const groups = new Map<string, { projection: NameMappedProjection; files: string[] }>();
  for (const path of paths) {
    const projection = byName.get(path);
    if (!projection) continue;
    const group = groups.get(projection.key) ?? { projection, files: [] };
    group.files.push(path);
    groups.set(projection.key, group);
  }
  const tail = withPositions ? ', filename, file_row_number' : '';
  const parts = [...groups.values()].map(({ projection, files }) => `SELECT ${projection.columns.join(', ')}${tail} FROM ${read(files, '')}`);
  if (byId.length > 0) parts.unshift(`SELECT ${schema.fields.map((f) => quoteIdent(f.name)).join(', ')}${tail} FROM ${read(byId, mapping)}`);
  return `(${parts.join(' UNION ALL ')})`;
}

/**
 * Spec "Column Projection": a column a data file does not store reads as the file's identity partition
 * value (tables migrated from Hive, or written with partition columns left out of the files; their
 * manifests may still carry metrics for the column, so only the Parquet footer tells).
 * Returns field id -> data file location -> value, for the files that lack the column.
 */
async function identityConstants(
  scan: PlannedScan,
  pathByLocation: Map<string, string>,
  byName: Map<string, NameMappedProjection>,
  options: ScanSqlOptions,
): Promise<Map<number, Map<string, IcebergValue>>> {
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
  if (candidates.length === 0 || (!options.storedFieldIds && byName.size === 0)) return constants;
  const paths = [...new Set(candidates.map((c) => pathByLocation.get(c.location)!))];
  // A file read through the name mapping holds the ids its names map to.
  const stored = options.storedFieldIds ? await options.storedFieldIds(paths.filter((p) => !byName.has(p))) : new Map<string, Set<number>>();
  for (const [path, projection] of byName) stored.set(path, projection.fieldIds);
  for (const candidate of candidates) {
    const path = pathByLocation.get(candidate.location)!;
    if (stored.get(path)?.has(candidate.fieldId) ?? !options.storedFieldIds) continue;
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
