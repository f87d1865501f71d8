import type { Catalog, LoadedTable, TableCommit } from '../catalog/catalog.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newUuid } from '../core/ids.js';
import type { DeferredWrites } from '../storage/deferred-writes.js';

/**
 * The catalog as one transaction sees it: table changes are staged here instead of committed, and
 * every read of a changed (or created) table returns its staged version, so later statements see
 * earlier ones. `commit` lands all of them in one catalog commit (every compare-and-swap in one
 * metadata-DB transaction) or none; files written for a discarded staging are orphans that
 * maintenance removes.
 */
export interface StagedCatalog extends Catalog {
  /** `namespace.table` of every table changed or created so far, in first-change order. */
  stagedTables(): string[];
  /** Commits every staged change at once; ConflictError COMMIT_CONFLICT names the tables changed meanwhile. */
  commitStaged(): Promise<LoadedTable[]>;
}

interface Staged {
  ident: TableIdent;
  /** The committed version the first change built on; absent for a table created in the transaction. */
  base?: LoadedTable;
  /** The latest staged version; its metadataLocation is a placeholder no file holds. */
  table: LoadedTable;
}

export function createStagedCatalog(catalog: Catalog): StagedCatalog {
  const staged = new Map<string, Staged>();
  /** Files the staged changes wrote with deferred durability: synced by `commitStaged`, before the catalog commit. */
  const writes: DeferredWrites[] = [];
  /** Placeholder locations of staged versions: never written, so dropped from the metadata log on commit. */
  const placeholders = new Set<string>();

  function placeholder(ident: TableIdent): string {
    const location = `rat-staged://${formatIdent(ident)}/${newUuid()}`;
    placeholders.add(location);
    return location;
  }

  function unsupported(what: string): ValidationError {
    return new ValidationError('UNSUPPORTED', `${what} is not supported inside a transaction; run it before BEGIN or after COMMIT`);
  }

  async function changedMeanwhile(): Promise<string[]> {
    const changed: string[] = [];
    for (const [name, entry] of staged) {
      if (entry.base) {
        const current = await catalog.loadTable(entry.ident).catch(() => undefined);
        if (current?.metadataLocation !== entry.base.metadataLocation) changed.push(name);
      } else if (await catalog.tableExists(entry.ident)) {
        changed.push(name);
      }
    }
    return changed;
  }

  const stagedCatalog: StagedCatalog = {
    ...catalog,
    async listTables(namespace) {
      const tables = await catalog.listTables(namespace);
      const names = new Set(tables.map(formatIdent));
      for (const entry of staged.values()) {
        if (!names.has(formatIdent(entry.ident)) && (namespace === undefined || entry.ident.namespace === namespace.toLowerCase())) tables.push(entry.ident);
      }
      return tables.sort((a, b) => (formatIdent(a) < formatIdent(b) ? -1 : 1));
    },
    async tableExists(ident) {
      return staged.has(formatIdent(ident)) || catalog.tableExists(ident);
    },
    async loadTable(ident) {
      return staged.get(formatIdent(ident))?.table ?? catalog.loadTable(ident);
    },
    async createTable(ident, build, options = {}) {
      const name = formatIdent(ident);
      if (!(await catalog.namespaceExists(ident.namespace))) {
        throw new NotFoundError('CATALOG_NAMESPACE_NOT_FOUND', `namespace "${ident.namespace}" does not exist; create it before BEGIN with: CREATE SCHEMA ${ident.namespace}`);
      }
      if (await stagedCatalog.tableExists(ident)) throw new ValidationError('CATALOG_TABLE_EXISTS', `table ${name} already exists`);
      const metadata = build(catalog.store.uri(`warehouse/${ident.namespace}/${ident.name}`));
      const table: LoadedTable = { ident, metadataLocation: placeholder(ident), metadata, pathMap: [] };
      if (options.writes) writes.push(options.writes);
      staged.set(name, { ident, table });
      return table;
    },
    async commitTable(base, next, options = {}) {
      const name = formatIdent(base.ident);
      const entry = staged.get(name);
      // Statements of one transaction run one after another, so a staged change always builds on the latest staged version.
      if (entry && entry.table.metadataLocation !== base.metadataLocation) {
        throw new ConflictError('COMMIT_CONFLICT', `${name} changed inside this transaction while a statement was reading it; run the transaction again`);
      }
      const table: LoadedTable = { ident: base.ident, metadataLocation: placeholder(base.ident), metadata: next, pathMap: base.pathMap };
      if (options.writes) writes.push(options.writes);
      staged.set(name, { ident: base.ident, ...(entry ? (entry.base ? { base: entry.base } : {}) : { base }), table });
      return table;
    },
    async commitTables() {
      throw unsupported('a multi-table catalog commit (e.g. file ingestion)');
    },
    async dropTable() {
      throw unsupported('DROP TABLE');
    },
    async registerTable() {
      throw unsupported('registering a table');
    },
    async createNamespace() {
      throw unsupported('CREATE SCHEMA');
    },
    async dropNamespace() {
      throw unsupported('DROP SCHEMA');
    },
    withRef() {
      throw unsupported('switching branches');
    },
    stagedTables: () => [...staged.keys()],
    async commitStaged() {
      if (staged.size === 0) return [];
      const commits: TableCommit[] = [...staged.values()].map(({ ident, base, table }) => ({
        ident,
        ...(base ? { base } : {}),
        next: { ...table.metadata, metadataLog: table.metadata.metadataLog.filter((entry) => !placeholders.has(entry.metadataFile)) },
      }));
      try {
        await Promise.all(writes.map((w) => w.sync()));
        return await catalog.commitTables(commits);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        const changed = await changedMeanwhile();
        const names = changed.length > 0 ? changed : [...staged.keys()];
        throw new ConflictError(
          'COMMIT_CONFLICT',
          `transaction not committed: ${names.length === 1 ? 'table' : 'tables'} ${names.join(', ')} changed by another commit since the transaction read ${names.length === 1 ? 'it' : 'them'}; nothing was written to any of ${[...staged.keys()].join(', ')}, run the transaction again`,
          { cause: error },
        );
      }
    },
  };
  return stagedCatalog;
}
