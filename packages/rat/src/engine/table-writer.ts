import type { DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import type { Catalog, LoadedTable } from '../catalog/catalog.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import type { MetadataTransaction } from '../catalog/metadata-db.js';
import { ConflictError, RatError, ValidationError } from '../core/errors.js';
import { currentSchema, defaultSpec } from '../iceberg/metadata.js';
import { produceSnapshot, type SnapshotChange } from '../iceberg/snapshot-producer.js';
import { type DeferredWrites, deferWrites } from '../storage/deferred-writes.js';
import type { DataFile, ManifestFile, Schema, TableMetadata } from '../iceberg/types.js';
import { writeDataFiles } from './data-writer.js';
import { type DuckDb, quoteIdent, quoteString, wrapDuckDbError } from './duckdb.js';
import type { TableReader } from './table-reader.js';
import { isSymbol, isWord, matchParen, tokenize } from './sql-lexer.js';
import { duckDbTypeOf } from './type-mapping.js';

const MAX_APPEND_ATTEMPTS = 200;

/** The table properties that decide how data files are written (`write.*`), as one comparable text. */
function writeProperties(table: LoadedTable): string {
  return JSON.stringify(Object.entries(table.metadata.properties).filter(([key]) => key.startsWith('write.')).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export interface CommitOutcome {
  table: LoadedTable;
  snapshotId?: bigint;
  attempts: number;
}

/** Column names and types of a query's result, without running it to completion. */
export async function describeQuery(db: DuckDb, sql: string): Promise<{ names: string[]; types: DuckDBType[] }> {
  return describeOn(db.connection, sql);
}

/** describeQuery on a given connection (one of DuckDb.connect()'s). */
export async function describeOn(connection: DuckDBConnection, sql: string): Promise<{ names: string[]; types: DuckDBType[] }> {
  let prepared;
  try {
    // Preparing binds and plans the query without starting it: cheaper than running it with LIMIT 0.
    prepared = await connection.prepare(sql);
  } catch (error) {
    throw wrapDuckDbError(error);
  }
  try {
    const names: string[] = [];
    const types: DuckDBType[] = [];
    for (let i = 0; i < prepared.columnCount; i++) {
      names.push(prepared.columnName(i));
      types.push(prepared.columnType(i));
    }
    return { names, types };
  } finally {
    prepared.destroySync();
  }
}

/**
 * SQL producing exactly the table's columns from a query, cast to the column types: positionally,
 * by name, or for an explicit column list (missing columns are NULL).
 */
export function castingSelect(
  table: string,
  schema: Schema,
  query: string,
  source: { names: string[] },
  mapping: { columns?: string[]; byName?: boolean },
): string {
  const fields = schema.fields;
  const sourceFor = new Map<number, number>();
  if (mapping.columns || mapping.byName) {
    const targets = mapping.columns ?? source.names.map((n) => n.toLowerCase());
    if (mapping.columns && targets.length !== source.names.length) {
      throw new ValidationError('SQL_ERROR', `INSERT INTO ${table} lists ${targets.length} columns but the query returns ${source.names.length}`);
    }
    targets.forEach((name, index) => {
      const field = fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
      if (!field) throw new ValidationError('COLUMN_NOT_FOUND', `column "${name}" does not exist in ${table} (columns: ${fields.map((f) => f.name).join(', ')})`);
      if (sourceFor.has(field.id)) throw new ValidationError('SQL_ERROR', `column "${name}" is given twice for ${table}`);
      sourceFor.set(field.id, index);
    });
  } else {
    if (source.names.length !== fields.length) {
      throw new ValidationError(
        'SQL_ERROR',
        `${table} has ${fields.length} columns (${fields.map((f) => f.name).join(', ')}) but the query returns ${source.names.length}; list the columns: INSERT INTO ${table} (a, b) ...`,
      );
    }
    fields.forEach((field, index) => sourceFor.set(field.id, index));
  }
  const aliases = source.names.map((_, i) => `__c${i}`);
  const projection = fields.map((field) => {
    const index = sourceFor.get(field.id);
    const value = index === undefined ? 'NULL' : `q.__c${index}`;
    return `CAST(${value} AS ${duckDbTypeOf(field.type)}) AS ${quoteIdent(field.name)}`;
  });
  return `SELECT ${projection.join(', ')} FROM (${query}) AS q(${aliases.join(', ')})`;
}

/**
 * A bare `VALUES (...), (...)` list with each value cast to its column's type, or undefined for any
 * other query. DuckDB finds one type per VALUES column before the INSERT's cast to the table's types,
 * so rows that mix a string and a number in one column ('NaN' and 1.5 for a DOUBLE) are refused;
 * cast first, they insert as they would into a DuckDB table. `types[i]`: the DuckDB type of the
 * column the i-th value goes to (undefined: left as written).
 */
export function typedValues(query: string, types: (string | undefined)[]): string | undefined {
  const tokens = tokenize(query);
  if (!isWord(tokens[0], 'values')) return undefined;
  const rows: string[] = [];
  let i = 1;
  while (i < tokens.length) {
    if (!isSymbol(tokens[i], '(')) return undefined;
    const close = matchParen(tokens, i);
    if (close < 0) return undefined;
    const values: string[] = [];
    let depth = 0;
    let from = tokens[i]!.end;
    for (let k = i + 1; k < close; k++) {
      const token = tokens[k]!;
      if (token.kind !== 'symbol') continue;
      if ('([{'.includes(token.value)) depth++;
      else if (')]}'.includes(token.value)) depth--;
      else if (depth === 0 && token.value === ',') {
        values.push(query.slice(from, token.start));
        from = token.end;
      }
    }
    values.push(query.slice(from, tokens[close]!.start));
    rows.push(`(${values.map((value, c) => (types[c] ? `CAST(${value} AS ${types[c]})` : value)).join(', ')})`);
    i = close + 1;
    if (isSymbol(tokens[i], ',')) i++;
    else if (i < tokens.length) return undefined;
  }
  return `VALUES ${rows.join(', ')}`;
}

/**
 * When a cast fails DuckDB names neither the column nor the table: find the first column and value
 * that do not convert, so the error says exactly what to fix.
 */
export async function explainCastFailure(db: DuckDb, table: string, schema: Schema, query: string, source: { names: string[] }, mapping: { columns?: string[]; byName?: boolean }, error: RatError): Promise<RatError> {
  const names = mapping.columns ?? (mapping.byName ? source.names : schema.fields.map((f) => f.name));
  for (let i = 0; i < source.names.length; i++) {
    const field = schema.fields.find((f) => f.name.toLowerCase() === names[i]?.toLowerCase());
    if (!field) continue;
    const type = duckDbTypeOf(field.type);
    const aliases = source.names.map((_, k) => `__c${k}`).join(', ');
    try {
      const rows = await db.rows<{ v: string }>(
        `SELECT CAST(__c${i} AS VARCHAR) AS v FROM (${query}) AS q(${aliases}) WHERE __c${i} IS NOT NULL AND TRY_CAST(__c${i} AS ${type}) IS NULL LIMIT 1`,
      );
      if (rows.length > 0) {
        return new ValidationError('TYPE_MISMATCH', `cannot write ${quoteString(String(rows[0]!.v))} into column ${table}.${field.name} of type ${typeof field.type === 'string' ? field.type : field.type.type}`, { cause: error });
      }
    } catch {
      // The probe itself may not bind (nested types): the original error stands.
    }
  }
  return error;
}

export interface TableWriter {
  /** Writes rows (a query producing exactly the table's columns) and commits them as an append. */
  /** `base`: the table as the caller just loaded it (saves reading it again); a stale one only costs a retry. */
  append(ident: TableIdent, selectSql: string, options?: { overwrite?: boolean; summary?: Record<string, string>; base?: LoadedTable }): Promise<CommitOutcome & { rows: number }>;
  /**
   * Commits a change computed from `base`; never retried (its inputs were read from `base`).
   * `writes`: where the change's files were written (`writeFiles`), synced with the commit.
   */
  commitChange(base: LoadedTable, change: SnapshotChange, writes?: DeferredWrites): Promise<CommitOutcome>;
  /**
   * Commits data files written for `first` (with `writes`) as an append. When another writer moved
   * the table meanwhile it re-applies on top, since an append does not depend on what the table held;
   * a table re-created, or whose schema or `write.*` properties changed, is a COMMIT_CONFLICT instead.
   * `alsoWrite` goes into the same metadata-DB transaction, told the snapshot id of each attempt and
   * the table it appends to (what another writer committed is in it).
   */
  appendFiles(
    first: LoadedTable,
    files: DataFile[],
    options: { writes: DeferredWrites; summary?: Record<string, string>; alsoWrite?: (snapshotId: bigint, trx: MetadataTransaction, base: LoadedTable) => Promise<void> },
  ): Promise<CommitOutcome & { snapshotId: bigint }>;
  /** Commits a metadata-only change; `update` is re-applied to a fresh base on conflict. */
  commitMetadata(ident: TableIdent, update: (base: LoadedTable) => TableMetadata): Promise<CommitOutcome>;
  /**
   * Writes rows as data files of `table`, not yet committed. With `writes` they are durable only
   * once the commit given the same `writes` syncs them; without, each is durable on return.
   */
  writeFiles(table: LoadedTable, selectSql: string, writes?: DeferredWrites): Promise<DataFile[]>;
}

export function createTableWriter(catalog: Catalog, db: DuckDb, reader: TableReader): TableWriter {
  function produceContext(table: LoadedTable, writes: DeferredWrites) {
    const cache = reader.manifestCache(table.pathMap);
    const locationKey = catalog.store.keyOf(catalog.writeLocation(table))!;
    return {
      store: writes.store,
      locationKey,
      baseMetadataLocation: table.metadataLocation,
      loadManifestList: (location: string) => cache.manifestList(location),
      loadManifest: (location: string) => cache.manifest(location),
    rememberManifestList: (location: string, manifests: ManifestFile[]) => cache.rememberManifestList(location, manifests),
    };
  }

  const writer: TableWriter = {
    async writeFiles(table, selectSql, writes) {
      const metadata = table.metadata;
      const locationKey = catalog.store.keyOf(catalog.writeLocation(table))!;
      return writeDataFiles({
        db,
        store: writes?.store ?? catalog.store,
        selectSql,
        schema: currentSchema(metadata),
        spec: defaultSpec(metadata),
        dataKey: `${locationKey}/data`,
        table: formatIdent(table.ident),
        properties: metadata.properties,
      });
    },
    async append(ident, selectSql, options = {}) {
      const first = options.base ?? (await catalog.loadTable(ident));
      // The commit builds on the current manifest list: when it cannot be read, fail before any file is uploaded.
      const parent = first.metadata.snapshots.find((s) => s.snapshotId === first.metadata.currentSnapshotId);
      if (parent) await reader.manifestCache(first.pathMap).manifestList(parent.manifestList);
      const writes = deferWrites(catalog.store);
      const files = await writer.writeFiles(first, selectSql, writes);
      const rows = files.reduce((n, f) => n + f.recordCount, 0);
      if (options.overwrite) {
        const current = await reader.plan(first);
        const removedFiles = new Set(current.scan.tasks.map((t) => t.dataFile.filePath));
        for (const task of current.scan.tasks) for (const d of task.positionDeletes) removedFiles.add(d.filePath);
        for (const task of current.scan.tasks) for (const d of task.equalityDeletes) removedFiles.add(d.file.filePath);
        const outcome = await writer.commitChange(first, { operation: 'overwrite', addedDataFiles: files, removedFiles, ...(options.summary ? { summary: options.summary } : {}) }, writes);
        return { ...outcome, rows };
      }
      if (files.length === 0) return { table: first, attempts: 0, rows: 0 };
      return { ...(await writer.appendFiles(first, files, { writes, ...(options.summary ? { summary: options.summary } : {}) })), rows };
    },
    async appendFiles(first, files, options) {
      const { writes, alsoWrite } = options;
      let base = first;
      for (let attempt = 1; ; attempt++) {
        // Files written for another table (dropped and re-created meanwhile) or another schema would be
        // misread by field id; under changed write.* properties they may not be written as the table now asks.
        const moved = base.metadata.currentSchemaId !== first.metadata.currentSchemaId || base.metadata.tableUuid !== first.metadata.tableUuid;
        if (moved || (base !== first && writeProperties(base) !== writeProperties(first))) {
          throw new ConflictError('COMMIT_CONFLICT', `${formatIdent(first.ident)} was re-created or its schema or properties changed while rows were being written; run the statement again`);
        }
        const next = await produceSnapshot(base.metadata, { operation: 'append', addedDataFiles: files, ...(options.summary ? { summary: options.summary } : {}) }, produceContext(base, writes));
        const snapshotId = next.currentSnapshotId!;
        try {
          // commitTable is what a transaction's staged catalog takes; alsoWrite needs the multi-table form.
          const table = alsoWrite
            ? (await catalog.commitTables([{ ident: first.ident, base, next }], { writes, alsoWrite: (trx) => alsoWrite(snapshotId, trx, base) }))[0]!
            : await catalog.commitTable(base, next, { writes });
          return { table, snapshotId, attempts: attempt };
        } catch (error) {
          if (!(error instanceof ConflictError) || attempt >= MAX_APPEND_ATTEMPTS) throw error;
          // Another writer committed first: an append does not depend on what it added, so re-apply on top.
          await sleep(Math.random() * Math.min(200, 5 * attempt));
          base = await catalog.loadTable(first.ident);
        }
      }
    },
    async commitChange(base, change, writes = deferWrites(catalog.store)) {
      const next = await produceSnapshot(base.metadata, change, produceContext(base, writes));
      try {
        const table = await catalog.commitTable(base, next, { writes });
        return { table, snapshotId: next.currentSnapshotId!, attempts: 1 };
      } catch (error) {
        if (error instanceof ConflictError) {
          throw new ConflictError('COMMIT_CONFLICT', `${formatIdent(base.ident)} was changed by another commit while this ${change.operation} read it; nothing was written, run the statement again`, { cause: error });
        }
        throw error;
      }
    },
    async commitMetadata(ident, update) {
      for (let attempt = 1; ; attempt++) {
        const base = await catalog.loadTable(ident);
        const next = update(base);
        try {
          return { table: await catalog.commitTable(base, next), attempts: attempt };
        } catch (error) {
          if (!(error instanceof ConflictError) || attempt >= MAX_APPEND_ATTEMPTS) throw error;
          await sleep(Math.random() * Math.min(200, 5 * attempt));
        }
      }
    },
  };
  return writer;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
