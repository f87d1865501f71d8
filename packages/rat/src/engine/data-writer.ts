import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { newUuid } from '../core/ids.js';
import { ValidationError } from '../core/errors.js';
import { schemaToJson } from '../iceberg/schema-json.js';
import { applyTransform, partitionPathSegment, transformResultType } from '../iceberg/transforms.js';
import type { DataFile, PartitionSpec, PartitionValues, PrimitiveType, Schema } from '../iceberg/types.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type DuckDb, quoteIdent, quoteString, wrapDuckDbError } from './duckdb.js';
import { type CopyStatsRow, dataFileFromCopyStats, infiniteTemporal } from './parquet-stats.js';
import { partitionValueFromSql, partitionValueSql } from './partition-sql.js';
import { fieldIdsOption } from './type-mapping.js';

export interface WriteDataInput {
  db: DuckDb;
  store: ObjectStore;
  /** A query whose columns are exactly the schema's top-level fields, by name, already of the right types. */
  selectSql: string;
  schema: Schema;
  spec: PartitionSpec;
  /** Object store key under which data files go, e.g. `warehouse/bronze/orders/data`. */
  dataKey: string;
  /** Table name for error messages. */
  table: string;
  /** Target size of one data file (DuckDB starts a new file past it). */
  targetFileBytes?: number;
  /** The table's properties: `write.parquet.compression-codec` and `-level` choose the codec (parquetCompression). */
  properties?: Record<string, string>;
  /**
   * Rewriting files as they are (compaction): values already stored pass unchecked, so a table
   * written before rat refused infinite dates can still be compacted. Every other write checks.
   */
  rewrite?: boolean;
}

const CODECS = ['zstd', 'snappy', 'gzip', 'lz4', 'brotli', 'uncompressed'] as const;
const DEFAULT_ZSTD_LEVEL = 1;

/**
 * The Parquet codec of a table's data files, from Iceberg's table properties
 * `write.parquet.compression-codec` (default zstd, Iceberg's default) and
 * `write.parquet.compression-level` (zstd only, 1-22). A value rat cannot honour is an error naming
 * the property, before anything is written.
 *
 * zstd's level defaults to 1, as in Apache Arrow's Parquet writer (so in PyIceberg's files): on the
 * ingest benchmark's CSV it writes as fast as Snappy, DuckDB's default, with files a third smaller
 * than Snappy's and a sixth larger than level 3's, which takes 1.13x the time. A table that wants the
 * smaller files sets the level.
 */
export function parquetCompression(properties: Record<string, string> = {}, table = 'the table'): string {
  const codecProperty = 'write.parquet.compression-codec';
  const levelProperty = 'write.parquet.compression-level';
  const codec = (properties[codecProperty] ?? 'zstd').toLowerCase();
  if (!(CODECS as readonly string[]).includes(codec)) {
    throw new ValidationError('INVALID_ARGUMENT', `table property ${codecProperty} of ${table} is "${properties[codecProperty]}": use one of ${CODECS.join(', ')}`);
  }
  const level = properties[levelProperty];
  if (level === undefined) return codec === 'zstd' ? `COMPRESSION zstd, COMPRESSION_LEVEL ${DEFAULT_ZSTD_LEVEL}` : `COMPRESSION ${codec}`;
  if (codec !== 'zstd') throw new ValidationError('INVALID_ARGUMENT', `table property ${levelProperty} of ${table} is set, but rat applies a level to zstd only (${codecProperty} is ${codec})`);
  if (!/^\d+$/.test(level) || Number(level) < 1 || Number(level) > 22) {
    throw new ValidationError('INVALID_ARGUMENT', `table property ${levelProperty} of ${table} is "${level}": use a whole number from 1 to 22`);
  }
  return `COMPRESSION zstd, COMPRESSION_LEVEL ${Number(level)}`;
}

const DEFAULT_TARGET_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Writes the rows of a query as Iceberg data files: Parquet with field ids and the table schema in
 * the footer, one set of files per partition, staged locally, uploaded atomically, and described
 * with column statistics. Nothing is referenced by metadata until the caller commits.
 */
export async function writeDataFiles(input: WriteDataInput): Promise<DataFile[]> {
  const { db, store, schema, spec } = input;
  const compression = parquetCompression(input.properties, input.table);
  const staging = await store.stagingDir();
  try {
    const copyOptions = [
      'FORMAT parquet',
      `FIELD_IDS ${fieldIdsOption(schema.fields)}`,
      // Some readers (icebird) resolve columns through the writer's schema stored under this key, as Iceberg's
      // Java and Python writers store it, rather than through the Parquet field ids.
      `KV_METADATA {'iceberg.schema': ${quoteString(JSON.stringify(schemaToJson(schema)))}}`,
      compression,
      `FILE_SIZE_BYTES ${input.targetFileBytes ?? DEFAULT_TARGET_FILE_BYTES}`,
      // One row per file written, with its size, row count and column statistics: no footer read afterwards.
      'RETURN_STATS',
    ].join(', ');
    const columns = schema.fields.map((f) => quoteIdent(f.name)).join(', ');
    const groups: { written: CopyStatsRow[]; partition: PartitionValues; path: string }[] = [];
    if (spec.fields.length === 0) {
      // Straight into the (empty) staging directory: one directory less to make and remove.
      const dir = staging;
      const written = await store.whileStaging(staging, () => copyFiles(db, `COPY (${input.selectSql}) TO ${quoteString(dir)} (${copyOptions})`, input.table));
      groups.push({ written, partition: {}, path: '' });
    } else {
      const stage = `__rat_stage_${newUuid().replaceAll('-', '')}`;
      const partitionColumns: string[] = [];
      const bucketFields: { index: number; sourceName: string; sourceType: PrimitiveType; transform: string }[] = [];
      spec.fields.forEach((field, index) => {
        const source = schema.fields.find((f) => f.id === field.sourceId);
        if (!source || typeof source.type !== 'string') {
          throw new ValidationError('INVALID_PARTITION', `partition field ${field.name} of ${input.table} refers to column id ${field.sourceId}, which is not a primitive column`);
        }
        const sql = partitionValueSql(field, source.type, source.name);
        if (sql === undefined) bucketFields.push({ index, sourceName: source.name, sourceType: source.type, transform: field.transform });
        partitionColumns.push(`${sql ?? 'CAST(NULL AS INTEGER)'} AS __p${index}`);
      });
      await copy(db, `CREATE TEMP TABLE ${stage} AS SELECT *, ${partitionColumns.join(', ')} FROM (${input.selectSql})`, input.table);
      try {
        for (const bucket of bucketFields) await fillBuckets(db, stage, bucket);
        const keys = spec.fields.map((_, i) => `__p${i}`);
        await db.run(`CREATE TEMP TABLE ${stage}_g AS SELECT ${keys.join(', ')}, row_number() OVER () AS __g FROM (SELECT DISTINCT ${keys.join(', ')} FROM ${stage})`);
        const partitions = await db.rows<Record<string, unknown>>(`SELECT * FROM ${stage}_g ORDER BY __g`);
        for (const row of partitions) {
          const partition: PartitionValues = {};
          const segments: string[] = [];
          spec.fields.forEach((field, i) => {
            const source = schema.fields.find((f) => f.id === field.sourceId)!;
            const resultType = transformResultType(field.transform, source.type as PrimitiveType);
            const value = partitionValueFromSql(resultType, row[`__p${i}`]);
            partition[field.fieldId] = value;
            segments.push(partitionPathSegment(field, resultType, value));
          });
          const dir = join(staging, `p${String(row.__g)}`);
          const match = keys.map((k) => `s.${k} IS NOT DISTINCT FROM g.${k}`).join(' AND ');
          const written = await store.whileStaging(staging, () =>
            copyFiles(db, `COPY (SELECT ${columns} FROM ${stage} s JOIN ${stage}_g g ON ${match} WHERE g.__g = ${String(row.__g)}) TO ${quoteString(dir)} (${copyOptions})`, input.table),
          );
          groups.push({ written, partition, path: segments.join('/') });
        }
      } finally {
        await db.run(`DROP TABLE IF EXISTS ${stage}; DROP TABLE IF EXISTS ${stage}_g`);
      }
    }
    // Every file is checked before any is moved into the store: a refused write leaves nothing behind.
    for (const written of input.rewrite ? [] : groups.flatMap((g) => g.written)) {
      const infinite = infiniteTemporal(written, schema);
      if (infinite) {
        throw new ValidationError(
          'VALUE_NOT_STORABLE',
          `${input.table}: column ${infinite.column} holds ${infinite.value}, which an Iceberg ${infinite.type} cannot store (a date or timestamp has no infinity); nothing was written: filter or replace such values (for example with NULL)`,
        );
      }
    }
    const files: DataFile[] = [];
    for (const group of groups) {
      for (const written of group.written) {
        const localPath = written.filename;
        const key = `${input.dataKey}/${group.path ? `${group.path}/` : ''}${newUuid()}.parquet`;
        const dataFile = dataFileFromCopyStats(written, { filePath: store.uri(key), schema, partition: group.partition });
        if (dataFile.recordCount === 0) continue;
        checkRequired(schema, dataFile, input.table);
        // The staging directory is removed afterwards: the file may be moved rather than copied.
        await store.putFile(key, localPath, { consume: true });
        files.push(dataFile);
      }
    }
    return files;
  } finally {
    removeStaging(staging);
  }
}

/**
 * After the files were moved out only empty directories are left: removing them one by one is a
 * few syscalls, where a recursive remove (sync or async) cost a commit over 1 ms. Anything else
 * left (a failed write) goes with a recursive remove.
 */
function removeStaging(staging: string): void {
  try {
    for (const entry of readdirSync(staging)) rmdirSync(join(staging, entry));
    rmdirSync(staging);
  } catch {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Runs a COPY to Parquet and returns what it wrote: each file with its statistics, in file name order. */
async function copyFiles(db: DuckDb, sql: string, table: string): Promise<CopyStatsRow[]> {
  try {
    const result = await db.connection.runAndReadAll(sql);
    const rows = result.getRowObjectsJson() as unknown as CopyStatsRow[];
    return rows.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  } catch (error) {
    throw wrapDuckDbError(error, `cannot write into ${table}`);
  }
}

async function copy(db: DuckDb, sql: string, table: string): Promise<void> {
  try {
    await db.connection.run(sql);
  } catch (error) {
    throw wrapDuckDbError(error, `cannot write into ${table}`);
  }
}

/** bucket[N] uses murmur3 (spec Appendix B), which DuckDB lacks: hash each distinct value once in JS. */
async function fillBuckets(db: DuckDb, stage: string, bucket: { index: number; sourceName: string; sourceType: PrimitiveType; transform: string }): Promise<void> {
  const source = quoteIdent(bucket.sourceName);
  const probe = partitionValueSql({ sourceId: 0, fieldId: 0, name: 'probe', transform: 'identity' }, bucket.sourceType, bucket.sourceName)!;
  const distinct = await db.rows<{ v: unknown }>(`SELECT DISTINCT ${probe} AS v FROM ${stage} WHERE ${source} IS NOT NULL`);
  const map = `${stage}_b${bucket.index}`;
  await db.run(`CREATE TEMP TABLE ${map} (v VARCHAR, b INTEGER)`);
  const rows = distinct.map((row) => {
    const value = partitionValueFromSql(bucket.sourceType, row.v);
    const hashed = applyTransform(bucket.transform as `bucket[${number}]`, bucket.sourceType, value);
    return `(${quoteString(String(row.v))}, ${String(hashed)})`;
  });
  for (let i = 0; i < rows.length; i += 1000) await db.run(`INSERT INTO ${map} VALUES ${rows.slice(i, i + 1000).join(', ')}`);
  await db.run(`UPDATE ${stage} SET __p${bucket.index} = (SELECT b FROM ${map} WHERE ${map}.v = CAST(${probe} AS VARCHAR)); DROP TABLE ${map}`);
}

function checkRequired(schema: Schema, file: DataFile, table: string): void {
  for (const field of schema.fields) {
    if (!field.required) continue;
    const nulls = file.nullValueCounts?.get(field.id);
    if (nulls !== undefined && nulls > 0) {
      throw new ValidationError('TYPE_MISMATCH', `cannot write NULL into required column ${table}.${field.name} (${nulls} rows)`);
    }
  }
}
