import { newUuid } from '../core/ids.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { parseTableMetadata, serializeTableMetadata } from '../iceberg/metadata.js';
import type { TableMetadata } from '../iceberg/types.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createFileIO, type FileIO, type PathMap } from './file-io.js';
import { formatIdent, type TableIdent, validateName } from './identifiers.js';
import type { MetadataDb, MetadataTransaction } from './metadata-db.js';

export const DEFAULT_NAMESPACES = ['bronze', 'silver', 'gold'] as const;

export interface LoadedTable {
  ident: TableIdent;
  metadataLocation: string;
  metadata: TableMetadata;
  pathMap: PathMap[];
}

/** One table of a multi-table commit: `base` is the version it builds on, absent for a table being created. */
export interface TableCommit {
  ident: TableIdent;
  base?: LoadedTable;
  next: TableMetadata;
}

export interface Catalog {
  readonly store: ObjectStore;
  readonly io: FileIO;
  listNamespaces(): Promise<string[]>;
  createNamespace(name: string, options?: { ifNotExists?: boolean }): Promise<void>;
  dropNamespace(name: string, options?: { ifExists?: boolean }): Promise<void>;
  namespaceExists(name: string): Promise<boolean>;
  listTables(namespace?: string): Promise<TableIdent[]>;
  tableExists(ident: TableIdent): Promise<boolean>;
  loadTable(ident: TableIdent): Promise<LoadedTable>;
  /** Writes the first metadata file and adds the table; `build` gets the table's location. */
  createTable(ident: TableIdent, build: (location: string) => TableMetadata): Promise<LoadedTable>;
  /**
   * One atomic table change: writes `next` as a new metadata file, then swaps the catalog pointer
   * only if it still points at `base` (compare-and-swap). A stale base is a ConflictError and the
   * new metadata file is left unreferenced (maintenance removes it).
   */
  commitTable(base: LoadedTable, next: TableMetadata): Promise<LoadedTable>;
  /**
   * Several table changes and creations as one atomic catalog change: every metadata file is written
   * first, then one metadata-DB transaction swaps each pointer (compare-and-swap on its base, or an
   * insert for a new table) and runs `alsoWrite` (e.g. a file-registry row). Any stale base or existing
   * table rolls the whole transaction back (ConflictError): either all of it is visible or none.
   */
  commitTables(commits: TableCommit[], options?: { alsoWrite?: (trx: MetadataTransaction) => Promise<void> }): Promise<LoadedTable[]>;
  dropTable(ident: TableIdent, options?: { ifExists?: boolean }): Promise<boolean>;
  registerTable(ident: TableIdent, metadataLocation: string, pathMap?: PathMap[]): Promise<LoadedTable>;
  readMetadata(location: string, pathMap?: PathMap[]): Promise<TableMetadata>;
  /** Where new files of a table are written: its own location when it lives in our store, else under warehouse/. */
  writeLocation(table: LoadedTable): string;
}

/** The version number a metadata file name starts with (`00012-<uuid>.metadata.json`), else the count of nothing: 0. */
function metadataVersion(location: string): number {
  const match = /(?:^|\/)(\d+)-[^/]*\.metadata\.json$/.exec(location);
  return match ? Number(match[1]) : 0;
}

export function createCatalog(db: MetadataDb, store: ObjectStore): Catalog {
  const io = createFileIO(store);
  const metadataCache = new Map<string, TableMetadata>();

  async function readMetadata(location: string, pathMap: PathMap[] = []): Promise<TableMetadata> {
    const cached = metadataCache.get(location);
    if (cached) return cached;
    const bytes = await io.read(location, pathMap);
    const metadata = parseTableMetadata(Buffer.from(bytes).toString('utf8'), location);
    metadataCache.set(location, metadata);
    return metadata;
  }

  async function requireNamespace(name: string): Promise<void> {
    const row = await db.selectFrom('rat_namespaces').select('name').where('name', '=', name).executeTakeFirst();
    if (!row) throw new NotFoundError('CATALOG_NAMESPACE_NOT_FOUND', `namespace "${name}" does not exist; create it with: rat sql "CREATE SCHEMA ${name}"`);
  }

  function metadataKey(location: string, version: number): string {
    const file = `${String(version).padStart(5, '0')}-${newUuid()}.metadata.json`;
    return `${location}/metadata/${file}`;
  }

  async function writeMetadata(tableLocation: string, metadata: TableMetadata, version: number): Promise<string> {
    const key = store.keyOf(tableLocation);
    if (key === undefined) throw new ValidationError('UNSUPPORTED', `cannot write metadata under ${tableLocation}: not in this platform's object store`);
    const metadataFileKey = metadataKey(key, version);
    await store.put(metadataFileKey, serializeTableMetadata(metadata));
    const location = store.uri(metadataFileKey);
    metadataCache.set(location, metadata);
    return location;
  }

  const catalog: Catalog = {
    store,
    io,
    readMetadata,
    async listNamespaces() {
      const rows = await db.selectFrom('rat_namespaces').select('name').orderBy('name').execute();
      return rows.map((r) => r.name);
    },
    async namespaceExists(name) {
      const row = await db.selectFrom('rat_namespaces').select('name').where('name', '=', name.toLowerCase()).executeTakeFirst();
      return row !== undefined;
    },
    async createNamespace(name, options = {}) {
      const normalized = validateName('namespace', name);
      const result = await db
        .insertInto('rat_namespaces')
        .values({ name: normalized, properties: '{}', created_at: Date.now() })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0 && !options.ifNotExists) {
        throw new ValidationError('CATALOG_NAMESPACE_EXISTS', `namespace "${normalized}" already exists`);
      }
    },
    async dropNamespace(name, options = {}) {
      const normalized = name.toLowerCase();
      const tables = await db.selectFrom('rat_tables').select('name').where('namespace', '=', normalized).limit(1).execute();
      if (tables.length > 0) throw new ValidationError('INVALID_ARGUMENT', `namespace "${normalized}" is not empty; drop its tables first`);
      const result = await db.deleteFrom('rat_namespaces').where('name', '=', normalized).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0 && !options.ifExists) {
        throw new NotFoundError('CATALOG_NAMESPACE_NOT_FOUND', `namespace "${normalized}" does not exist`);
      }
    },
    async listTables(namespace) {
      let query = db.selectFrom('rat_tables').select(['namespace', 'name']).orderBy('namespace').orderBy('name');
      if (namespace !== undefined) {
        await requireNamespace(namespace.toLowerCase());
        query = query.where('namespace', '=', namespace.toLowerCase());
      }
      return (await query.execute()).map((r) => ({ namespace: r.namespace, name: r.name }));
    },
    async tableExists(ident) {
      const row = await db.selectFrom('rat_tables').select('name').where('namespace', '=', ident.namespace).where('name', '=', ident.name).executeTakeFirst();
      return row !== undefined;
    },
    async loadTable(ident) {
      const row = await db
        .selectFrom('rat_tables')
        .select(['metadata_location', 'path_map'])
        .where('namespace', '=', ident.namespace)
        .where('name', '=', ident.name)
        .executeTakeFirst();
      if (!row) {
        await requireNamespace(ident.namespace);
        throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `table ${formatIdent(ident)} does not exist`);
      }
      const pathMap = JSON.parse(row.path_map) as PathMap[];
      return { ident, metadataLocation: row.metadata_location, metadata: await readMetadata(row.metadata_location, pathMap), pathMap };
    },
    async createTable(ident, build) {
      await requireNamespace(ident.namespace);
      if (await catalog.tableExists(ident)) throw new ValidationError('CATALOG_TABLE_EXISTS', `table ${formatIdent(ident)} already exists`);
      const location = store.uri(`warehouse/${ident.namespace}/${ident.name}`);
      const metadata = build(location);
      const metadataLocation = await writeMetadata(location, metadata, 0);
      const result = await db
        .insertInto('rat_tables')
        .values({ namespace: ident.namespace, name: ident.name, metadata_location: metadataLocation, updated_at: Date.now() })
        .onConflict((oc) => oc.columns(['namespace', 'name']).doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) {
        throw new ConflictError('CATALOG_TABLE_EXISTS', `table ${formatIdent(ident)} was created by another writer at the same time`);
      }
      return { ident, metadataLocation, metadata, pathMap: [] };
    },
    async commitTable(base, next) {
      const version = metadataVersion(base.metadataLocation) + 1;
      const metadataLocation = await writeMetadata(catalog.writeLocation(base), next, version);
      const result = await db
        .updateTable('rat_tables')
        .set({ metadata_location: metadataLocation, updated_at: Date.now(), version: (eb) => eb('version', '+', 1) })
        .where('namespace', '=', base.ident.namespace)
        .where('name', '=', base.ident.name)
        .where('metadata_location', '=', base.metadataLocation)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) {
        if (!(await catalog.tableExists(base.ident))) throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `table ${formatIdent(base.ident)} was dropped by another writer`);
        throw new ConflictError('COMMIT_CONFLICT', `table ${formatIdent(base.ident)} was changed by another writer since ${base.metadataLocation}`);
      }
      return { ident: base.ident, metadataLocation, metadata: next, pathMap: base.pathMap };
    },
    async commitTables(commits, options = {}) {
      const prepared: { commit: TableCommit; metadataLocation: string }[] = [];
      for (const commit of commits) {
        if (commit.base) {
          const version = metadataVersion(commit.base.metadataLocation) + 1;
          prepared.push({ commit, metadataLocation: await writeMetadata(catalog.writeLocation(commit.base), commit.next, version) });
        } else {
          await requireNamespace(commit.ident.namespace);
          prepared.push({ commit, metadataLocation: await writeMetadata(commit.next.location, commit.next, 0) });
        }
      }
      await db.transaction().execute(async (trx) => {
        for (const { commit, metadataLocation } of prepared) {
          const { ident, base } = commit;
          if (base) {
            const result = await trx
              .updateTable('rat_tables')
              .set({ metadata_location: metadataLocation, updated_at: Date.now(), version: (eb) => eb('version', '+', 1) })
              .where('namespace', '=', ident.namespace)
              .where('name', '=', ident.name)
              .where('metadata_location', '=', base.metadataLocation)
              .executeTakeFirst();
            if (Number(result.numUpdatedRows) !== 1) throw new ConflictError('COMMIT_CONFLICT', `table ${formatIdent(ident)} was changed or dropped by another writer since ${base.metadataLocation}`);
          } else {
            const result = await trx
              .insertInto('rat_tables')
              .values({ namespace: ident.namespace, name: ident.name, metadata_location: metadataLocation, updated_at: Date.now() })
              .onConflict((oc) => oc.columns(['namespace', 'name']).doNothing())
              .executeTakeFirst();
            if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) throw new ConflictError('CATALOG_TABLE_EXISTS', `table ${formatIdent(ident)} was created by another writer at the same time`);
          }
        }
        await options.alsoWrite?.(trx);
      });
      return prepared.map(({ commit, metadataLocation }) => ({ ident: commit.ident, metadataLocation, metadata: commit.next, pathMap: commit.base?.pathMap ?? [] }));
    },
    async dropTable(ident, options = {}) {
      const result = await db.deleteFrom('rat_tables').where('namespace', '=', ident.namespace).where('name', '=', ident.name).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        if (options.ifExists) return false;
        await requireNamespace(ident.namespace);
        throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `table ${formatIdent(ident)} does not exist`);
      }
      return true;
    },
    async registerTable(ident, metadataLocation, pathMap = []) {
      await requireNamespace(ident.namespace);
      if (await catalog.tableExists(ident)) throw new ValidationError('CATALOG_TABLE_EXISTS', `table ${formatIdent(ident)} already exists`);
      const metadata = await readMetadata(metadataLocation, pathMap);
      await db
        .insertInto('rat_tables')
        .values({ namespace: ident.namespace, name: ident.name, metadata_location: metadataLocation, path_map: JSON.stringify(pathMap), updated_at: Date.now() })
        .execute();
      return { ident, metadataLocation, metadata, pathMap };
    },
    writeLocation(table) {
      if (store.keyOf(table.metadata.location) !== undefined) return table.metadata.location;
      return store.uri(`warehouse/${table.ident.namespace}/${table.ident.name}`);
    },
  };
  return catalog;
}
