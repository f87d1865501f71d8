import type { Catalog, LoadedTable } from '../catalog/catalog.js';
import type { PathMap } from '../catalog/file-io.js';
import { formatIdent } from '../catalog/identifiers.js';
import { NotFoundError } from '../core/errors.js';
import { createManifestCache, type ManifestCache } from '../iceberg/manifest-cache.js';
import type { Predicate } from '../iceberg/predicate.js';
import { planScan, type PlannedScan, type ScanStats } from '../iceberg/scan-planner.js';
import { schemaById } from '../iceberg/metadata.js';
import { schemasReadAlike } from '../iceberg/schema-read-alike.js';
import type { Schema, Snapshot, TableMetadata } from '../iceberg/types.js';
import { NAME_MAPPING_PROPERTY, nameMappingOf, type NameMapping } from '../iceberg/name-mapping.js';
import { type DuckDb, quoteIdent, quoteString } from './duckdb.js';
import { nameMappedProjection, type NameMappedProjection } from './name-mapped-projection.js';
import { hasFieldIds, type ParquetFooter, readParquetFooters } from './parquet-footer.js';
import { scanSql } from './scan-sql.js';

export interface ScanRecord {
  table: string;
  snapshotId?: bigint;
  predicates: Predicate[];
  stats: ScanStats;
}

export interface TableReader {
  /** Plans a scan of the table (at a snapshot, with predicates) and returns the DuckDB SQL reading it. */
  plan(table: LoadedTable, options?: { snapshotId?: bigint; predicates?: Predicate[] }): Promise<{ scan: PlannedScan; sql: string }>;
  /** Plans a scan without the SQL that reads it: from manifests alone, no data file opened (describing a table). */
  planOnly(table: LoadedTable, options?: { snapshotId?: bigint; predicates?: Predicate[] }): Promise<PlannedScan>;
  /** The DuckDB SQL for an already planned scan (or a part of one). */
  sqlFor(table: LoadedTable, scan: PlannedScan): Promise<string>;
  /** A view `ns.table` over the table's current snapshot, re-created only when the table changed. */
  ensureView(table: LoadedTable): Promise<void>;
  /**
   * A uniquely named view for one pruned or time-travel read (over `options.sql` when the scan is
   * already planned); dropped by `dropTemporaryViews`.
   */
  temporaryView(table: LoadedTable, options: { snapshotId?: bigint; predicates?: Predicate[]; sql?: string }): Promise<{ schema: string; table: string }>;
  dropTemporaryViews(): Promise<void>;
  forgetView(namespace: string, table: string): void;
  /** Drops DuckDB's schema of a namespace that is gone from the catalog, with its views. */
  forgetNamespace(namespace: string): Promise<void>;
  /** Scans planned since the last call (for EXPLAIN-style reporting and benchmarks). */
  takeScanRecords(): ScanRecord[];
  manifestCache(pathMap: PathMap[]): ManifestCache;
}

export const TEMP_SCHEMA = '__rat';

export function createTableReader(catalog: Catalog, db: DuckDb): TableReader {
  const caches = new Map<string, ManifestCache>();
  const views = new Map<string, string>();
  const schemas = new Set<string>();
  const temporary: string[] = [];
  let records: ScanRecord[] = [];
  let counter = 0;
  /** Per table metadata and scan schema: whether all the table's schemas read alike, and the files of each snapshot. */
  const readAlike = new WeakMap<TableMetadata, WeakMap<Schema, SchemaReadAlike>>();
  /** Parquet footers read so far, by local path (data files never change). */
  const footers = new Map<string, ParquetFooter>();
  const nameMappings = new WeakMap<TableMetadata, NameMapping>();

  async function storedFieldIds(paths: string[]): Promise<Map<string, Set<number>>> {
    const read = await readParquetFooters(db, paths, footers);
    return new Map([...read].map(([path, footer]) => [path, footer.fieldIds]));
  }

  /**
   * Spec "Column Projection", rule 2: files without field ids (registered by PyIceberg's or Spark's
   * add_files, Hive migrations) read through the table's name mapping. Files with field ids never
   * consult it, so a malformed mapping fails only a scan that needs it.
   */
  async function nameMapped(table: LoadedTable, paths: string[], schema: Schema): Promise<Map<string, NameMappedProjection>> {
    const read = await readParquetFooters(db, paths, footers);
    const out = new Map<string, NameMappedProjection>();
    for (const [path, footer] of read) {
      if (hasFieldIds(footer)) continue;
      const name = formatIdent(table.ident);
      let mapping = nameMappings.get(table.metadata);
      if (!mapping) nameMappings.set(table.metadata, (mapping = nameMappingOf(table.metadata.properties, name)!));
      out.set(path, nameMappedProjection(schema, mapping, footer, `table ${name}, data file ${path}`));
    }
    return out;
  }

  function manifestCache(pathMap: PathMap[]): ManifestCache {
    const key = JSON.stringify(pathMap);
    let cache = caches.get(key);
    if (!cache) {
      cache = createManifestCache({ maxEntries: 4096, read: (location) => catalog.io.read(location, pathMap) });
      caches.set(key, cache);
    }
    return cache;
  }

  /**
   * Whether every file of the scan stores the scan schema's columns as they are named now (spec "Column
   * Projection": otherwise they must be resolved by field id). No file I/O: this runs on every scan.
   *
   * When every schema the table has had reads alike with the scan schema, so does every file (they were
   * written under one of them). Otherwise a file's write schema is the schema of the snapshot that added
   * it: this platform writes data files under the table's current schema and refuses to commit them once
   * it changed. Not the manifest's schema: manifests rewritten by a delete or merged later carry older
   * files under a newer schema. A file whose snapshot is gone (expired) or recorded no schema is mapped:
   * always correct, where reading its footer would cost one read per file in every new process.
   */
  function filesMatchSchema(metadata: TableMetadata, scan: PlannedScan): boolean {
    let bySchema = readAlike.get(metadata);
    if (!bySchema) readAlike.set(metadata, (bySchema = new WeakMap()));
    let alike = bySchema.get(scan.schema);
    if (!alike) bySchema.set(scan.schema, (alike = { allSchemas: allSchemasReadAlike(metadata, scan.schema), bySnapshot: new Map() }));
    if (alike.allSchemas) return true;
    let snapshots: Map<bigint, Snapshot> | undefined;
    for (const task of scan.tasks) {
      const id = task.addedSnapshotId;
      if (id === undefined) return false;
      let known = alike.bySnapshot.get(id);
      if (known === undefined) {
        snapshots ??= new Map(metadata.snapshots.map((s) => [s.snapshotId, s]));
        const schemaId = snapshots.get(id)?.schemaId;
        const written = schemaId === undefined ? undefined : schemaById(metadata, schemaId);
        known = written !== undefined && schemasReadAlike(written, scan.schema);
        alike.bySnapshot.set(id, known);
      }
      if (!known) return false;
    }
    return true;
  }

  async function ensureSchema(name: string): Promise<void> {
    if (schemas.has(name)) return;
    await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(name)}`);
    schemas.add(name);
  }

  const reader: TableReader = {
    manifestCache,
    async plan(table, options = {}) {
      const scan = await reader.planOnly(table, options);
      return { scan, sql: await reader.sqlFor(table, scan) };
    },
    async planOnly(table, options = {}) {
      const cache = manifestCache(table.pathMap);
      const snapshotId = options.snapshotId;
      if (snapshotId !== undefined && !table.metadata.snapshots.some((s) => s.snapshotId === snapshotId)) {
        throw new NotFoundError('CATALOG_SNAPSHOT_NOT_FOUND', `table ${formatIdent(table.ident)} has no snapshot ${snapshotId}; list them with: rat snapshots ${formatIdent(table.ident)}`);
      }
      const scan = await planScan({
        metadata: table.metadata,
        ...(snapshotId !== undefined ? { snapshotId } : {}),
        predicates: options.predicates ?? [],
        loadManifestList: (location) => cache.manifestList(location),
        loadManifest: (location) => cache.manifest(location),
      });
      records.push({ table: formatIdent(table.ident), ...(snapshotId !== undefined ? { snapshotId } : {}), predicates: options.predicates ?? [], stats: scan.stats });
      return scan;
    },
    sqlFor(table, scan) {
      return scanSql(scan, {
        localPath: (location) => catalog.io.localPath(location, table.pathMap),
        filesMatchSchema: (s) => filesMatchSchema(table.metadata, s),
        partitionSpecs: table.metadata.partitionSpecs,
        // Tables adopted from other engines may have files without their identity partition columns (Hive
        // migrations); this platform's writer stores every column, so its own tables skip the footer reads.
        ...(catalog.store.keyOf(table.metadata.location) === undefined ? { storedFieldIds } : {}),
        // Only a table with a name mapping pays a footer read per file to find the files without field ids.
        ...(NAME_MAPPING_PROPERTY in table.metadata.properties ? { nameMapped: (paths: string[], schema: Schema) => nameMapped(table, paths, schema) } : {}),
      });
    },
    async ensureView(table) {
      const key = `${table.ident.namespace}.${table.ident.name}`;
      if (views.get(key) === table.metadataLocation) return;
      const { sql } = await reader.plan(table);
      await ensureSchema(table.ident.namespace);
      // A table left by an interrupted UPDATE/DELETE/MERGE must go, but DROP TABLE IF EXISTS fails on the
      // view an earlier read created: drop only a real table.
      const leftover = await db.rows(
        `SELECT 1 FROM duckdb_tables() WHERE NOT temporary AND schema_name = ${quoteString(table.ident.namespace)} AND table_name = ${quoteString(table.ident.name)}`,
      );
      if (leftover.length > 0) await db.run(`DROP TABLE ${quoteIdent(table.ident.namespace)}.${quoteIdent(table.ident.name)}`);
      await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(table.ident.namespace)}.${quoteIdent(table.ident.name)} AS ${sql}`);
      views.set(key, table.metadataLocation);
    },
    async temporaryView(table, options) {
      const sql = options.sql ?? (await reader.plan(table, options)).sql;
      await ensureSchema(TEMP_SCHEMA);
      const name = `${table.ident.namespace}__${table.ident.name}__${++counter}`;
      await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(TEMP_SCHEMA)}.${quoteIdent(name)} AS ${sql}`);
      temporary.push(name);
      return { schema: TEMP_SCHEMA, table: name };
    },
    async dropTemporaryViews() {
      while (temporary.length > 0) await db.run(`DROP VIEW IF EXISTS ${quoteIdent(TEMP_SCHEMA)}.${quoteIdent(temporary.pop()!)}`);
    },
    forgetView(namespace, table) {
      views.delete(`${namespace}.${table}`);
    },
    async forgetNamespace(namespace) {
      await db.run(`DROP SCHEMA IF EXISTS ${quoteIdent(namespace)} CASCADE`);
      schemas.delete(namespace);
      for (const key of [...views.keys()]) if (key.startsWith(`${namespace}.`)) views.delete(key);
    },
    takeScanRecords() {
      const out = records;
      records = [];
      return out;
    },
  };
  return reader;
}

interface SchemaReadAlike {
  /** Every schema of the table reads alike with the scan schema. */
  allSchemas: boolean;
  /** Whether the files a snapshot added read alike (false for a snapshot gone or without a schema id). */
  bySnapshot: Map<bigint, boolean>;
}

/**
 * True when every schema in the table's metadata reads alike with `schema`. Only when the schema ids are
 * 0..n-1: a table whose older schemas were removed (another engine's expiry may drop the schemas no
 * snapshot uses) may have files written under a schema no longer listed.
 */
function allSchemasReadAlike(metadata: TableMetadata, schema: Schema): boolean {
  const count = metadata.schemas.length;
  return metadata.schemas.every((s) => s.schemaId >= 0 && s.schemaId < count && schemasReadAlike(s, schema));
}
