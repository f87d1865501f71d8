import { ConflictError, MergeConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newCommitId } from '../core/ids.js';
import { formatIdent, quarantinePartner, type TableIdent } from './identifiers.js';
import { isPostgres, type MetadataDb, type MetadataTransaction, type RefRow, sql } from './metadata-db.js';
import { MAIN_BRANCH, validateRefName } from './ref-name.js';

export type RefType = 'branch' | 'tag';

export interface RefInfo {
  name: string;
  type: RefType;
  head: string;
  createdAt: Date;
}

/** Where a table key points on a ref or at a commit. */
export interface TablePointer {
  ident: TableIdent;
  metadataLocation: string;
  /** JSON PathMap[]. */
  pathMap: string;
}

/** One table key a commit changed; `metadataLocation` null means the commit dropped it. */
export interface CommitChange {
  table: string;
  metadataLocation: string | null;
}

export interface CommitInfo {
  id: string;
  parentId?: string;
  mergeParentId?: string;
  author: string;
  message: string;
  createdAt: Date;
  changes: CommitChange[];
}

/** What a catalog view reads from: a ref's own pointer rows, or the resolved state of a commit (read-only). */
export type ResolvedRef = { kind: 'ref'; name: string; type: RefType; head: string } | { kind: 'commit'; id: string };

/** One pointer move of a commit. `base` is the location an update or drop builds on (compare-and-swap). */
export type PointerChange =
  | { kind: 'create'; ident: TableIdent; metadataLocation: string; pathMap?: string }
  | { kind: 'update'; ident: TableIdent; base: string; metadataLocation: string }
  | { kind: 'drop'; ident: TableIdent };

export interface MergeResult {
  source: string;
  into: string;
  /** up-to-date: nothing to merge; fast-forward: the target moved to the source's head; merge: a merge commit took the source's tables. */
  kind: 'up-to-date' | 'fast-forward' | 'merge';
  /** Tables whose pointer on the target changes (or would, on a dry run), sorted. */
  tables: string[];
  dryRun: boolean;
  /** The target's head afterwards (unchanged on a dry run). */
  head: string;
  /** Tables changed on both sides that the merge's strategy settled (taken from the source, or kept as the target has them), sorted. */
  conflicts: string[];
}

/**
 * What a three-way merge does with a table changed on both sides since the fork: `fail` (the
 * default) merges nothing and names the tables; `source-wins` takes the source's version of each
 * such table (the target's changes to it since the fork are no longer in its current state, though
 * still in its log); `dest-wins` keeps the target's. The names are lakeFS's.
 */
export type MergeStrategy = 'fail' | 'source-wins' | 'dest-wins';

export const MERGE_STRATEGIES: readonly MergeStrategy[] = ['fail', 'source-wins', 'dest-wins'];

export interface PointerDiff {
  table: string;
  change: 'added' | 'removed' | 'changed';
  from?: TablePointer;
  to?: TablePointer;
}

/** Refs (branches, tags) and catalog commits over one metadata DB: the Nessie model. */
export interface RefStore {
  resolve(name: string): Promise<ResolvedRef>;
  /** The table pointers a ref or commit holds, keyed `namespace.table`. */
  pointers(name: string): Promise<Map<string, TablePointer>>;
  /** The state at a commit: each table's latest change along the commit's ancestry. */
  pointersAt(commitId: string): Promise<Map<string, TablePointer>>;
  /**
   * One catalog commit on a branch, in one metadata-DB transaction that locks the branch: each
   * change compare-and-swaps its own table's pointer (writers to other tables never conflict), then
   * the commit and its changes are recorded and the branch head moves. Returns the commit id.
   */
  commit(branch: string, commit: { author: string; message: string; changes: PointerChange[] }, alsoWrite?: (trx: MetadataTransaction) => Promise<void>): Promise<string>;
  list(): Promise<RefInfo[]>;
  /** A new branch or tag at `from` (a ref or commit id; default main): its pointer rows are copied, no data. */
  create(type: RefType, name: string, from?: string): Promise<RefInfo>;
  delete(type: RefType, name: string): Promise<void>;
  /** Commits reachable from a ref or commit, newest first. */
  log(name: string, options?: { limit?: number }): Promise<CommitInfo[]>;
  /**
   * Per-table three-way merge of `source` into the branch `into`; all or nothing (MergeConflictError
   * names the tables). A side whose change to a table is maintenance only counts as unchanged.
   */
  merge(source: string, into: string, options?: { dryRun?: boolean; author?: string; strategy?: MergeStrategy }): Promise<MergeResult>;
  diff(from: string, to: string): Promise<PointerDiff[]>;
}

type Db = MetadataDb | MetadataTransaction;

const key = (ident: TableIdent): string => formatIdent(ident);

function refNotFound(name: string): NotFoundError {
  return new NotFoundError('CATALOG_REF_NOT_FOUND', `branch, tag or commit "${name}" does not exist; list them with: rat branch list, rat tag list, rat log`);
}

/** Rows per multi-row INSERT: 5 columns each stays far below SQLite's and PostgreSQL's parameter limits. */
const MAX_ROWS_PER_INSERT = 1000;

export interface RefStoreOptions {
  /**
   * Whether a table went from `base` to `later` by maintenance only (compaction, snapshot expiry):
   * the same rows and settings. A merge counts such a side as unchanged, so maintenance run on every
   * branch does not make their tables conflict. Without it every change counts.
   */
  changedOnlyByMaintenance?: (base: TablePointer, later: TablePointer) => Promise<boolean>;
}

export function createRefStore(db: MetadataDb, options: RefStoreOptions = {}): RefStore {
  const onlyMaintained = async (base: TablePointer | undefined, later: TablePointer | undefined): Promise<boolean> =>
    base !== undefined && later !== undefined && options.changedOnlyByMaintenance !== undefined && (await options.changedOnlyByMaintenance(base, later));

  async function lockRef(trx: MetadataTransaction, name: string): Promise<RefRow> {
    let query = trx.selectFrom('rat_refs').selectAll().where('name', '=', name);
    // SQLite write transactions already hold the file's write lock (BEGIN IMMEDIATE).
    if (isPostgres(trx)) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) throw refNotFound(name);
    return row;
  }

  async function resolveIn(conn: Db, name: string): Promise<ResolvedRef> {
    const ref = await conn.selectFrom('rat_refs').selectAll().where('name', '=', name).executeTakeFirst();
    if (ref) return { kind: 'ref', name: ref.name, type: ref.type as RefType, head: ref.head };
    if (/^[0-9a-f]{4,16}$/.test(name)) {
      const commits = await conn.selectFrom('rat_commits').select('id').where('id', 'like', `${name}%`).limit(2).execute();
      if (commits.length === 1) return { kind: 'commit', id: commits[0]!.id };
      if (commits.length > 1) throw new ValidationError('INVALID_ARGUMENT', `commit id prefix "${name}" is ambiguous: give more digits`);
    }
    throw refNotFound(name);
  }

  const headOf = (resolved: ResolvedRef): string => (resolved.kind === 'ref' ? resolved.head : resolved.id);

  /**
   * The commit graph below `heads` (themselves included), from one walk. The walk carries each
   * commit's parent ids, so a step is one primary-key lookup; joining rat_commits again per step to
   * find them made PostgreSQL scan the whole table at every step (quadratic in the history: 390 ms
   * at 1,000 commits).
   */
  async function commitGraph(conn: Db, heads: string[]): Promise<Map<string, GraphCommit>> {
    const result = await sql<{ id: string; seq: number; created_at: number; parent_id: string | null; merge_parent_id: string | null }>`
      with recursive anc(id, seq, created_at, parent_id, merge_parent_id) as (
        select id, seq, created_at, parent_id, merge_parent_id from rat_commits where id in (${sql.join(heads)})
        union
        select p.id, p.seq, p.created_at, p.parent_id, p.merge_parent_id from anc join rat_commits p on p.id = anc.parent_id or p.id = anc.merge_parent_id
      )
      select id, seq, created_at, parent_id, merge_parent_id from anc`.execute(conn);
    return new Map(
      result.rows.map((r) => [r.id, { seq: Number(r.seq), createdAt: Number(r.created_at), parents: [r.parent_id, r.merge_parent_id].filter((p): p is string => p !== null) }]),
    );
  }

  /**
   * The pointers of `tables` at commit `base`: for each, its latest change (by seq, then time, as
   * pointersAtIn orders them) among the commits `graph` reaches from `base`. Reads only the changes
   * of those tables, not the whole history's.
   */
  async function pointersOfTablesAt(conn: Db, graph: Map<string, GraphCommit>, base: string, tables: TablePointer['ident'][]): Promise<Map<string, TablePointer>> {
    const reached = reachable(graph, base);
    const state = new Map<string, TablePointer>();
    const latest = new Map<string, { seq: number; createdAt: number }>();
    for (let i = 0; i < tables.length; i += 200) {
      const chunk = tables.slice(i, i + 200);
      const rows = await conn
        .selectFrom('rat_commit_changes')
        .select(['commit_id', 'namespace', 'name', 'metadata_location', 'path_map'])
        .where((eb) => eb.or(chunk.map((t) => eb.and([eb('namespace', '=', t.namespace), eb('name', '=', t.name)]))))
        .execute();
      for (const row of rows) {
        const commit = reached.has(row.commit_id) ? graph.get(row.commit_id)! : undefined;
        if (!commit) continue;
        const ident = { namespace: row.namespace, name: row.name };
        const seen = latest.get(key(ident));
        if (seen && (seen.seq > commit.seq || (seen.seq === commit.seq && seen.createdAt > commit.createdAt))) continue;
        latest.set(key(ident), commit);
        if (row.metadata_location === null) state.delete(key(ident));
        else state.set(key(ident), { ident, metadataLocation: row.metadata_location, pathMap: row.path_map });
      }
    }
    return state;
  }

  /**
   * Whether `ancestor` is `descendant` or one of its ancestors. A parent is always committed before
   * its child, so its seq is smaller: the walk stops below `ancestor`'s seq and costs the commits
   * since then, not the whole history.
   */
  async function isAncestor(conn: Db, ancestor: string, descendant: string): Promise<boolean> {
    const row = await conn.selectFrom('rat_commits').select('seq').where('id', '=', ancestor).executeTakeFirst();
    if (!row) return false;
    const result = await sql<{ id: string }>`
      with recursive anc(id, seq, parent_id, merge_parent_id) as (
        select id, seq, parent_id, merge_parent_id from rat_commits where id = ${descendant}
        union
        select p.id, p.seq, p.parent_id, p.merge_parent_id from anc join rat_commits p on p.id = anc.parent_id or p.id = anc.merge_parent_id
        where p.seq >= ${Number(row.seq)}
      )
      select id from anc where id = ${ancestor}`.execute(conn);
    return result.rows.length > 0;
  }

  async function pointersAtIn(conn: Db, commitId: string): Promise<Map<string, TablePointer>> {
    const result = await sql<{ namespace: string; name: string; metadata_location: string | null; path_map: string }>`
      with recursive anc(id, parent_id, merge_parent_id) as (
        select id, parent_id, merge_parent_id from rat_commits where id = ${commitId}
        union
        select p.id, p.parent_id, p.merge_parent_id from anc join rat_commits p on p.id = anc.parent_id or p.id = anc.merge_parent_id
      )
      select ch.namespace as namespace, ch.name as name, ch.metadata_location as metadata_location, ch.path_map as path_map
      from rat_commit_changes ch join rat_commits c on c.id = ch.commit_id join anc on anc.id = c.id
      order by c.seq, c.created_at`.execute(conn);
    const state = new Map<string, TablePointer>();
    for (const row of result.rows) {
      const ident = { namespace: row.namespace, name: row.name };
      if (row.metadata_location === null) state.delete(key(ident));
      else state.set(key(ident), { ident, metadataLocation: row.metadata_location, pathMap: row.path_map });
    }
    return state;
  }

  async function refPointers(conn: Db, ref: string): Promise<Map<string, TablePointer>> {
    const rows = await conn.selectFrom('rat_tables').select(['namespace', 'name', 'metadata_location', 'path_map']).where('ref', '=', ref).execute();
    return new Map(
      rows.map((r) => {
        const ident = { namespace: r.namespace, name: r.name };
        return [key(ident), { ident, metadataLocation: r.metadata_location, pathMap: r.path_map }];
      }),
    );
  }

  async function pointersIn(conn: Db, resolved: ResolvedRef): Promise<Map<string, TablePointer>> {
    return resolved.kind === 'ref' ? refPointers(conn, resolved.name) : pointersAtIn(conn, resolved.id);
  }

  /**
   * Records a commit (its row and one row per changed table) and moves `branch`'s head to it; the
   * caller holds the branch's lock. On PostgreSQL all of it is one statement (data-modifying CTEs):
   * every statement of a commit transaction is a round trip to the server. SQLite runs each
   * statement in-process, so there they stay plain, the change rows in multi-row INSERTs.
   */
  async function insertCommit(
    trx: MetadataTransaction,
    branch: string,
    commit: { parent: string; mergeParent?: string; author: string; message: string; changes: { ident: TableIdent; metadataLocation: string | null; pathMap?: string }[] },
  ): Promise<string> {
    const id = newCommitId();
    // The next seq is computed in the INSERT itself, under the branch lock: no separate read.
    const commitRow = (db: MetadataTransaction) =>
      db
        .insertInto('rat_commits')
        .columns(['id', 'parent_id', 'merge_parent_id', 'seq', 'author', 'message', 'created_at'])
        .expression(
          db
            .selectFrom('rat_commits')
            .select([
              sql<string>`${id}`.as('id'),
              sql<string>`${commit.parent}`.as('parent_id'),
              sql<string | null>`cast(${commit.mergeParent ?? null} as text)`.as('merge_parent_id'),
              sql<number>`coalesce(max(seq), 0) + 1`.as('seq'),
              sql<string>`${commit.author}`.as('author'),
              sql<string>`${commit.message}`.as('message'),
              sql<number>`${Date.now()}`.as('created_at'),
            ]),
        );
    const rows = commit.changes.map((change) => ({ commit_id: id, namespace: change.ident.namespace, name: change.ident.name, metadata_location: change.metadataLocation, path_map: change.pathMap ?? '[]' }));
    if (isPostgres(trx) && rows.length > 0 && rows.length <= MAX_ROWS_PER_INSERT) {
      await trx
        .with('new_commit', (db) => commitRow(db as unknown as MetadataTransaction).returning('id'))
        .with('moved_head', (db) => db.updateTable('rat_refs').set({ head: id }).where('name', '=', branch).returning('name'))
        .insertInto('rat_commit_changes')
        .values(rows)
        .execute();
      return id;
    }
    await commitRow(trx).execute();
    for (let i = 0; i < rows.length; i += MAX_ROWS_PER_INSERT) await trx.insertInto('rat_commit_changes').values(rows.slice(i, i + MAX_ROWS_PER_INSERT)).execute();
    await trx.updateTable('rat_refs').set({ head: id }).where('name', '=', branch).execute();
    return id;
  }

  async function setPointer(trx: MetadataTransaction, ref: string, ident: TableIdent, pointer: TablePointer | undefined): Promise<void> {
    await trx.deleteFrom('rat_tables').where('ref', '=', ref).where('namespace', '=', ident.namespace).where('name', '=', ident.name).execute();
    if (pointer) {
      await trx
        .insertInto('rat_tables')
        .values({ ref, namespace: ident.namespace, name: ident.name, metadata_location: pointer.metadataLocation, path_map: pointer.pathMap, updated_at: Date.now() })
        .execute();
    }
  }

  /** RefStore.commit as one call of the rat_commit function; its refusals become the errors the transaction path throws. */
  async function commitOnPostgres(conn: Db, branch: string, commit: { author: string; message: string; changes: PointerChange[] }): Promise<string> {
    const id = newCommitId();
    const { changes } = commit;
    const texts = (pick: (change: PointerChange) => string | null) => changes.map(pick);
    try {
      await sql`select rat_commit(${branch}, ${id}, ${commit.author}, ${commit.message}, ${Date.now()}::bigint, ${null}::text,
        ${texts((c) => c.kind)}::text[], ${texts((c) => c.ident.namespace)}::text[], ${texts((c) => c.ident.name)}::text[],
        ${texts((c) => (c.kind === 'update' ? c.base : null))}::text[], ${texts((c) => (c.kind === 'drop' ? null : c.metadataLocation))}::text[],
        ${texts((c) => (c.kind === 'create' && c.pathMap ? c.pathMap : '[]'))}::text[])`.execute(conn);
      return id;
    } catch (error) {
      const refusal = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      if (typeof refusal?.code !== 'string' || !refusal.code.startsWith('RA')) throw error;
      const change = changes[Number(refusal.message) - 1];
      const table = change ? key(change.ident) : '';
      switch (refusal.code) {
        case 'RA001':
          throw refNotFound(branch);
        case 'RA002':
          requireBranch({ name: branch, type: 'tag', head: '', created_at: 0 }, 'commit to');
          break;
        case 'RA003':
          throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `table ${table} was dropped from branch ${branch} by another writer`);
        case 'RA004':
          throw new ConflictError('COMMIT_CONFLICT', `table ${table} on branch ${branch} was changed by another writer since ${change?.kind === 'update' ? change.base : ''}`);
        case 'RA005':
          throw new ConflictError('CATALOG_TABLE_EXISTS', `table ${table} already exists on branch ${branch} (created by another writer at the same time?)`);
        case 'RA006':
          throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `table ${table} does not exist on branch ${branch}`);
      }
      throw error;
    }
  }

  function requireBranch(ref: RefRow, action: string): void {
    if (ref.type !== 'branch') {
      throw new ValidationError('REF_NOT_A_BRANCH', `cannot ${action} tag "${ref.name}": tags are immutable; branch from it with: rat branch create <name> --from ${ref.name}`);
    }
  }

  const store: RefStore = {
    resolve: (name) => resolveIn(db, name),
    async pointers(name) {
      return pointersIn(db, await resolveIn(db, name));
    },
    pointersAt: (commitId) => pointersAtIn(db, commitId),

    async commit(branch, commit, alsoWrite) {
      if (isPostgres(db)) {
        // One statement (rat_commit, metadata-db.ts) instead of a transaction of five round trips;
        // what else must land with it (registry rows) shares its transaction.
        if (!alsoWrite) return commitOnPostgres(db, branch, commit);
        return db.transaction().execute(async (trx) => {
          const id = await commitOnPostgres(trx, branch, commit);
          await alsoWrite(trx);
          return id;
        });
      }
      return db.transaction().execute(async (trx) => {
        const ref = await lockRef(trx, branch);
        requireBranch(ref, `commit to`);
        for (const change of commit.changes) {
          const { ident } = change;
          const where = trx.updateTable('rat_tables').where('ref', '=', branch).where('namespace', '=', ident.namespace).where('name', '=', ident.name);
          if (change.kind === 'update') {
            const result = await where
              .set({ metadata_location: change.metadataLocation, updated_at: Date.now(), version: (eb) => eb('version', '+', 1) })
              .where('metadata_location', '=', change.base)
              .executeTakeFirst();
            if (Number(result.numUpdatedRows) !== 1) {
              const exists = await trx.selectFrom('rat_tables').select('name').where('ref', '=', branch).where('namespace', '=', ident.namespace).where('name', '=', ident.name).executeTakeFirst();
              if (!exists) throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `table ${key(ident)} was dropped from branch ${branch} by another writer`);
              throw new ConflictError('COMMIT_CONFLICT', `table ${key(ident)} on branch ${branch} was changed by another writer since ${change.base}`);
            }
          } else if (change.kind === 'create') {
            const result = await trx
              .insertInto('rat_tables')
              .values({ ref: branch, namespace: ident.namespace, name: ident.name, metadata_location: change.metadataLocation, path_map: change.pathMap ?? '[]', updated_at: Date.now() })
              .onConflict((oc) => oc.columns(['ref', 'namespace', 'name']).doNothing())
              .executeTakeFirst();
            if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) {
              throw new ConflictError('CATALOG_TABLE_EXISTS', `table ${key(ident)} already exists on branch ${branch} (created by another writer at the same time?)`);
            }
          } else {
            const result = await trx.deleteFrom('rat_tables').where('ref', '=', branch).where('namespace', '=', ident.namespace).where('name', '=', ident.name).executeTakeFirst();
            if (Number(result.numDeletedRows) === 0) throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `table ${key(ident)} does not exist on branch ${branch}`);
          }
        }
        await alsoWrite?.(trx);
        return insertCommit(trx, branch, {
          parent: ref.head,
          author: commit.author,
          message: commit.message,
          changes: commit.changes.map((c) => ({
            ident: c.ident,
            metadataLocation: c.kind === 'drop' ? null : c.metadataLocation,
            ...(c.kind === 'create' && c.pathMap ? { pathMap: c.pathMap } : {}),
          })),
        });
      });
    },

    async list() {
      const rows = await db.selectFrom('rat_refs').selectAll().orderBy('type').orderBy('name').execute();
      return rows.map((r) => ({ name: r.name, type: r.type as RefType, head: r.head, createdAt: new Date(Number(r.created_at)) }));
    },

    async create(type, name, from = MAIN_BRANCH) {
      validateRefName(type, name);
      return db.transaction().execute(async (trx) => {
        const source = await resolveIn(trx, from);
        // Locking the source keeps its head and pointer rows consistent while they are copied.
        if (source.kind === 'ref') await lockRef(trx, source.name);
        if (await trx.selectFrom('rat_refs').select('type').where('name', '=', name).executeTakeFirst()) {
          throw new ValidationError('CATALOG_REF_EXISTS', `a branch or tag named "${name}" already exists`);
        }
        const head = headOf(source);
        const createdAt = Date.now();
        await trx.insertInto('rat_refs').values({ name, type, head, created_at: createdAt }).execute();
        if (source.kind === 'ref') {
          // Copied inside the metadata DB: one statement, no pointer row travels to this process and back.
          await sql`insert into rat_tables (ref, namespace, name, metadata_location, path_map, updated_at)
            select ${name}, namespace, name, metadata_location, path_map, ${createdAt} from rat_tables where ref = ${source.name}`.execute(trx);
          return { name, type, head, createdAt: new Date(createdAt) };
        }
        const pointers = [...(await pointersIn(trx, source)).values()];
        if (pointers.length > 0) {
          await trx
            .insertInto('rat_tables')
            .values(pointers.map((p) => ({ ref: name, namespace: p.ident.namespace, name: p.ident.name, metadata_location: p.metadataLocation, path_map: p.pathMap, updated_at: createdAt })))
            .execute();
        }
        return { name, type, head, createdAt: new Date(createdAt) };
      });
    },

    async delete(type, name) {
      if (type === 'branch' && name === MAIN_BRANCH) throw new ValidationError('INVALID_ARGUMENT', `cannot delete branch ${MAIN_BRANCH}: every catalog has it`);
      await db.transaction().execute(async (trx) => {
        const ref = await trx.selectFrom('rat_refs').selectAll().where('name', '=', name).executeTakeFirst();
        if (!ref || ref.type !== type) throw new NotFoundError('CATALOG_REF_NOT_FOUND', `${type} "${name}" does not exist; list them with: rat ${type} list`);
        await trx.deleteFrom('rat_tables').where('ref', '=', name).execute();
        await trx.deleteFrom('rat_refs').where('name', '=', name).execute();
      });
    },

    async log(name, options = {}) {
      const head = headOf(await resolveIn(db, name));
      const limit = options.limit ?? 100;
      const result = await sql<{ id: string; parent_id: string | null; merge_parent_id: string | null; author: string; message: string; created_at: number }>`
        with recursive anc(id, parent_id, merge_parent_id) as (
          select id, parent_id, merge_parent_id from rat_commits where id = ${head}
          union
          select p.id, p.parent_id, p.merge_parent_id from anc join rat_commits p on p.id = anc.parent_id or p.id = anc.merge_parent_id
        )
        select c.id as id, c.parent_id as parent_id, c.merge_parent_id as merge_parent_id, c.author as author, c.message as message, c.created_at as created_at
        from anc join rat_commits c on c.id = anc.id
        order by c.seq desc, c.created_at desc
        limit ${limit}`.execute(db);
      const ids = result.rows.map((r) => r.id);
      const changes = ids.length === 0 ? [] : await db.selectFrom('rat_commit_changes').selectAll().where('commit_id', 'in', ids).orderBy('namespace').orderBy('name').execute();
      return result.rows.map((r) => ({
        id: r.id,
        ...(r.parent_id ? { parentId: r.parent_id } : {}),
        ...(r.merge_parent_id ? { mergeParentId: r.merge_parent_id } : {}),
        author: r.author,
        message: r.message,
        createdAt: new Date(Number(r.created_at)),
        changes: changes.filter((c) => c.commit_id === r.id).map((c) => ({ table: `${c.namespace}.${c.name}`, metadataLocation: c.metadata_location })),
      }));
    },

    async merge(source, into, options = {}) {
      if (source === into) throw new ValidationError('INVALID_ARGUMENT', `cannot merge branch ${source} into itself`);
      const dryRun = options.dryRun ?? false;
      const strategy = options.strategy ?? 'fail';
      if (!MERGE_STRATEGIES.includes(strategy)) {
        throw new ValidationError('INVALID_ARGUMENT', `merge strategy "${String(strategy)}" is not one of ${MERGE_STRATEGIES.join(', ')}`);
      }
      return db.transaction().execute(async (trx) => {
        const resolvedSource = await resolveIn(trx, source);
        // Both refs locked in name order, so two opposite merges cannot deadlock.
        const locked = new Map<string, RefRow>();
        for (const name of [into, ...(resolvedSource.kind === 'ref' ? [resolvedSource.name] : [])].sort()) locked.set(name, await lockRef(trx, name));
        const target = locked.get(into)!;
        requireBranch(target, 'merge into');
        const sourceHead = resolvedSource.kind === 'ref' ? locked.get(resolvedSource.name)!.head : resolvedSource.id;
        const result = (kind: MergeResult['kind'], tables: string[], head: string, conflicts: string[] = []): MergeResult => ({ source, into, kind, tables: tables.sort(), dryRun, head, conflicts: conflicts.sort() });

        if (await isAncestor(trx, sourceHead, target.head)) return result('up-to-date', [], target.head);
        const targetPointers = await refPointers(trx, into);
        const sourcePointers = await pointersIn(trx, resolvedSource);

        if (await isAncestor(trx, target.head, sourceHead)) {
          const tables = pointerDiff(targetPointers, sourcePointers).map((d) => d.table);
          if (dryRun) return result('fast-forward', tables, target.head);
          // Only the pointers that differ move: the rest already equal the source's, so the merge
          // costs statements per changed table, not per table in the catalog.
          for (const table of new Set([...targetPointers.keys(), ...sourcePointers.keys()])) {
            const [t, s] = [targetPointers.get(table), sourcePointers.get(table)];
            if (t?.metadataLocation === s?.metadataLocation && t?.pathMap === s?.pathMap) continue;
            await setPointer(trx, into, (s ?? t)!.ident, s);
          }
          await trx.updateTable('rat_refs').set({ head: sourceHead }).where('name', '=', into).execute();
          return result('fast-forward', tables, sourceHead);
        }

        const graph = await commitGraph(trx, [target.head, sourceHead]);
        const targetAncestors = reachable(graph, target.head);
        let base: string | undefined;
        let baseSeq = -1;
        for (const id of reachable(graph, sourceHead)) {
          const seq = graph.get(id)!.seq;
          if (targetAncestors.has(id) && seq > baseSeq) [base, baseSeq] = [id, seq];
        }
        // The fork point's pointer matters only for the tables the two sides disagree on.
        const disputed = [...new Set([...targetPointers.keys(), ...sourcePointers.keys()])]
          .filter((table) => targetPointers.get(table)?.metadataLocation !== sourcePointers.get(table)?.metadataLocation)
          .map((table) => (sourcePointers.get(table) ?? targetPointers.get(table))!.ident);
        const basePointers = base ? await pointersOfTablesAt(trx, graph, base, disputed) : new Map<string, TablePointer>();
        const taken: { ident: TableIdent; pointer: TablePointer | undefined }[] = [];
        const conflicts: string[] = [];
        for (const table of new Set([...basePointers.keys(), ...targetPointers.keys(), ...sourcePointers.keys()])) {
          const b = basePointers.get(table)?.metadataLocation;
          const t = targetPointers.get(table)?.metadataLocation;
          const s = sourcePointers.get(table)?.metadataLocation;
          if (s === b || s === t) continue;
          const pointer = sourcePointers.get(table);
          // Changed on both sides: a side that only compacted or expired snapshots still holds the
          // base's rows, so the other side's version wins (the target's, when both only maintained).
          if (t !== b && (await onlyMaintained(basePointers.get(table), pointer))) continue;
          const conflict = t !== b && !(await onlyMaintained(basePointers.get(table), targetPointers.get(table)));
          if (conflict) conflicts.push(table);
          // dest-wins: the target keeps its version of a table both sides changed.
          if (!conflict || strategy === 'source-wins') taken.push({ ident: (pointer ?? basePointers.get(table) ?? targetPointers.get(table))!.ident, pointer });
        }
        // A table and its quarantine table take the same side when a strategy settles a conflict on
        // either: a row a replay moved from one to the other on one side, or a file's bad rows beside
        // its good rows, would otherwise be lost or kept twice.
        for (const table of new Set(conflicts.map(quarantinePartner))) {
          if (conflicts.includes(table)) continue;
          const index = taken.findIndex((t) => key(t.ident) === table);
          if (index >= 0) taken.splice(index, 1);
          const [t, s] = [targetPointers.get(table), sourcePointers.get(table)];
          if (strategy === 'source-wins' && t?.metadataLocation !== s?.metadataLocation) taken.push({ ident: (s ?? t)!.ident, pointer: s });
        }
        if (conflicts.length > 0 && strategy === 'fail') {
          conflicts.sort();
          throw new MergeConflictError(
            `cannot merge ${source} into ${into}: ${conflicts.length === 1 ? 'table' : 'tables'} ${conflicts.join(', ')} changed on both branches since they forked (commit ${base ?? 'none'}); nothing was merged. ` +
              `To settle it, merge with strategy source-wins (take ${source}'s version of ${conflicts.length === 1 ? 'it' : 'them'}) or dest-wins (keep ${into}'s), or change one side and merge again`,
            conflicts,
          );
        }
        const tables = taken.map((t) => key(t.ident));
        if (dryRun) return result('merge', tables, target.head, conflicts);
        for (const { ident, pointer } of taken) await setPointer(trx, into, ident, pointer);
        const id = await insertCommit(trx, into, {
          parent: target.head,
          mergeParent: sourceHead,
          author: options.author ?? 'rat',
          message: `merge ${source} into ${into}`,
          changes: taken.map(({ ident, pointer }) => ({ ident, metadataLocation: pointer?.metadataLocation ?? null, ...(pointer ? { pathMap: pointer.pathMap } : {}) })),
        });
        return result('merge', tables, id, conflicts);
      });
    },

    async diff(from, to) {
      const [a, b] = [await store.pointers(from), await store.pointers(to)];
      return pointerDiff(a, b);
    },
  };
  return store;
}

/** One commit of a walked history: its order and its parents (one, or two for a merge commit). */
interface GraphCommit {
  seq: number;
  createdAt: number;
  parents: string[];
}

/** `from` and every commit reachable from it through parent links of `graph`. */
function reachable(graph: Map<string, GraphCommit>, from: string): Set<string> {
  const seen = new Set<string>();
  const pending = [from];
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (seen.has(id) || !graph.has(id)) continue;
    seen.add(id);
    pending.push(...graph.get(id)!.parents);
  }
  return seen;
}

/** Tables added, removed or repointed going from `a` to `b`, sorted by name. */
function pointerDiff(a: Map<string, TablePointer>, b: Map<string, TablePointer>): PointerDiff[] {
  const diffs: PointerDiff[] = [];
  for (const table of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const from = a.get(table);
    const to = b.get(table);
    if (from && !to) diffs.push({ table, change: 'removed', from });
    else if (!from && to) diffs.push({ table, change: 'added', to });
    else if (from && to && from.metadataLocation !== to.metadataLocation) diffs.push({ table, change: 'changed', from, to });
  }
  return diffs;
}
