import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogEnv } from '../catalog/test-support/test-catalog.js';

const bin = resolve(import.meta.dirname, '../../bin/rat.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: number;
}

/** Runs the built CLI; stdout is counted line by line and only its head is kept, so huge outputs stay cheap here. */
function rat(home: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, '--home', home, ...args], { env: { ...process.env, ...catalogEnv(home), ...env } });
    let stdout = '';
    let stderr = '';
    let lines = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) lines++;
      if (stdout.length < 100_000) stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr, lines }));
  });
}

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
    expect(tables).toContainEqual(expect.objectContaining({ namespace: 'bronze', table: 'cli', records: '2' }));
  });

  // The whole result would need far more than 64 MB of JS heap: these can only pass if rows stream through.
  it('streams a 10M-row JSON result through a pipe with a 64 MB heap', async () => {
    // A shell pipe, as a user would type it: rat --json sql ... | awk
    const query = "SELECT range AS id, 'row ' || range AS label FROM range(10000000)";
    const script = `"${process.execPath}" "${bin}" --home "${home}" --json sql "${query}" | awk 'NR<=3 { print } END { print NR }'`;
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn('sh', ['-c', script], { env: { ...process.env, ...catalogEnv(home), NODE_OPTIONS: '--max-old-space-size=64' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(Number(lines.at(-1))).toBe(10_000_000 + 2);
    expect(JSON.parse(`${lines.slice(0, 3).join('\n').replace(/,$/, '')}]`)).toEqual([
      { id: 0, label: 'row 0' },
      { id: 1, label: 'row 1' },
    ]);
  }, 240_000);

  it('streams a 2M-row table for people with a 64 MB heap', async () => {
    const run = await rat(home, ['sql', "SELECT range AS id, 'row ' || range AS label FROM range(2000000)"], {
      NODE_OPTIONS: '--max-old-space-size=64',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.lines).toBe(2_000_000 + 3);
  }, 240_000);

  it('keeps statement order and valid JSON when stdout is a file', async () => {
    const file = join(home, 'out.json');
    const { openSync, closeSync, readFileSync } = await import('node:fs');
    const fd = openSync(file, 'w');
    const code = await new Promise<number | null>((done) => {
      const child = spawn(process.execPath, [bin, '--home', home, '--json', 'sql', 'SELECT 1 AS a; SELECT range AS r FROM range(3)'], { stdio: ['ignore', fd, 'pipe'], env: { ...process.env, ...catalogEnv(home) } });
      child.on('close', done);
    });
    closeSync(fd);
    expect(code).toBe(0);
    const text = readFileSync(file, 'utf8');
    const [first, second] = text.split(/\n(?=\[)/);
    expect(JSON.parse(first!)).toEqual([{ a: 1 }]);
    expect(JSON.parse(second!)).toEqual([{ r: 0 }, { r: 1 }, { r: 2 }]);
  });

  it('prints CSV with --csv', async () => {
    const run = await rat(home, ['sql', '--csv', "SELECT 1 AS n, 'a,b' AS s UNION ALL SELECT 2, NULL ORDER BY n"]);
    expect(run.stdout).toBe('n,s\n1,"a,b"\n2,\n');
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
    expect((await run('branch', 'delete', 'dev')).code).toBe(0);
    expect((await run('tag', 'delete', 'v1')).code).toBe(0);
  }, 120_000);
});
