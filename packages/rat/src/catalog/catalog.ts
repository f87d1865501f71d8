import { newUuid } from '../core/ids.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { changedOnlyByMaintenance } from '../iceberg/maintenance-changes.js';
import { parseTableMetadata, serializeTableMetadata } from '../iceberg/metadata.js';
import type { TableMetadata } from '../iceberg/types.js';
import { type DeferredWrites, deferWrites } from '../storage/deferred-writes.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createFileIO, type FileIO, type PathMap } from './file-io.js';
import { formatIdent, type TableIdent, validateName } from './identifiers.js';
import type { MetadataDb, MetadataTransaction } from './metadata-db.js';
import { MAIN_BRANCH } from './ref-name.js';
import { createRefStore, type PointerChange, type RefStore, type ResolvedRef, type TablePointer } from './refs.js';

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

/** How one table differs between two refs (`rat diff`). */
export interface TableDiff {
  table: string;
  change: 'added' | 'removed' | 'changed';
  fromSnapshotId?: bigint;
  toSnapshotId?: bigint;
  /** Snapshots in the table's history on each side. */
  fromSnapshots: number;
  toSnapshots: number;
  /** Records in the current snapshot's data files on each side (its total-records summary): rows its delete files hide included. */
  fromRecords: number;
  toRecords: number;
  /** Whether that side's snapshot has delete files, or does not say how many (then its records may count rows no read returns). */
  fromDeletes: boolean;
  toDeletes: boolean;
}

export interface CatalogOptions {
  /** The branch, tag or commit id every read and write goes to (default main). Tags and commits are read-only. */
  ref?: string;
  /** Recorded on every catalog commit (default: $USER or "rat"). */
  author?: string;
}

/**
 * The catalog seen from one ref: a branch (read and write), a tag or a commit (read only). Tables live
 * per ref; refs and commits are in `refs`; `withRef` gives the same catalog on another ref.
 */
export interface Catalog {
  readonly store: ObjectStore;
  readonly ref: string;
  readonly refs: RefStore;
  withRef(ref: string): Catalog;
  /** Tables added, removed or changed from one ref (or commit) to another, with snapshot and row counts. */
  diff(from: string, to: string): Promise<TableDiff[]>;
  readonly io: FileIO;
  listNamespaces(): Promise<string[]>;
  createNamespace(name: string, options?: { ifNotExists?: boolean }): Promise<void>;
  dropNamespace(name: string, options?: { ifExists?: boolean }): Promise<void>;
  namespaceExists(name: string): Promise<boolean>;
  listTables(namespace?: string): Promise<TableIdent[]>;
  tableExists(ident: TableIdent): Promise<boolean>;
  loadTable(ident: TableIdent): Promise<LoadedTable>;
  /** Writes the first metadata file and adds the table; `build` gets the table's location; `writes` as for commitTable. */
  createTable(ident: TableIdent, build: (location: string) => TableMetadata, options?: { writes?: DeferredWrites }): Promise<LoadedTable>;
  /**
   * One atomic table change: writes `next` as a new metadata file, then swaps the catalog pointer
   * only if it still points at `base` (compare-and-swap). A stale base is a ConflictError and the
   * new metadata file is left unreferenced (maintenance removes it). `writes` holds the files the
   * change wrote with deferred durability (data files, manifests): they and the metadata file are
   * made durable together just before the swap.
   */
  commitTable(base: LoadedTable, next: TableMetadata, options?: { writes?: DeferredWrites }): Promise<LoadedTable>;
  /**
   * Several table changes and creations as one atomic catalog commit: every metadata file is written
   * first, then one metadata-DB transaction swaps each pointer on this branch (compare-and-swap on its
   * base, or an insert for a new table), runs `alsoWrite` (e.g. a file-registry row) and records the
   * commit. Any stale base or existing table rolls the whole transaction back (ConflictError): either
   * all of it is visible or none.
   */
  commitTables(commits: TableCommit[], options?: { alsoWrite?: (trx: MetadataTransaction) => Promise<void>; writes?: DeferredWrites }): Promise<LoadedTable[]>;
  dropTable(ident: TableIdent, options?: { ifExists?: boolean }): Promise<boolean>;
  registerTable(ident: TableIdent, metadataLocation: string, pathMap?: PathMap[]): Promise<LoadedTable>;
  readMetadata(location: string, pathMap?: PathMap[]): Promise<TableMetadata>;
  /** Where new files of a table are written: its own location when it lives in our store, else under warehouse/. */
  writeLocation(table: LoadedTable): string;
}

/** The version number a metadata file name starts with (`00012-<uuid>.metadata.json`), else the count of nothing: 0. */
/** Parsed table metadata kept per catalog: a long-running server commits without end. */
const METADATA_CACHE_ENTRIES = 1000;

function metadataVersion(location: string): number {
  const match = /(?:^|\/)(\d+)-[^/]*\.metadata\.json$/.exec(location);
  return match ? Number(match[1]) : 0;
}

export function createCatalog(db: MetadataDb, store: ObjectStore, options: CatalogOptions = {}): Catalog {
  const io = createFileIO(store);
  /** Parsed metadata by location (a location's content never changes), the most recently used kept. */
  const metadataCache = new Map<string, TableMetadata>();
  const remember = (location: string, metadata: TableMetadata) => {
    metadataCache.delete(location);
    metadataCache.set(location, metadata);
    if (metadataCache.size > METADATA_CACHE_ENTRIES) metadataCache.delete(metadataCache.keys().next().value!);
  };
  const refs = createRefStore(db, {
    changedOnlyByMaintenance: async (base, later) => changedOnlyByMaintenance((await load(base)).metadata, (await load(later)).metadata),
  });
  const author = options.author ?? process.env.USER ?? 'rat';

  async function readMetadata(location: string, pathMap: PathMap[] = []): Promise<TableMetadata> {
    const cached = metadataCache.get(location);
    if (cached) {
      remember(location, cached);
      return cached;
    }
    const bytes = await io.read(location, pathMap);
    const metadata = parseTableMetadata(Buffer.from(bytes).toString('utf8'), location);
    remember(location, metadata);
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

  /** Writes a metadata file through `writes` (durable at its next sync). */
  async function writeMetadata(writes: DeferredWrites, tableLocation: string, metadata: TableMetadata, version: number): Promise<string> {
    const key = store.keyOf(tableLocation);
    if (key === undefined) throw new ValidationError('UNSUPPORTED', `cannot write metadata under ${tableLocation}: not in this platform's object store`);
    const metadataFileKey = metadataKey(key, version);
    await writes.store.put(metadataFileKey, serializeTableMetadata(metadata));
    const location = store.uri(metadataFileKey);
    remember(location, metadata);
    return location;
  }

  async function load(pointer: TablePointer): Promise<LoadedTable> {
    const pathMap = JSON.parse(pointer.pathMap) as PathMap[];
    return { ident: pointer.ident, metadataLocation: pointer.metadataLocation, metadata: await readMetadata(pointer.metadataLocation, pathMap), pathMap };
  }

  async function diff(from: string, to: string): Promise<TableDiff[]> {
    const summary = async (pointer: TablePointer | undefined) => {
      if (!pointer) return { snapshots: 0, records: 0, deletes: false };
      const { metadata } = await load(pointer);
      const current = metadata.snapshots.find((s) => s.snapshotId === metadata.currentSnapshotId);
      const deletes = current !== undefined && (current.summary['total-delete-files'] ?? '') !== '0';
      return { snapshotId: metadata.currentSnapshotId, snapshots: metadata.snapshots.length, records: Number(current?.summary['total-records'] ?? 0), deletes };
    };
    const diffs: TableDiff[] = [];
    for (const d of await refs.diff(from, to)) {
      const [a, b] = [await summary(d.from), await summary(d.to)];
      diffs.push({
        table: d.table,
        change: d.change,
        ...(a.snapshotId !== undefined ? { fromSnapshotId: a.snapshotId } : {}),
        ...(b.snapshotId !== undefined ? { toSnapshotId: b.snapshotId } : {}),
        fromSnapshots: a.snapshots,
        toSnapshots: b.snapshots,
        fromRecords: a.records,
        toRecords: b.records,
        fromDeletes: a.deletes,
        toDeletes: b.deletes,
      });
    }
    return diffs;
  }

  const views = new Map<string, Catalog>();

  function onRef(ref: string): Catalog {
    const existing = views.get(ref);
    if (existing) return existing;
    /** A commit's table state never changes: resolved once per view. */
    let commitState: Promise<Map<string, TablePointer>> | undefined;

    /** This view's pointer for a table, or undefined; a ref's rows are one lookup, a commit's state is resolved from its ancestry. */
    async function pointer(ident: TableIdent): Promise<TablePointer | undefined> {
      const row = await db
        .selectFrom('rat_tables')
        .select(['metadata_location', 'path_map'])
        .where('ref', '=', ref)
        .where('namespace', '=', ident.namespace)
        .where('name', '=', ident.name)
        .executeTakeFirst();
      if (row) return { ident, metadataLocation: row.metadata_location, pathMap: row.path_map };
      const resolved = await refs.resolve(ref);
      if (resolved.kind === 'ref') return undefined;
      return (await stateAt(resolved)).get(formatIdent(ident));
    }

    function stateAt(resolved: ResolvedRef & { kind: 'commit' }): Promise<Map<string, TablePointer>> {
      commitState ??= refs.pointersAt(resolved.id);
      return commitState;
    }

    async function commit(message: string, changes: PointerChange[], alsoWrite?: (trx: MetadataTransaction) => Promise<void>): Promise<void> {
      try {
        await refs.commit(ref, { author, message, changes }, alsoWrite);
      } catch (error) {
        // Not a branch or tag: when it names a commit, say why it cannot take changes (looked up only now, off the common path).
        if (error instanceof NotFoundError && error.code === 'CATALOG_REF_NOT_FOUND' && (await refs.resolve(ref).catch(() => undefined))?.kind === 'commit') {
          throw new ValidationError('REF_NOT_A_BRANCH', `cannot change tables at commit ${ref}: a commit is read-only; branch from it with: rat branch create <name> --from ${ref}`, { cause: error });
        }
        throw error;
      }
    }

    const catalog: Catalog = {
      store,
      io,
      ref,
      refs,
      withRef: onRef,
      diff,
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
        // Namespaces are shared by all branches: one holding tables on any branch stays.
        const tables = await db.selectFrom('rat_tables').select(['ref', 'name']).where('namespace', '=', normalized).limit(1).execute();
        if (tables.length > 0) throw new ValidationError('INVALID_ARGUMENT', `namespace "${normalized}" is not empty (table ${normalized}.${tables[0]!.name} on ${tables[0]!.ref}); drop its tables first`);
        const result = await db.deleteFrom('rat_namespaces').where('name', '=', normalized).executeTakeFirst();
        if (Number(result.numDeletedRows) === 0 && !options.ifExists) {
          throw new NotFoundError('CATALOG_NAMESPACE_NOT_FOUND', `namespace "${normalized}" does not exist`);
        }
      },
      async listTables(namespace) {
        if (namespace !== undefined) await requireNamespace(namespace.toLowerCase());
        const resolved = await refs.resolve(ref);
        let idents: TableIdent[];
        if (resolved.kind === 'ref') {
          let query = db.selectFrom('rat_tables').select(['namespace', 'name']).where('ref', '=', ref).orderBy('namespace').orderBy('name');
          if (namespace !== undefined) query = query.where('namespace', '=', namespace.toLowerCase());
          idents = (await query.execute()).map((r) => ({ namespace: r.namespace, name: r.name }));
        } else {
          idents = [...(await stateAt(resolved)).values()].map((p) => p.ident).filter((i) => namespace === undefined || i.namespace === namespace.toLowerCase());
          idents.sort((a, b) => (formatIdent(a) < formatIdent(b) ? -1 : 1));
        }
        return idents;
      },
      async tableExists(ident) {
        return (await pointer(ident)) !== undefined;
      },
      async loadTable(ident) {
        const found = await pointer(ident);
        if (!found) {
          await requireNamespace(ident.namespace);
          throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `table ${formatIdent(ident)} does not exist${ref === MAIN_BRANCH ? '' : ` on ${ref}`}`);
        }
        return load(found);
      },
      async createTable(ident, build, options = {}) {
        await requireNamespace(ident.namespace);
        if (await catalog.tableExists(ident)) throw new ValidationError('CATALOG_TABLE_EXISTS', `table ${formatIdent(ident)} already exists`);
        const location = store.uri(`warehouse/${ident.namespace}/${ident.name}`);
        const metadata = build(location);
        const writes = options.writes ?? deferWrites(store);
        const metadataLocation = await writeMetadata(writes, location, metadata, 0);
        await writes.sync();
        await commit(`create ${formatIdent(ident)}`, [{ kind: 'create', ident, metadataLocation }]);
        return { ident, metadataLocation, metadata, pathMap: [] };
      },
      async commitTable(base, next, options = {}) {
        const version = metadataVersion(base.metadataLocation) + 1;
        const writes = options.writes ?? deferWrites(store);
        const metadataLocation = await writeMetadata(writes, catalog.writeLocation(base), next, version);
        await writes.sync();
        await commit(`update ${formatIdent(base.ident)}`, [{ kind: 'update', ident: base.ident, base: base.metadataLocation, metadataLocation }]);
        return { ident: base.ident, metadataLocation, metadata: next, pathMap: base.pathMap };
      },
      async commitTables(commits, options = {}) {
        const prepared: { commit: TableCommit; metadataLocation: string }[] = [];
        const writes = options.writes ?? deferWrites(store);
        for (const commit of commits) {
          if (commit.base) {
            const version = metadataVersion(commit.base.metadataLocation) + 1;
            prepared.push({ commit, metadataLocation: await writeMetadata(writes, catalog.writeLocation(commit.base), commit.next, version) });
          } else {
            await requireNamespace(commit.ident.namespace);
            prepared.push({ commit, metadataLocation: await writeMetadata(writes, commit.next.location, commit.next, 0) });
          }
        }
        await writes.sync();
        const changes: PointerChange[] = prepared.map(({ commit: { ident, base }, metadataLocation }) =>
          base ? { kind: 'update', ident, base: base.metadataLocation, metadataLocation } : { kind: 'create', ident, metadataLocation },
        );
        await commit(`update ${prepared.map((p) => formatIdent(p.commit.ident)).join(', ')}`, changes, options.alsoWrite);
        return prepared.map(({ commit, metadataLocation }) => ({ ident: commit.ident, metadataLocation, metadata: commit.next, pathMap: commit.base?.pathMap ?? [] }));
      },
      async dropTable(ident, options = {}) {
        if (!(await catalog.tableExists(ident))) {
          if (options.ifExists) return false;
          await requireNamespace(ident.namespace);
          throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `table ${formatIdent(ident)} does not exist${ref === MAIN_BRANCH ? '' : ` on ${ref}`}`);
        }
        try {
          await commit(`drop ${formatIdent(ident)}`, [{ kind: 'drop', ident }]);
        } catch (error) {
          // Dropped by another writer in between: IF EXISTS still holds.
          if (options.ifExists && error instanceof NotFoundError && error.code === 'CATALOG_TABLE_NOT_FOUND') return false;
          throw error;
        }
        return true;
      },
      async registerTable(ident, metadataLocation, pathMap = []) {
        await requireNamespace(ident.namespace);
        if (await catalog.tableExists(ident)) throw new ValidationError('CATALOG_TABLE_EXISTS', `table ${formatIdent(ident)} already exists`);
        const metadata = await readMetadata(metadataLocation, pathMap);
        await commit(`register ${formatIdent(ident)}`, [{ kind: 'create', ident, metadataLocation, pathMap: JSON.stringify(pathMap) }]);
        return { ident, metadataLocation, metadata, pathMap };
      },
      writeLocation(table) {
        if (store.keyOf(table.metadata.location) !== undefined) return table.metadata.location;
        return store.uri(`warehouse/${table.ident.namespace}/${table.ident.name}`);
      },
    };
    views.set(ref, catalog);
    return catalog;
  }

  return onRef(options.ref ?? MAIN_BRANCH);
}
