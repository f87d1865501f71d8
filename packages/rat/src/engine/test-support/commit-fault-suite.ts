import { afterEach, describe, expect, it } from 'vitest';
import type { MetadataDialect } from '../../catalog/metadata-db.js';
import { ExternalError, isRatError } from '../../core/errors.js';
import type { Lakehouse } from '../lakehouse.js';
import { FaultSwitch, faultyStatements, faultyStore, type FaultPlan } from './fault-switch.js';
import { createLakeHome, type LakeHome } from './lake-home.js';
import { auditTable } from './table-audit.js';

/**
 * The object store or the metadata DB fails at the Nth operation of a commit, once or from then on,
 * for every N up to the number of operations the commit does (counted first on the same writer).
 * After each failure every table reads at a committed state, the state before the statement exactly
 * when the writer saw an error, and the error names the layer and the operation that failed. A
 * writer that saw one failure commits the statement when it runs it again; after failures that do not
 * stop, the writer is closed as a dying process would be and a new one carries on.
 */

type Layer = 'store' | 'db';

interface Scenario {
  name: string;
  tables: string[];
  setup(lake: Lakehouse): Promise<unknown>;
  /** Statement number k: one commit. */
  run(lake: Lakehouse, k: number): Promise<unknown>;
  /** What a reader sees, as text. */
  state(lake: Lakehouse): Promise<string>;
  /** What a reader must see after the statements `landed` (in order) committed. */
  expected(landed: number[]): string;
}

const ids = async (lake: Lakehouse, table: string, column = 'id') => (await lake.query<{ v: number }>(`SELECT ${column}::INTEGER AS v FROM ${table} ORDER BY v`)).map((r) => r.v).join(',');

const scenarios: Scenario[] = [
  {
    name: 'an INSERT commit',
    tables: ['bronze.t'],
    setup: (lake) => lake.sql('CREATE TABLE bronze.t (id BIGINT); INSERT INTO bronze.t VALUES (0)'),
    run: (lake, k) => lake.sql(`INSERT INTO bronze.t VALUES (${k})`),
    state: (lake) => ids(lake, 'bronze.t'),
    expected: (landed) => [0, ...landed].sort((a, b) => a - b).join(','),
  },
  {
    name: 'a transaction over two tables',
    tables: ['bronze.a', 'bronze.b'],
    setup: (lake) => lake.sql('CREATE TABLE bronze.a (id BIGINT); CREATE TABLE bronze.b (n BIGINT); INSERT INTO bronze.a VALUES (0); INSERT INTO bronze.b VALUES (0)'),
    run: (lake, k) =>
      lake.transaction(async (tx) => {
        await tx.sql(`INSERT INTO bronze.a VALUES (${k})`);
        await tx.sql(`UPDATE bronze.b SET n = ${k}`);
      }),
    state: async (lake) => `a=${await ids(lake, 'bronze.a')} b=${await ids(lake, 'bronze.b', 'n')}`,
    expected: (landed) => `a=${[0, ...landed].sort((a, b) => a - b).join(',')} b=${landed.at(-1) ?? 0}`,
  },
];

/** What the store or the driver throws when the disk or the connection fails. */
function injectedError(layer: Layer, dialect: MetadataDialect, operation: string, marker: string): Error {
  if (layer === 'store') {
    const [method, key] = operation.split(' ');
    return new ExternalError('STORAGE_ERROR', `Local store ${method} of "${key ?? ''}" failed: EIO: i/o error (${marker})`);
  }
  // The drivers' own errors: better-sqlite3's SqliteError has a code; pg's connection loss has none.
  return dialect === 'sqlite' ? Object.assign(new Error(`disk I/O error (${marker})`), { code: 'SQLITE_IOERR' }) : new Error(`Connection terminated unexpectedly (${marker})`);
}

/** An operation without its generated names (uuids, snapshot ids, metadata versions), to compare two commits' operations. */
const shape = (operation: string): string => operation.replace(/[0-9a-f-]{8,}/g, '*');

/** The suite for one dialect: each dialect's file calls it, so the two run in parallel. */
export function describeCommitFaults(dialect: MetadataDialect): void {
  describe(`a commit whose store or metadata DB fails (${dialect} catalog)`, () => {
    let home: LakeHome | undefined;

    afterEach(async () => {
      await home?.remove();
      home = undefined;
    });

    describe.each(scenarios)('$name', (scenario) => {
      it.each<{ layer: Layer; name: string }>([
        { layer: 'store', name: 'object store' },
        { layer: 'db', name: 'metadata DB' },
      ])('fails at each operation of the $name, once and from then on, and leaves every table at a committed state', async ({ layer }) => {
        home = await createLakeHome(dialect, 'rat-faults-');
        const faults = new FaultSwitch();
        const openWriter = () => home!.open(layer === 'store' ? { wrapStore: (store) => faultyStore(store, faults) } : { beforeMetadataStatement: faultyStatements(faults) });
        const checker = await home.open();
        await scenario.setup(checker);
        let writer = await openWriter();
        const landed: number[] = [];
        let k = 0;
        const commit = async () => {
          await scenario.run(writer, ++k);
          landed.push(k);
        };
        // Warm the writer's caches, then count the operations of one commit in that steady state.
        await commit();
        faults.start();
        await commit();
        faults.stop();
        const count = faults.operations.length;
        const counted = faults.operations;
        // On PostgreSQL a warm INSERT's whole commit can be one statement (select rat_commit(...)).
        expect(count, `${layer} operations of one commit`).toBeGreaterThan(layer === 'store' ? 3 : dialect === 'postgres' ? 0 : 4);
        if (layer === 'db') expect(counted.some((op) => /^(commit|select rat_commit\()/i.test(op.trim())), `the counted operations end in a commit: ${counted.join(' | ')}`).toBe(true);
        expect(await scenario.state(checker)).toBe(scenario.expected(landed));

        const seen = { errors: 0, landedDespiteFault: 0 };
        for (const mode of ['once', 'from'] as const) {
          for (let at = 1; at <= count; at++) {
            const plan: FaultPlan = { at, mode, error: (operation) => injectedError(layer, dialect, operation, `injected fault ${faults.failed.length}`) };
            faults.start(plan);
            const statement = ++k;
            const error = await scenario.run(writer, statement).then(
              () => undefined,
              (e: unknown) => e,
            );
            faults.stop();
            const failed = [...faults.failed];
            const context = `${dialect} ${layer} fault ${mode} at operation ${at}/${count} (${failed[0] ?? `none; counted: ${counted[at - 1]}`}), statement ${statement}: ${String(error)}`;
            // The commit did the same operations as the counted one, so the planned one failed.
            expect(failed.map(shape)[0], context).toBe(shape(counted[at - 1]!));

            const state = await scenario.state(checker);
            if (error === undefined) {
              // A failure the commit could survive (none expected): then it must have landed, whole.
              seen.landedDespiteFault += 1;
              landed.push(statement);
              expect(state, context).toBe(scenario.expected(landed));
            } else {
              seen.errors += 1;
              // An error means nothing landed: neither table moved, nothing acknowledged is missing.
              expect(state, context).toBe(scenario.expected(landed));
              expect(isRatError(error), context).toBe(true);
              const message = (error as Error).message;
              // The first failure is the one reported, not a later one of the clean-up.
              expect(message, context).toContain('(injected fault 1)');
              if (layer === 'store') {
                expect((error as ExternalError).code, context).toBe('STORAGE_ERROR');
                const [method, key] = failed[0]!.split(' ');
                expect(message, context).toContain(`${method} of "${key ?? ''}"`);
              } else {
                expect((error as ExternalError).code, context).toBe('METADATA_DB_ERROR');
                const verb = /^\w+/.exec(failed[0]!)![0].toLowerCase();
                expect(message, context).toMatch(new RegExp(`^metadata DB .*: ${verb}\\b.* failed: ${dialect === 'sqlite' ? 'disk I/O error' : 'Connection terminated unexpectedly'}`));
                // A failed COMMIT cannot tell whether it landed, so it must not advise a blind retry.
                if (verb === 'commit' || /^select rat_commit\(/.test(failed[0]!)) expect(message, context).toMatch(/may or may not have landed: check with rat log/);
              }
            }

            if (mode === 'from' && layer === 'db') {
              // The DB stayed down until the end of the statement (its ROLLBACK failed too): the process
              // gives up, and a new writer carries on.
              await writer.close();
              writer = await openWriter();
            }
            if (error !== undefined && mode === 'once') {
              // The fault is gone: the same writer commits the same statement.
              await scenario.run(writer, statement);
              landed.push(statement);
              expect(await scenario.state(checker), `${context}, run again`).toBe(scenario.expected(landed));
            } else if (error !== undefined) {
              // The next writer's commit lands on top of whatever the failed one left behind (and
              // brings its caches back to the state the operations were counted in).
              await commit();
              expect(await scenario.state(checker), `${context}, next statement`).toBe(scenario.expected(landed));
            }
          }
        }
        expect(seen.errors + seen.landedDespiteFault).toBe(2 * count);

        // Every file each table references, down to the data files, exists and parses.
        for (const table of scenario.tables) await auditTable(checker, table);
      }, 120_000);
    });
  });
}
