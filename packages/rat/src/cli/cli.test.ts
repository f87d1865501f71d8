import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_TABLES } from '../ingest/test-support/ingest-fixture.js';
import { rat } from './test-support/cli-runner.js';

describe('rat CLI', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'rat-cli-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('prints help and exits 0', async () => {
    const run = await rat(home, ['--help']);
    expect(run.code).toBe(0);
    for (const verb of ['sql', 'tables', 'table', 'snapshots', 'rollback']) expect(run.stdout).toContain(verb);
  });

  it('exits 2 on a usage error and 1 on a failed statement, with one line on stderr', async () => {
    expect((await rat(home, ['nonsense'])).code).toBe(2);
    const failed = await rat(home, ['sql', 'SELECT * FROM bronze.missing']);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr).toContain('bronze.missing');
  });

  it('with --json, gives a usage error as the JSON error object on stderr, exit 2, wherever --json stands', async () => {
    for (const args of [['--json', 'ingest', '--bogus', 'a.csv', 'bronze.t'], ['ingest', '--bogus', 'a.csv', 'bronze.t', '--json'], ['--json', 'nonsense'], ['--json']]) {
      const run = await rat(home, args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(JSON.parse(run.stderr), args.join(' ')).toEqual({ error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^(unknown option '--bogus'|unknown command 'nonsense'|no command given) \(run rat --help for usage\)$/) } });
    }
    // Without it, commander's text as before.
    expect((await rat(home, ['ingest', '--bogus', 'a.csv', 'bronze.t'])).stderr).toBe("error: unknown option '--bogus'\n(run rat --help for usage)\n");
  });

  it('prints tables for people and JSON for scripts', async () => {
    expect((await rat(home, ['sql', 'CREATE TABLE bronze.cli (id BIGINT, name VARCHAR)'])).code).toBe(0);
    expect((await rat(home, ['sql', "INSERT INTO bronze.cli VALUES (1, 'one'), (2, 'two')"])).stdout).toMatch(/^INSERT 0 2 \(snapshot \d+\)/);
    const table = await rat(home, ['sql', 'SELECT * FROM bronze.cli ORDER BY id']);
    expect(table.stdout.split('\n').slice(0, 4)).toEqual(['id | name', '---+-----', '1  | one', '2  | two']);
    const json = await rat(home, ['--json', 'sql', 'SELECT * FROM bronze.cli ORDER BY id']);
    expect(JSON.parse(json.stdout)).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ]);
    const tables = JSON.parse((await rat(home, ['--json', 'tables'])).stdout) as Record<string, unknown>[];
    // Counts are numbers, as 64-bit integers are everywhere in --json (Iceberg's summary keeps them as text).
    expect(tables).toContainEqual(expect.objectContaining({ namespace: 'bronze', table: 'cli', records: 2, snapshots: 1 }));
    const snapshots = JSON.parse((await rat(home, ['--json', 'snapshots', 'bronze.cli'])).stdout) as Record<string, unknown>[];
    expect(snapshots).toEqual([expect.objectContaining({ seq: 1, operation: 'append', added_records: 2, total_records: 2, current: true })]);
  });

  it('counts the rows of a table with delete files in tables and table show, not its data files\' records', async () => {
    const metadata = join(REFERENCE_TABLES, 'equality_deletes/warehouse/mydb/mytable/metadata/v7.metadata.json');
    expect((await rat(home, ['table', 'register', 'bronze.spark_deletes', metadata, '--map-path', `data/persistent/=${REFERENCE_TABLES}`])).code).toBe(0);
    // Spark's summary says total-records 6: its four equality delete files hide four of them.
    const tables = JSON.parse((await rat(home, ['--json', 'tables'])).stdout) as Record<string, unknown>[];
    expect(tables).toContainEqual(expect.objectContaining({ table: 'spark_deletes', records: 2 }));
    expect((await rat(home, ['table', 'show', 'bronze.spark_deletes'])).stdout).toContain('data files:       2  delete files: 4  records: 2 (6 in data files, before delete files)\n');
    expect(JSON.parse((await rat(home, ['--json', 'table', 'show', 'bronze.spark_deletes'])).stdout)).toMatchObject({ recordCount: 6, rowCount: 2 });
  });

  it("diffs the rows of a table with delete files, not its data files' records", async () => {
    const env = { RAT_GIT_SYNC: '0' };
    const metadata = join(REFERENCE_TABLES, 'equality_deletes/warehouse/mydb/mytable/metadata/v7.metadata.json');
    expect((await rat(home, ['branch', 'create', 'spark'], env)).code).toBe(0);
    expect((await rat(home, ['--branch', 'spark', 'table', 'register', 'bronze.spark_diff', metadata, '--map-path', `data/persistent/=${REFERENCE_TABLES}`], env)).code).toBe(0);
    // Spark's summary says total-records 6: its four equality delete files hide four of them.
    const diff = (await rat(home, ['diff', 'main', 'spark'], env)).stdout;
    expect(diff.split('\n')[2]).toBe('bronze.spark_diff | added  | 0 -> 6    | 0 -> 2 | +2');
    const json = JSON.parse((await rat(home, ['--json', 'diff', 'main', 'spark'], env)).stdout) as Record<string, unknown>[];
    expect(json.find((d) => d.table === 'bronze.spark_diff')).toMatchObject({ fromRows: 0, toRows: 2, fromRecords: 0, toRecords: 6, toDeletes: true });
    expect((await rat(home, ['branch', 'delete', 'spark'], env)).code).toBe(0);
  });

  it('branches, runs on dev, diffs, logs and merges; refuses bad input with exit 1 and one line', async () => {
    const env = { RAT_GIT_SYNC: '0' };
    const run = (...args: string[]) => rat(home, args, env);
    expect((await run('sql', 'CREATE TABLE bronze.br (id BIGINT); INSERT INTO bronze.br VALUES (1)')).code).toBe(0);
    expect((await run('branch', 'create', 'dev')).stdout).toMatch(/^created branch dev from main at commit [0-9a-f]{16}\n$/);
    // --branch after the verb is the global option too.
    expect((await run('sql', '--branch', 'dev', 'INSERT INTO bronze.br VALUES (2), (3)')).code).toBe(0);
    expect((await run('--json', 'sql', 'SELECT count(*)::INTEGER AS n FROM bronze.br')).stdout).toContain('"n":1');
    expect((await run('--json', '--branch', 'dev', 'sql', 'SELECT count(*)::INTEGER AS n FROM bronze.br')).stdout).toContain('"n":3');

    const diff = await run('diff', 'main', 'dev');
    expect(diff.stdout.split('\n').slice(0, 3)).toEqual([
      'table     | change  | snapshots | rows   | row_delta',
      '----------+---------+-----------+--------+----------',
      'bronze.br | changed | 1 -> 2    | 1 -> 3 | +2',
    ]);
    const log = JSON.parse((await run('--json', 'log', '--branch', 'dev', '-n', '2')).stdout) as { message: string; changes: { table: string }[] }[];
    expect(log.map((c) => [c.message, c.changes.map((ch) => ch.table)])).toEqual([
      ['update bronze.br', ['bronze.br']],
      ['update bronze.br', ['bronze.br']],
    ]);
    expect((await run('log')).stdout).toMatch(/\| init +\|/);

    expect((await run('branch', 'merge', 'dev', '--dry-run')).stdout).toBe('would merge dev into main: fast-forward, 1 table(s): bronze.br (dry run: nothing changed)\n');
    expect((await run('--json', 'sql', 'SELECT count(*)::INTEGER AS n FROM bronze.br')).stdout).toContain('"n":1');
    expect((await run('branch', 'merge', 'dev', '--into', 'main')).stdout).toMatch(/^merged dev into main: fast-forward, 1 table\(s\): bronze.br \(head [0-9a-f]{16}\)\n$/);
    expect((await run('--json', 'sql', 'SELECT count(*)::INTEGER AS n FROM bronze.br')).stdout).toContain('"n":3');

    expect((await run('tag', 'create', 'v1')).code).toBe(0);
    expect((await run('tag', 'list')).stdout).toContain('v1');
    expect(JSON.parse((await run('--json', 'branch', 'list')).stdout)).toEqual([
      expect.objectContaining({ branch: 'dev', current: false }),
      expect.objectContaining({ branch: 'main', current: true }),
    ]);

    // A conflict: the same table changed on both sides.
    expect((await run('--branch', 'dev', 'sql', 'INSERT INTO bronze.br VALUES (4)')).code).toBe(0);
    expect((await run('sql', 'INSERT INTO bronze.br VALUES (5)')).code).toBe(0);
    const bad: [string[], string][] = [
      [['branch', 'merge', 'dev'], 'MERGE_CONFLICT: cannot merge dev into main: table bronze.br changed on both branches'],
      [['branch', 'merge', 'dev', '--into', 'dev'], 'into itself'],
      [['branch', 'merge', 'dev', '--strategy', 'theirs'], 'merge strategy "theirs" is not one of fail, source-wins, dest-wins'],
      [['branch', 'merge', 'dev', '--into', 'v1'], 'REF_NOT_A_BRANCH'],
      [['branch', 'delete', 'main'], 'cannot delete branch main'],
      [['branch', 'create', 'no..dots'], 'REF_INVALID'],
      [['--branch', 'v1', 'sql', 'INSERT INTO bronze.br VALUES (6)'], 'tags are immutable'],
      [['--branch', 'nope', 'sql', 'SELECT 1'], 'CATALOG_REF_NOT_FOUND'],
    ];
    for (const [args, message] of bad) {
      const failed = await run(...args);
      expect(failed.code, args.join(' ')).toBe(1);
      expect(failed.stderr.trim().split('\n')).toHaveLength(1);
      expect(failed.stderr).toContain(message);
    }
    expect((await run('--json', 'sql', 'SELECT count(*)::INTEGER AS n FROM bronze.br')).stdout).toContain('"n":4');
    expect((await run('--json', '--branch', 'v1', 'sql', 'SELECT count(*)::INTEGER AS n FROM bronze.br')).stdout).toContain('"n":3');
    // The conflict settled by a strategy: dev's version of the table taken.
    expect((await run('branch', 'merge', 'dev', '--strategy', 'source-wins')).stdout).toMatch(
      /^merged dev into main: merge, 1 table\(s\): bronze.br; changed on both sides, dev's version taken: bronze.br \(head [0-9a-f]{16}\)\n$/,
    );
    expect((await run('--json', 'sql', 'SELECT list(id ORDER BY id) AS xs FROM bronze.br')).stdout).toContain('[1,2,3,4]');
    expect((await run('branch', 'delete', 'dev')).code).toBe(0);
    expect((await run('tag', 'delete', 'v1')).code).toBe(0);
  }, 120_000);
});
