import type { DuckDBResult, DuckDBType, Json } from '@duckdb/node-api';
import type { Catalog, LoadedTable } from '../catalog/catalog.js';
import { formatIdent, type TableIdent, validateName } from '../catalog/identifiers.js';
import { ExternalError, NotFoundError, RatError, ValidationError } from '../core/errors.js';
import { newUuid } from '../core/ids.js';
import { currentSchema, newTableMetadata, snapshotAsOf } from '../iceberg/metadata.js';
import { nameMappingOf } from '../iceberg/name-mapping.js';
import { applySchemaChange, type SchemaChange } from '../iceberg/schema-update.js';
import { mergeSettings, nextMetadata, produceSnapshot } from '../iceberg/snapshot-producer.js';
import type { Schema, StructField, TableMetadata } from '../iceberg/types.js';
import { type DuckDb, quoteIdent, quoteString, wrapDuckDbError } from './duckdb.js';
import { bindFilters } from './filter-binding.js';
import { parsePartitionBy } from './partition-by.js';
import { rewriteSelect, type TableRead } from './select-rewriter.js';
import { findTableReferences, isIdentifier, isSymbol, isWord, matchParen, qualifiers, splitStatements, tokenize } from './sql-lexer.js';
import { createStagedCatalog } from './staged-catalog.js';
import { type AlterAction, parseStatement, type Statement, transactionControl } from './statement.js';
import { jsonCopySelect, rowNormalizer } from './json-rows.js';
import { createTableReader, type TableReader } from './table-reader.js';
import { castingSelect, createTableWriter, describeQuery, explainCastFailure, type TableWriter, typedValues } from './table-writer.js';
import { duckDbTypeOf, icebergTypeOf } from './type-mapping.js';
import { parquetCompression, writeDataFiles } from './data-writer.js';
import { deferWrites } from '../storage/deferred-writes.js';

export interface CommandResult {
  kind: 'command';
  /** Postgres-style tag: `INSERT 0 5`, `CREATE TABLE`, `UPDATE 3`. */
  message: string;
  /** The rows were written by DuckDB to StreamOptions.copyTo. */
  copied?: boolean;
  rowCount?: number;
  table?: string;
  snapshotId?: bigint;
  /** COMMIT: every table the transaction changed, all landed in one catalog commit. */
  tables?: string[];
}

export interface RowsResult {
  kind: 'rows';
  columns: string[];
  columnTypes: string[];
  rows: Json[][];
}

export type StatementResult = CommandResult | RowsResult;

/** The last statement's rows, fetched in chunks as the consumer reads them. */
export interface RowStream {
  kind: 'stream';
  columns: string[];
  columnTypes: string[];
  batches(): AsyncIterable<Json[][]>;
}

export interface StreamOptions {
  /**
   * Let DuckDB write the last query's rows straight to this file (e.g. /dev/stdout) as JSON or CSV:
   * several times faster than converting rows in JS. Statements that cannot be wrapped in COPY stream as usual.
   */
  copyTo?: { path: string; format: 'json' | 'csv' };
  /** Called with each earlier statement's result as soon as it completes (so output keeps statement order). */
  onResult?: (result: StatementResult) => void | Promise<void>;
}

/**
 * A read-only relation `namespace.name` that is not a catalog table (e.g. bronze._file_registry, kept
 * in the metadata DB): `refresh` (re)creates it in DuckDB before each statement that mentions it.
 */
export interface VirtualTable {
  namespace: string;
  name: string;
  /** What it is and who writes it, for the error refusing a statement that would change it. */
  description: string;
  refresh(db: DuckDb): Promise<void>;
}

/**
 * Statements whose table changes are staged, not committed: later statements read the staged
 * versions; `commit` lands every change in one catalog commit or none; `rollback` discards them.
 */
export interface SqlTransaction {
  execute(sql: string): Promise<StatementResult[]>;
  /** One catalog commit for every changed table; COMMIT_CONFLICT (nothing lands) when another writer changed one of them meanwhile. */
  commit(): Promise<CommandResult>;
  rollback(): void;
}

export interface SqlExecutor {
  readonly reader: TableReader;
  readonly writer: TableWriter;
  registerVirtualTable(table: VirtualTable): void;
  /** A transaction over this executor's branch (the SQL `BEGIN`); see SqlTransaction. */
  transaction(): SqlTransaction;
  execute(sql: string): Promise<StatementResult[]>;
  /** Runs every statement; the last one, when it returns rows, is streamed. */
  stream(sql: string, options?: StreamOptions): Promise<{ results: StatementResult[]; last: RowStream | StatementResult | undefined }>;
}

/** What a transaction's executor shares with the executor that began it. */
interface TransactionScope {
  reader: TableReader;
  virtualTables: Map<string, VirtualTable>;
  oneAtATime: Serializer;
}

type Serializer = <T>(task: () => Promise<T>) => Promise<T>;

/** Runs tasks one after another, in the order they were given, whether earlier ones failed or not. */
function createSerializer(): Serializer {
  let last: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = last.then(task);
    last = run.catch(() => undefined);
    return run;
  };
}

/** Properties that are not settings: Iceberg derives them from the table itself. */
const RESERVED_PROPERTIES = new Map([
  ['format-version', 'the table format version is fixed at creation (rat writes v2)'],
  ['uuid', 'it is the table uuid, set at creation'],
]);

/** The properties rat reads must hold values it can use: checked when they are set, not at the next write. */
function checkTableProperties(properties: Record<string, string>, table: string): void {
  parquetCompression(properties, table);
  mergeSettings(properties, table);
  nameMappingOf(properties, table);
}

/**
 * The pieces of `MERGE INTO target [AS alias] USING source ON condition WHEN MATCHED ...` as written,
 * or undefined when the statement has no WHEN MATCHED clause (nothing can be matched twice) or does
 * not have this shape.
 */
function mergeParts(sql: string): { target: string; alias: string; source: string; condition: string } | undefined {
  const tokens = tokenize(sql);
  if (!isWord(tokens[0], 'merge') || !isWord(tokens[1], 'into')) return undefined;
  const atDepthZero: number[] = [];
  let depth = 0;
  for (const [i, token] of tokens.entries()) {
    if (isSymbol(token, '(')) depth++;
    else if (isSymbol(token, ')')) depth--;
    else if (depth === 0) atDepthZero.push(i);
  }
  const find = (from: number, word: string) => atDepthZero.find((i) => i > from && isWord(tokens[i], word));
  const using = find(1, 'using');
  const on = using === undefined ? undefined : find(using, 'on');
  const when = on === undefined ? undefined : find(on, 'when');
  if (using === undefined || on === undefined || when === undefined) return undefined;
  if (!atDepthZero.some((i) => i > on && isWord(tokens[i], 'when') && isWord(tokens[i + 1], 'matched'))) return undefined;
  // The target is namespace.table: a following identifier (after an optional AS) is its alias.
  let aliasAt = 5;
  if (isWord(tokens[aliasAt], 'as')) aliasAt++;
  const alias = aliasAt < using && isIdentifier(tokens[aliasAt]) ? tokens[aliasAt]!.value : tokens[4]?.value;
  if (alias === undefined) return undefined;
  return {
    target: sql.slice(tokens[2]!.start, tokens[using]!.start),
    alias,
    source: sql.slice(tokens[using]!.end, tokens[on]!.start),
    condition: sql.slice(tokens[on]!.end, tokens[when]!.start),
  };
}

export function createSqlExecutor(catalog: Catalog, db: DuckDb, scope?: TransactionScope): SqlExecutor {
  // One reader for both: its views are keyed by metadata location, and a staged version's is unique,
  // so a view of uncommitted rows is re-created as soon as anyone reads the committed table again.
  const reader = scope?.reader ?? createTableReader(catalog, db);
  const writer = createTableWriter(catalog, db, reader);
  let ddlCounter = 0;
  const virtualTables = scope?.virtualTables ?? new Map<string, VirtualTable>();
  // Statements share one DuckDB connection and its names: an UPDATE puts a scratch table where the
  // table's view was, and a read or another DML running in between (concurrent async calls on one
  // Lakehouse) would find the wrong object. So statements of this executor, and of its transactions,
  // run one at a time; DuckDB runs one statement per connection at a time anyway.
  const oneAtATime = scope?.oneAtATime ?? createSerializer();

  /**
   * The catalog's namespaces as last read. Only dotted names can be catalog tables, so a statement
   * whose qualifiers are all known needs no read; one naming an unknown qualifier reads the list
   * again (a namespace another process created). One dropped elsewhere is caught in runStatement.
   */
  let knownNamespaces: Set<string> | undefined;

  async function namespaces(text: string, fresh = false): Promise<{ ns: Set<string>; cached: boolean }> {
    if (!fresh && knownNamespaces) {
      const known = knownNamespaces;
      if ([...qualifiers(tokenize(text))].every((q) => known.has(q))) return { ns: known, cached: true };
    }
    const previous = knownNamespaces;
    knownNamespaces = new Set(await catalog.listNamespaces());
    // Dropped by another process: DuckDB must not go on answering for its tables from old views.
    for (const name of previous ?? []) if (!knownNamespaces.has(name)) await reader.forgetNamespace(name);
    return { ns: knownNamespaces, cached: false };
  }

  /** Makes every catalog table a statement reads visible to DuckDB; prunes and time-travels plain SELECTs. */
  async function prepareReads(sql: string, ns: Set<string>, skip?: TableIdent): Promise<string> {
    const loaded = new Map<string, LoadedTable>();
    const mentions = new Map<string, number>();
    const tokens = tokenize(sql);
    for (const ref of findTableReferences(tokens, ns)) {
      const key = `${ref.namespace}.${ref.table}`;
      mentions.set(key, (mentions.get(key) ?? 0) + 1);
      if (loaded.has(key) || (skip && skip.namespace === ref.namespace && skip.name === ref.table)) continue;
      const virtual = virtualTables.get(key);
      if (virtual) {
        if (mentions.get(key) === 1) await virtual.refresh(db);
        continue;
      }
      loaded.set(key, await catalog.loadTable({ namespace: ref.namespace, name: ref.table }));
    }
    if (loaded.size === 0) return sql;
    const replaced = new Map<string, number>();
    // Only a WHERE clause (filters to prune with) or an AT clause (time travel) can change what is read:
    // without either token every mention reads the plain view, and DuckDB need not parse the statement.
    const mayRewrite = tokens.some((t) => isWord(t, 'where', 'at'));
    const rewritten = !mayRewrite ? sql : await rewriteSelect(db, sql, ns, async (read) => {
      const key = `${read.namespace}.${read.table}`;
      const table = loaded.get(key);
      if (!table) return undefined;
      const snapshotId = resolveAt(table, read);
      const schemaId = snapshotId === undefined ? undefined : table.metadata.snapshots.find((s) => s.snapshotId === snapshotId)?.schemaId;
      const schema = table.metadata.schemas.find((s) => s.schemaId === schemaId) ?? currentSchema(table.metadata);
      const predicates = bindFilters(read.filters, schema);
      if (predicates.length === 0 && snapshotId === undefined) return undefined;
      replaced.set(key, (replaced.get(key) ?? 0) + 1);
      const options = { ...(snapshotId !== undefined ? { snapshotId } : {}), predicates };
      const { sql: scan } = await reader.plan(table, options);
      return { sql: scan, view: () => reader.temporaryView(table, { ...options, sql: scan }) };
    });
    // The plain `ns.table` view is needed only where some mention was not replaced by a pruned view.
    for (const [key, table] of loaded) {
      if ((replaced.get(key) ?? 0) < (mentions.get(key) ?? 0) || rewritten === undefined) await reader.ensureView(table);
    }
    return rewritten ?? sql;
  }

  /**
   * DuckDB serializes only SELECTs, so prepareReads cannot rewrite the `ns.table [alias] AT (...)`
   * reads inside an UPDATE, DELETE or MERGE (DuckDB would ask the view, or the DML's own scratch
   * table, for time travel it does not support). Each is replaced in the text by the time-travel
   * scan that a SELECT of it reads, under the same alias.
   */
  async function inlineTimeTravel(sql: string, ns: Set<string>): Promise<string> {
    const tokens = tokenize(sql);
    let result = '';
    let copied = 0;
    for (const ref of findTableReferences(tokens, ns)) {
      let next = ref.index + 3;
      let alias: string | undefined;
      if (isWord(tokens[next], 'as')) next++;
      if (isIdentifier(tokens[next]) && !isWord(tokens[next], 'at')) alias = sql.slice(tokens[next]!.start, tokens[next++]!.end);
      if (!isWord(tokens[next], 'at') || !isSymbol(tokens[next + 1], '(')) continue;
      const close = matchParen(tokens, next + 1);
      if (close < 0) continue;
      const read = await prepareReads(`SELECT * FROM ${sql.slice(ref.start, ref.end)} ${sql.slice(tokens[next]!.start, tokens[close]!.end)}`, ns);
      result += `${sql.slice(copied, ref.start)}(${read}) AS ${alias ?? quoteIdent(ref.table)}`;
      copied = tokens[close]!.end;
    }
    return result + sql.slice(copied);
  }

  function resolveAt(table: LoadedTable, read: TableRead): bigint | undefined {
    const name = formatIdent(table.ident);
    if (read.at?.kind === 'version') {
      if (typeof read.at.value !== 'string') return read.at.value;
      const ref = table.metadata.refs[read.at.value];
      if (!ref) throw new NotFoundError('CATALOG_SNAPSHOT_NOT_FOUND', `table ${name} has no branch or tag "${read.at.value}"`);
      return ref.snapshotId;
    }
    if (read.at?.kind === 'timestamp') {
      const snapshot = snapshotAsOf(table.metadata, read.at.epochMs);
      if (!snapshot) throw new NotFoundError('CATALOG_SNAPSHOT_NOT_FOUND', `table ${name} has no snapshot at or before ${new Date(read.at.epochMs).toISOString()}`);
      return snapshot.snapshotId;
    }
    return undefined;
  }

  function runStatement(text: string, stream: boolean, options: StreamOptions = {}): Promise<StatementResult | RowStream | undefined> {
    return oneAtATime(() => runAlone(text, stream, options));
  }

  async function runAlone(text: string, stream: boolean, options: StreamOptions): Promise<StatementResult | RowStream | undefined> {
    const { ns, cached } = await namespaces(text);
    try {
      return await runParsed(text, ns, stream, options);
    } catch (error) {
      // A namespace dropped by another process since the list was read: read it again and run the statement as if fresh.
      if (!cached || !(error instanceof NotFoundError) || error.code !== 'CATALOG_NAMESPACE_NOT_FOUND') throw error;
      return runParsed(text, (await namespaces(text, true)).ns, stream, options);
    }
  }

  /**
   * A virtual table the statement would create, change or drop. Such a statement is refused: the
   * catalog would say the table does not exist (or make a table of that name the virtual one hides),
   * and DuckDB would change only its copy, refreshed before the next statement that reads it.
   */
  function writtenVirtualTable(statement: Statement, text: string, ns: Set<string>): VirtualTable | undefined {
    if ('ident' in statement) return virtualTables.get(`${statement.ident.namespace}.${statement.ident.name}`);
    const tokens = tokenize(text);
    if (!isWord(tokens[0], 'truncate')) return undefined;
    const [target] = findTableReferences(tokens, ns);
    return target && virtualTables.get(`${target.namespace}.${target.table}`);
  }

  async function runParsed(text: string, ns: Set<string>, stream: boolean, options: StreamOptions): Promise<StatementResult | RowStream | undefined> {
    const statement = parseStatement(text, ns);
    const virtual = writtenVirtualTable(statement, text, ns);
    // A catalog table of that name made before such statements were refused can still be dropped.
    if (virtual && !(statement.kind === 'dropTable' && (await catalog.tableExists(statement.ident)))) {
      const name = `${virtual.namespace}.${virtual.name}`;
      throw new ValidationError('UNSUPPORTED', `${name} is read-only: ${virtual.description}; query it with SELECT, or copy it into a table of your own: CREATE TABLE ${virtual.namespace}.my_copy AS SELECT * FROM ${name}`);
    }
    if (scope) {
      const refused = { createNamespace: 'CREATE SCHEMA', dropNamespace: 'DROP SCHEMA', dropTable: 'DROP TABLE' } as const;
      if (statement.kind in refused) {
        throw new ValidationError('UNSUPPORTED', `${refused[statement.kind as keyof typeof refused]} is not supported inside a transaction; run it before BEGIN or after COMMIT`);
      }
    }
    try {
      switch (statement.kind) {
        case 'createNamespace':
          await catalog.createNamespace(statement.name, { ifNotExists: statement.ifNotExists });
          knownNamespaces?.add(statement.name.toLowerCase());
          return { kind: 'command', message: 'CREATE SCHEMA' };
        case 'dropNamespace':
          await catalog.dropNamespace(statement.name, { ifExists: statement.ifExists });
          knownNamespaces?.delete(statement.name.toLowerCase());
          await reader.forgetNamespace(statement.name.toLowerCase());
          return { kind: 'command', message: 'DROP SCHEMA' };
        case 'createTable':
          return await createTable(statement, ns);
        case 'insert':
          return await insert(statement, ns);
        case 'dml':
          return await dml(statement, text, ns);
        case 'alter':
          return await alter(statement.ident, statement.action);
        case 'dropTable': {
          const dropped = await catalog.dropTable(statement.ident, { ifExists: statement.ifExists });
          reader.forgetView(statement.ident.namespace, statement.ident.name);
          await db.run(`DROP VIEW IF EXISTS ${quoteIdent(statement.ident.namespace)}.${quoteIdent(statement.ident.name)}`);
          return { kind: 'command', message: dropped ? 'DROP TABLE' : 'DROP TABLE (did not exist)', table: formatIdent(statement.ident) };
        }
        case 'transaction':
          throw new ValidationError(
            'SQL_ERROR',
            scope
              ? `${statement.action.toUpperCase()} inside a transaction: an SDK transaction commits when its callback returns and rolls back when it throws`
              : `${statement.action.toUpperCase()} runs only in a script (rat sql "BEGIN; ...; COMMIT") or via the SDK's transaction()`,
          );
        case 'query':
          return await query(text, ns, stream, options);
      }
    } finally {
      if (!stream) await reader.dropTemporaryViews();
    }
  }

  async function query(text: string, ns: Set<string>, stream: boolean, options: StreamOptions = {}): Promise<StatementResult | RowStream> {
    const sql = await prepareReads(text, ns);
    if (options.copyTo) {
      const copied = await copyRows(sql, options.copyTo);
      if (copied) return copied;
    }
    let result: DuckDBResult;
    try {
      result = stream ? await db.connection.stream(sql) : await db.connection.run(sql);
    } catch (error) {
      throw wrapDuckDbError(error);
    }
    const columns = result.columnNames();
    const types = result.columnTypes();
    const columnTypes = types.map((t) => t.toString());
    const normalize = rowNormalizer(types);
    if (stream) {
      return {
        kind: 'stream',
        columns,
        columnTypes,
        async *batches() {
          try {
            for await (const rows of result.yieldRowsJson()) yield normalize(rows);
          } catch (error) {
            throw wrapDuckDbError(error);
          } finally {
            await reader.dropTemporaryViews();
          }
        },
      };
    }
    try {
      return { kind: 'rows', columns, columnTypes, rows: normalize(await result.getRowsJson()) };
    } catch (error) {
      throw wrapDuckDbError(error);
    }
  }

  /**
   * The query's rows written by DuckDB's COPY; undefined when the rows path writes them instead: for a
   * statement COPY cannot wrap (SHOW, PRAGMA, ...), or JSON that COPY would write otherwise (jsonCopySelect).
   */
  async function copyRows(sql: string, { path, format }: NonNullable<StreamOptions['copyTo']>): Promise<CommandResult | undefined> {
    try {
      const select = format === 'json' ? jsonCopySelect(sql, await describeQuery(db, sql)) : sql;
      if (select === undefined) return undefined;
      const copied = await db.connection.run(`COPY (${select}) TO ${quoteString(path)} (FORMAT ${format}${format === 'json' ? ', ARRAY true' : ', HEADER true'})`);
      return { kind: 'command', message: `COPY ${copied.rowsChanged}`, rowCount: copied.rowsChanged, copied: true };
    } catch (error) {
      // Only a statement COPY cannot wrap falls back; any other failure is the query's own.
      if (!/^Parser Error/.test((error as Error).message)) throw wrapDuckDbError(error);
      return undefined;
    }
  }

  async function schemaFromColumns(names: string[], types: DuckDBType[], required: Set<string>, table: string): Promise<Schema> {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name.toLowerCase())) throw new ValidationError('INVALID_IDENTIFIER', `column "${name}" appears twice in ${table}; give each column a unique name`);
      if (name.trim() === '') throw new ValidationError('INVALID_IDENTIFIER', `${table} has a column with an empty name`);
      seen.add(name.toLowerCase());
    }
    let nextId = names.length;
    const fields: StructField[] = names.map((name, index) => ({ id: index + 1, name, required: required.has(name.toLowerCase()), type: 'int' }));
    fields.forEach((field, index) => {
      field.type = icebergTypeOf(types[index]!, `${table}.${field.name}`, () => ++nextId);
    });
    return { type: 'struct', schemaId: 0, fields };
  }

  async function createTable(statement: Extract<Statement, { kind: 'createTable' }>, ns: Set<string>): Promise<CommandResult> {
    const name = formatIdent(statement.ident);
    validateName('table', statement.ident.name);
    const exists = await catalog.tableExists(statement.ident);
    if (exists && statement.ifNotExists) return { kind: 'command', message: 'CREATE TABLE (already exists)', table: name };
    if (exists && !statement.orReplace) throw new ValidationError('CATALOG_TABLE_EXISTS', `table ${name} already exists; use CREATE TABLE IF NOT EXISTS or CREATE OR REPLACE TABLE`);
    if (!(await catalog.namespaceExists(statement.ident.namespace))) {
      throw new NotFoundError('CATALOG_NAMESPACE_NOT_FOUND', `namespace "${statement.ident.namespace}" does not exist; create it with: CREATE SCHEMA ${statement.ident.namespace}`);
    }
    let schema: Schema;
    let selectSql: string | undefined;
    if (statement.columnsSql !== undefined) {
      const scratch = `__rat_ddl_${++ddlCounter}`;
      await db.run(`CREATE TEMP TABLE ${scratch} (${statement.columnsSql})`).catch((error: unknown) => {
        throw error instanceof RatError ? new ValidationError('SQL_ERROR', `CREATE TABLE ${name}: ${error.message}`, { cause: error }) : error;
      });
      try {
        const described = await describeQuery(db, `SELECT * FROM ${scratch}`);
        const notNull = await db.rows<{ column_name: string }>(`SELECT column_name FROM duckdb_columns() WHERE table_name = '${scratch}' AND NOT is_nullable`);
        schema = await schemaFromColumns(described.names, described.types, new Set(notNull.map((r) => r.column_name.toLowerCase())), name);
      } finally {
        await db.run(`DROP TABLE IF EXISTS ${scratch}`);
      }
      if (statement.asQuery) {
        const q = await prepareReads(statement.asQuery, ns);
        const source = await describeQuery(db, q);
        selectSql = castingSelect(name, schema, q, source, {});
      }
    } else {
      const q = await prepareReads(statement.asQuery!, ns);
      const source = await describeQuery(db, q);
      schema = await schemaFromColumns(source.names, source.types, new Set(), name);
      selectSql = castingSelect(name, schema, q, source, {});
    }
    const spec = { fields: parsePartitionBy(statement.partitionBy, schema, name) };
    const location = catalog.store.uri(`warehouse/${statement.ident.namespace}/${statement.ident.name}`);
    let metadata: TableMetadata;
    try {
      metadata = newTableMetadata({ location, schema, spec });
    } catch (error) {
      if (error instanceof RatError && error.code === 'INVALID_PARTITION') throw new ValidationError('INVALID_PARTITION', `CREATE TABLE ${name}: ${error.message}`, { cause: error });
      throw error;
    }
    let rows = 0;
    const writes = deferWrites(catalog.store);
    if (selectSql) {
      const draft: LoadedTable = { ident: statement.ident, metadataLocation: '', metadata, pathMap: [] };
      const files = await writer.writeFiles(draft, selectSql, writes);
      rows = files.reduce((n, f) => n + f.recordCount, 0);
      if (files.length > 0) {
        const cache = reader.manifestCache([]);
        metadata = await produceSnapshot(metadata, { operation: 'append', addedDataFiles: files }, {
          store: writes.store,
          locationKey: catalog.store.keyOf(location)!,
          baseMetadataLocation: '',
          loadManifestList: (l) => cache.manifestList(l),
          loadManifest: (l) => cache.manifest(l),
        });
      }
    }
    if (exists) {
      // CREATE OR REPLACE: the new table replaces the old one in one catalog swap.
      const base = await catalog.loadTable(statement.ident);
      await catalog.commitTable(base, { ...metadata, location: base.metadata.location === location ? location : metadata.location }, { writes });
      reader.forgetView(statement.ident.namespace, statement.ident.name);
    } else {
      try {
        await catalog.createTable(statement.ident, () => metadata, { writes });
      } catch (error) {
        // Another writer created the table since the check above: IF NOT EXISTS is still satisfied.
        if (statement.ifNotExists && error instanceof RatError && error.code === 'CATALOG_TABLE_EXISTS') return { kind: 'command', message: 'CREATE TABLE (already exists)', table: name };
        throw error;
      }
    }
    return { kind: 'command', message: statement.asQuery ? `CREATE TABLE ${rows}` : 'CREATE TABLE', rowCount: rows, table: name, ...(metadata.currentSnapshotId !== undefined ? { snapshotId: metadata.currentSnapshotId } : {}) };
  }

  /**
   * Each table as this executor's last INSERT left it. The next plain INSERT builds on it without
   * reading the catalog: the commit is a compare-and-swap on that metadata location, so when
   * another writer moved the table meanwhile the append re-applies itself on the fresh table, and
   * when the table's schema or identity changed the INSERT runs again from a fresh read.
   */
  const insertedInto = new Map<string, LoadedTable>();

  async function insert(statement: Extract<Statement, { kind: 'insert' }>, ns: Set<string>): Promise<CommandResult> {
    const name = formatIdent(statement.ident);
    const remembered = statement.overwrite ? undefined : insertedInto.get(name);
    insertedInto.delete(name);
    try {
      return await insertInto(statement, ns, remembered ?? (await catalog.loadTable(statement.ident)));
    } catch (error) {
      // Any refusal may come from the remembered table being stale (another writer changed its
      // schema, or dropped and re-created it): nothing was committed, so run it on a fresh read. A
      // store or metadata-DB failure is not retried: the commit may have landed.
      if (!remembered || error instanceof ExternalError) throw error;
      return insertInto(statement, ns, await catalog.loadTable(statement.ident));
    }
  }

  async function insertInto(statement: Extract<Statement, { kind: 'insert' }>, ns: Set<string>, table: LoadedTable): Promise<CommandResult> {
    const name = formatIdent(statement.ident);
    const schema = currentSchema(table.metadata);
    let q = await prepareReads(statement.query, ns);
    const mapping = { ...(statement.columns ? { columns: statement.columns } : {}), byName: statement.byName };
    const source = await describeQuery(db, q).catch(async (error: unknown) => {
      const typed = statement.byName || !/Cannot combine types/.test((error as Error).message) ? undefined : valuesCastTo(q, schema, statement.columns);
      if (!typed) throw error;
      const plain = q;
      q = typed;
      return describeQuery(db, q).catch(async (castError: unknown) => {
        // A value that does not convert fails here, while DuckDB folds the casts: find its column.
        const fields = statement.columns ?? schema.fields.map((f) => f.name);
        for (const [i, field] of fields.entries()) {
          const one = valuesCastTo(plain, schema, statement.columns, i);
          if (one && (await describeQuery(db, one).then(() => false, (e: unknown) => !/Cannot combine types/.test((e as Error).message)))) {
            throw new ValidationError('TYPE_MISMATCH', `cannot insert into ${name}, column ${field}: ${(castError as Error).message}`, { cause: castError });
          }
        }
        throw new ValidationError('TYPE_MISMATCH', `cannot insert into ${name}: ${(castError as Error).message}`, { cause: castError });
      });
    });
    const selectSql = castingSelect(name, schema, q, source, mapping);
    try {
      const outcome = await writer.append(statement.ident, selectSql, { overwrite: statement.overwrite, base: table });
      if (!statement.overwrite) insertedInto.set(name, outcome.table);
      return { kind: 'command', message: `INSERT 0 ${outcome.rows}`, rowCount: outcome.rows, table: name, ...(outcome.snapshotId !== undefined ? { snapshotId: outcome.snapshotId } : {}) };
    } catch (error) {
      if (error instanceof RatError && error.code === 'TYPE_MISMATCH' && !/required column/.test(error.message)) {
        throw await explainCastFailure(db, name, schema, q, source, mapping, error);
      }
      throw error;
    }
  }

  /**
   * A MERGE whose WHEN MATCHED clauses could see one target row matched by several source rows: DuckDB
   * lets one of them win, by the order it happens to read them. The SQL standard (and Spark, Iceberg)
   * refuse the statement instead, so this does too, before anything is changed. Identical target rows
   * match the same source rows, so a row is matched more than once when its join count exceeds its copies.
   */
  async function refuseAmbiguousMerge(sql: string, name: string, schema: Schema): Promise<void> {
    const parts = mergeParts(sql);
    if (!parts) return;
    const row = (qualifier: string) => `struct_pack(${schema.fields.map((f) => `${quoteIdent(f.name)} := ${qualifier}${quoteIdent(f.name)}`).join(', ')})`;
    // A MERGE of a shape mergeParts misreads (a join in USING without parentheses) makes this query
    // fail to bind: the MERGE itself then runs, unchecked, and reports its own errors.
    const found = await db.rows<{ row: string; matches: bigint }>(
      `WITH joined AS (SELECT k, count(*) AS n FROM (SELECT ${row(`${quoteIdent(parts.alias)}.`)} AS k FROM ${parts.target} JOIN ${parts.source} ON ${parts.condition}) GROUP BY k),
       copies AS (SELECT k, count(*) AS n FROM (SELECT ${row('')} AS k FROM ${parts.target}) GROUP BY k)
       SELECT CAST(joined.k AS VARCHAR) AS row, joined.n // copies.n AS matches FROM joined JOIN copies ON joined.k IS NOT DISTINCT FROM copies.k WHERE joined.n > copies.n LIMIT 1`,
    ).catch(() => []);
    if (found.length === 0) return;
    const { row: target, matches } = found[0]!;
    throw new ValidationError(
      'SQL_ERROR',
      `cannot merge ${name}: ${matches} source rows match the target row ${target}, so it is not clear which one to apply; nothing was changed. Make the source hold one row per key of the ON condition (e.g. SELECT DISTINCT, GROUP BY, or QUALIFY row_number() OVER (PARTITION BY key ORDER BY ...) = 1)`,
    );
  }

  /**
   * typedValues for an INSERT: the i-th value goes to the i-th listed column, else to the i-th column
   * of the table. `only`: cast that column's values alone (to find the one a value does not convert to).
   */
  function valuesCastTo(query: string, schema: Schema, columns: string[] | undefined, only?: number): string | undefined {
    const fields = columns ? columns.map((c) => schema.fields.find((f) => f.name.toLowerCase() === c.toLowerCase())) : schema.fields;
    return typedValues(query, fields.map((f, i) => (f && (only === undefined || only === i) ? duckDbTypeOf(f.type) : undefined)));
  }

  /**
   * UPDATE / DELETE / MERGE: DuckDB runs the statement on an in-memory copy of the table loaded
   * file by file; files whose rows changed are rewritten (copy-on-write), new rows become new files,
   * and everything commits as one snapshot.
   *
   * Rows are matched by content, not by DuckDB's rowid (a user column named `rowid` hides it): each
   * file's row hashes are counted as it is loaded, and a file is kept when none of its rows' hashes
   * lost a copy in the statement. The table's rows after the statement, less the kept files' rows,
   * are written as new files, so the result holds exactly the rows DuckDB left, with any column names.
   */
  async function dml(statement: Extract<Statement, { kind: 'dml' }>, text: string, ns: Set<string>): Promise<CommandResult> {
    const name = formatIdent(statement.ident);
    const base = await catalog.loadTable(statement.ident);
    const schema = currentSchema(base.metadata);
    const sql = await prepareReads(await inlineTimeTravel(text, ns), ns, statement.ident);
    const { scan } = await reader.plan(base);
    const target = `${quoteIdent(statement.ident.namespace)}.${quoteIdent(statement.ident.name)}`;
    const columns = schema.fields.map((f) => quoteIdent(f.name)).join(', ');
    // Internal names: the scratch tables are unique; a column name the statement adds next to the
    // user's columns is one none of them has.
    const unique = newUuid().replaceAll('-', '');
    const loading = `__rat_loading_${unique}`;
    const fileRows = `__rat_file_rows_${unique}`;
    const changes = `__rat_changes_${unique}`;
    const needed = `__rat_needed_${unique}`;
    const ranges = `__rat_ranges_${unique}`;
    const taken = new Set(schema.fields.map((f) => f.name.toLowerCase()));
    const unused = (word: string) => {
      let candidate = `__rat_${word}`;
      for (let n = 1; taken.has(candidate); n++) candidate = `__rat_${word}_${n}`;
      return quoteIdent(candidate);
    };
    const [h, copy, need] = [unused('hash'), unused('copy'), unused('need')];
    const rowHash = `hash(${columns})`;
    reader.forgetView(statement.ident.namespace, statement.ident.name);
    await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(statement.ident.namespace)}; DROP VIEW IF EXISTS ${target}`);
    await db.run(`CREATE TABLE ${target} AS SELECT ${schema.fields.map((f) => `CAST(NULL AS ${duckDbTypeOf(f.type)}) AS ${quoteIdent(f.name)}`).join(', ')} WHERE false`);
    // Which file a row came from: by DuckDB's row id, which keeps each loaded row's position through
    // the statement, as long as no column of the table is called `rowid` (it would hide the row id);
    // then by the rows' content (hashed and counted per file), which costs more.
    const byRowId = !taken.has('rowid');
    const [row, range] = [unused('row'), unused('range')];
    const bounds: { start: number; end: number }[] = [];
    let loaded = 0;
    const fingerprint = `SELECT ${range}.i, count(${row}.rowid) AS n, sum(hash(${schema.fields.map((f) => `${row}.${quoteIdent(f.name)}`).join(', ')})::HUGEINT) AS h FROM ${ranges} ${range} LEFT JOIN ${target} ${row} ON ${row}.rowid >= ${range}.lo AND ${row}.rowid < ${range}.hi GROUP BY ${range}.i`;
    try {
      let before = new Map<number, string>();
      if (byRowId) {
        for (const task of scan.tasks) {
          const fileSql = await reader.sqlFor(base, { ...scan, tasks: [task] });
          await db.run(`INSERT INTO ${target} SELECT ${columns} FROM (${fileSql})`);
          const [{ n }] = (await db.rows<{ n: bigint }>(`SELECT count(*) AS n FROM ${target}`)) as [{ n: bigint }];
          bounds.push({ start: loaded, end: Number(n) });
          loaded = Number(n);
        }
        await db.run(`CREATE TEMP TABLE ${ranges} (i INTEGER, lo BIGINT, hi BIGINT)`);
        for (let i = 0; i < bounds.length; i += 500) {
          const values = bounds.slice(i, i + 500).map((b, k) => `(${i + k}, ${b.start}, ${b.end})`);
          await db.run(`INSERT INTO ${ranges} VALUES ${values.join(', ')}`);
        }
        before = new Map((await db.rows<{ i: number; n: bigint; h: bigint | null }>(fingerprint)).map((r) => [r.i, `${r.n}:${r.h}`]));
      } else {
        await db.run(`CREATE TEMP TABLE ${loading} AS FROM ${target}; CREATE TEMP TABLE ${fileRows} (file INTEGER, h UBIGINT, n BIGINT)`);
        for (const [i, task] of scan.tasks.entries()) {
          const fileSql = await reader.sqlFor(base, { ...scan, tasks: [task] });
          // Hashed as the table's column types hold them, so a row left as it was hashes the same afterwards.
          await db.run(
            `INSERT INTO ${loading} SELECT ${columns} FROM (${fileSql}); INSERT INTO ${target} FROM ${loading}; ` +
              `INSERT INTO ${fileRows} SELECT ${i}, ${h}, count(*) FROM (SELECT ${rowHash} AS ${h} FROM ${loading}) GROUP BY ${h}; DELETE FROM ${loading}`,
          );
        }
      }
      if (statement.verb === 'merge') await refuseAmbiguousMerge(sql, name, schema);
      let changed: number;
      try {
        const result = await db.connection.run(sql);
        changed = result.rowsChanged;
      } catch (error) {
        // DuckDB names neither the table nor, for a failed cast, the column: at least name the table.
        throw wrapDuckDbError(error, `cannot ${statement.verb} ${name}`);
      }
      if (changed === 0) return { kind: 'command', message: `${statement.verb.toUpperCase()} 0`, rowCount: 0, table: name };
      let removedFiles: Set<string>;
      let selectSql: string;
      if (byRowId) {
        // A file whose rows (by their row ids) no longer count or hash the same is rewritten with its
        // rows still in the table; rows past the loaded ones are the statement's new rows.
        const after = await db.rows<{ i: number; n: bigint; h: bigint | null }>(fingerprint);
        const rewrite = after.filter((r) => before.get(r.i) !== `${r.n}:${r.h}`).map((r) => r.i);
        removedFiles = new Set(rewrite.map((i) => scan.tasks[i]!.dataFile.filePath));
        const keep = [...rewrite.map((i) => `(rowid >= ${bounds[i]!.start} AND rowid < ${bounds[i]!.end})`), `rowid >= ${loaded}`];
        selectSql = `SELECT ${columns} FROM ${target} WHERE ${keep.join(' OR ')}`;
      } else {
        // Per hash, rows after the statement less rows the files held (only hashes whose count moved).
        // A hash that lost a row is rewritten in every file holding it; those files' rows still in the
        // table, and the rows the statement added, are written anew.
        await db.run(
          `CREATE TEMP TABLE ${changes} AS SELECT h, sum(n) AS n FROM (SELECT ${h} AS h, 1 AS n FROM (SELECT ${rowHash} AS ${h} FROM ${target}) UNION ALL SELECT h, -n FROM ${fileRows}) GROUP BY h HAVING sum(n) <> 0`,
        );
        const rewritten = `SELECT DISTINCT file FROM ${fileRows} WHERE h IN (SELECT h FROM ${changes} WHERE n < 0)`;
        const rewrite = (await db.rows<{ file: number }>(`${rewritten} ORDER BY file`)).map((r) => r.file);
        removedFiles = new Set(rewrite.map((i) => scan.tasks[i]!.dataFile.filePath));
        // Rows with the same hash are the same row: write as many copies of each as the kept files do not hold.
        await db.run(
          `CREATE TEMP TABLE ${needed} AS SELECT h, sum(n) AS n FROM (SELECT h, n FROM ${changes} UNION ALL SELECT h, n FROM ${fileRows} WHERE file IN (${rewritten})) GROUP BY h HAVING sum(n) > 0`,
        );
        const hashed = `SELECT ${columns}, ${rowHash} AS ${h} FROM ${target}`;
        const numbered = `SELECT ${columns}, ${h}, row_number() OVER (PARTITION BY ${h}) AS ${copy} FROM (${hashed}) WHERE ${h} IN (SELECT h FROM ${needed})`;
        selectSql = `SELECT ${columns} FROM (${numbered}) JOIN (SELECT h AS ${h}, n AS ${need} FROM ${needed}) USING (${h}) WHERE ${copy} <= ${need}`;
      }
      const writes = deferWrites(catalog.store);
      const files = await writeDataFiles({
        db,
        store: writes.store,
        selectSql,
        schema,
        spec: base.metadata.partitionSpecs.find((s) => s.specId === base.metadata.defaultSpecId)!,
        dataKey: `${catalog.store.keyOf(catalog.writeLocation(base))}/data`,
        table: name,
        properties: base.metadata.properties,
      });
      // Rows set to the values they already had (UPDATE t SET v = v): no file changed, so no snapshot.
      if (files.length === 0 && removedFiles.size === 0) return { kind: 'command', message: `${statement.verb.toUpperCase()} ${changed}`, rowCount: changed, table: name };
      const operation = files.length === 0 ? 'delete' : 'overwrite';
      const outcome = await writer.commitChange(base, { operation, addedDataFiles: files, removedFiles }, writes);
      return { kind: 'command', message: `${statement.verb.toUpperCase()} ${changed}`, rowCount: changed, table: name, ...(outcome.snapshotId !== undefined ? { snapshotId: outcome.snapshotId } : {}) };
    } finally {
      await db.run(`DROP TABLE IF EXISTS ${target}; DROP TABLE IF EXISTS ${loading}; DROP TABLE IF EXISTS ${fileRows}; DROP TABLE IF EXISTS ${changes}; DROP TABLE IF EXISTS ${needed}; DROP TABLE IF EXISTS ${ranges}`);
    }
  }

  async function alter(ident: TableIdent, action: AlterAction): Promise<CommandResult> {
    const name = formatIdent(ident);
    if (action.kind === 'setProperties' || action.kind === 'unsetProperties') return alterProperties(ident, action);
    let change: SchemaChange;
    switch (action.kind) {
      case 'addColumn':
      case 'alterType': {
        const described = await describeQuery(db, `SELECT CAST(NULL AS ${action.typeSql}) AS v`).catch((error: unknown) => {
          throw new ValidationError('INVALID_TYPE', `unknown type "${action.typeSql}" for column ${name}.${action.name}: ${(error as Error).message}`);
        });
        let counter = 0;
        const type = icebergTypeOf(described.types[0]!, `${name}.${action.name}`, () => ++counter);
        change = action.kind === 'addColumn' ? { kind: 'addColumn', name: action.name, type, required: action.notNull } : { kind: 'alterType', name: action.name, type };
        if (action.kind === 'addColumn') {
          const table = await catalog.loadTable(ident);
          if (action.ifNotExists && currentSchema(table.metadata).fields.some((f) => f.name.toLowerCase() === action.name.toLowerCase())) {
            return { kind: 'command', message: 'ALTER TABLE (column exists)', table: name };
          }
        }
        break;
      }
      case 'dropColumn': {
        const table = await catalog.loadTable(ident);
        if (action.ifExists && !currentSchema(table.metadata).fields.some((f) => f.name.toLowerCase() === action.name.toLowerCase())) {
          return { kind: 'command', message: 'ALTER TABLE (no such column)', table: name };
        }
        change = { kind: 'dropColumn', name: action.name };
        break;
      }
      default:
        change = action;
    }
    await writer.commitMetadata(ident, (base) => {
      return applySchemaChange(nextMetadata(base.metadata, base.metadataLocation), name, change);
    });
    reader.forgetView(ident.namespace, ident.name);
    return { kind: 'command', message: 'ALTER TABLE', table: name };
  }

  /** SET / UNSET TBLPROPERTIES: one new metadata version; a value rat would refuse at the next write is refused now. */
  async function alterProperties(ident: TableIdent, action: Extract<AlterAction, { kind: 'setProperties' | 'unsetProperties' }>): Promise<CommandResult> {
    const name = formatIdent(ident);
    const keys = action.kind === 'setProperties' ? Object.keys(action.properties) : action.keys;
    const reserved = keys.find((key) => RESERVED_PROPERTIES.has(key));
    if (reserved) throw new ValidationError('INVALID_ARGUMENT', `table property ${reserved} of ${name} cannot be changed: ${RESERVED_PROPERTIES.get(reserved)}`);
    await writer.commitMetadata(ident, (base) => {
      const properties = { ...base.metadata.properties };
      if (action.kind === 'setProperties') Object.assign(properties, action.properties);
      else {
        for (const key of action.keys) {
          if (!(key in properties) && !action.ifExists) {
            throw new ValidationError('INVALID_ARGUMENT', `table property ${key} is not set on ${name} (UNSET TBLPROPERTIES IF EXISTS skips it)`);
          }
          delete properties[key];
        }
      }
      checkTableProperties(properties, name);
      return { ...nextMetadata(base.metadata, base.metadataLocation), properties };
    });
    return { kind: 'command', message: 'ALTER TABLE', table: name };
  }

  function transaction(): SqlTransaction {
    if (scope) throw new ValidationError('SQL_ERROR', 'a transaction is already open: transactions do not nest');
    const staged = createStagedCatalog(catalog);
    const inner = createSqlExecutor(staged, db, { reader, virtualTables, oneAtATime });
    let state: 'open' | 'committed' | 'rolled back' = 'open';
    const requireOpen = (what: string) => {
      if (state !== 'open') throw new ValidationError('SQL_ERROR', `cannot ${what}: the transaction was already ${state}`);
    };
    return {
      async execute(sql) {
        requireOpen('run statements');
        try {
          return await inner.execute(sql);
        } catch (error) {
          // An error ends the transaction: its staged changes may be half-applied.
          state = 'rolled back';
          throw error;
        }
      },
      async commit() {
        requireOpen('commit');
        state = 'committed';
        const tables = staged.stagedTables();
        const committed = await staged.commitStaged().catch((error: unknown) => {
          state = 'rolled back';
          throw error;
        });
        for (const table of committed) reader.forgetView(table.ident.namespace, table.ident.name);
        return { kind: 'command', message: 'COMMIT', tables };
      },
      rollback() {
        if (state === 'open') state = 'rolled back';
      },
    };
  }

  /**
   * Runs a script's statements in order, `BEGIN ... COMMIT | ROLLBACK` as transactions; an error
   * inside one, or the end of the script before COMMIT, rolls it back.
   */
  async function runScript(statements: string[], streamLast: boolean, options: StreamOptions = {}): Promise<{ results: StatementResult[]; last: RowStream | StatementResult | undefined }> {
    const results: StatementResult[] = [];
    let last: RowStream | StatementResult | undefined;
    let open: { tx: SqlTransaction; statements: number } | undefined;
    try {
      for (const [index, text] of statements.entries()) {
        const isLast = index === statements.length - 1;
        const control = scope ? undefined : transactionControl(text);
        let result: RowStream | StatementResult | undefined;
        if (control === 'begin') {
          if (open) throw new ValidationError('SQL_ERROR', 'BEGIN inside a transaction: transactions do not nest; COMMIT or ROLLBACK the open one first');
          open = { tx: transaction(), statements: 0 };
          result = { kind: 'command', message: 'BEGIN' };
        } else if (control === 'commit' || control === 'rollback') {
          if (!open) throw new ValidationError('SQL_ERROR', `${control.toUpperCase()} without BEGIN: no transaction is open`);
          const { tx } = open;
          open = undefined;
          if (control === 'commit') {
            result = await tx.commit();
          } else {
            tx.rollback();
            result = { kind: 'command', message: 'ROLLBACK' };
          }
        } else if (open) {
          open.statements++;
          result = (await open.tx.execute(text))[0];
        } else {
          result = await runStatement(text, streamLast && isLast, options);
        }
        if (isLast && streamLast) {
          last = result;
        } else {
          results.push(result as StatementResult);
          if (streamLast) await options.onResult?.(result as StatementResult);
        }
      }
      if (open) {
        throw new ValidationError(
          'SQL_ERROR',
          `the script ended inside a transaction (BEGIN without COMMIT): its ${open.statements} ${open.statements === 1 ? 'statement was' : 'statements were'} rolled back and nothing was written; end the transaction with COMMIT`,
        );
      }
    } finally {
      open?.tx.rollback();
    }
    return { results, last };
  }

  return {
    reader,
    writer,
    registerVirtualTable(table) {
      virtualTables.set(`${table.namespace}.${table.name}`, table);
    },
    transaction,
    async execute(sql) {
      return (await runScript(splitStatements(sql), false)).results;
    },
    stream(sql, options) {
      return runScript(splitStatements(sql), true, options);
    },
  };
}
