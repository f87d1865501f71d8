import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogEnv } from '../catalog/test-support/test-catalog.js';
import { bin, rat } from './test-support/cli-runner.js';

// How results leave the CLI (pipes, files, terminals; JSON, tables, CSV). Nothing here depends on the
// metadata DB, so vitest.config.ts runs this file in the sqlite project only.
describe('rat CLI output', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'rat-cli-out-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('aligns table columns by display width: East Asian wide characters take 2 columns, combining marks none', async () => {
    const run = await rat(home, ['sql', "SELECT '日本語データ' AS a, 1 AS b UNION ALL SELECT 'abc', 2 UNION ALL SELECT 'cafe\u0301', 3 ORDER BY b"]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(
      ['a            | b', '-------------+--', '日本語データ | 1', 'abc          | 2', 'cafe\u0301         | 3', '(3 rows)', ''].join('\n'),
    );
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

  it('writes a table of many rows into a pipe without a warning, read whole or closed after its first line', async () => {
    // A statement's rows before the last are printed as a table; 20,000 of them fill a pipe.
    const query = 'SELECT range AS n FROM range(20000); SELECT 1 AS one';
    const whole = await rat(home, ['sql', query]);
    expect([whole.code, whole.stderr, whole.lines]).toEqual([0, '', 20_000 + 3 + 4]);
    // rat sql ... | head -1: the reader takes the first chunk and closes the pipe.
    const closed = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [bin, '--home', home, 'sql', query], { env: { ...process.env, ...catalogEnv(home) } });
      let stderr = '';
      child.stdout.once('data', () => child.stdout.destroy());
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => done({ code, stderr }));
    });
    expect(closed).toEqual({ code: 0, stderr: '' });
  });

  it('keeps statement order and valid JSON when stdout is a file', async () => {
    const file = join(home, 'out.json');
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

  it('writes the same valid JSON into a pipe as into a file: NaN and infinities as strings, large integers and decimals as their digits', async () => {
    // Through a pipe DuckDB's COPY writes the rows; into a file, rat's JSON does.
    const query = `SELECT 'nan'::DOUBLE AS a, '-inf'::FLOAT AS b, 'inf'::DOUBLE AS c, 0.5 AS d, NULL::DOUBLE AS e, 9007199254740993::BIGINT AS big, 7::BIGINT AS small, 1.50::DECIMAL(5,2) AS dec, [1.5, 'nan'::DOUBLE] AS l, MAP {'k': 1} AS m`;
    const piped = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn('sh', ['-c', `"${process.execPath}" "${bin}" --home "${home}" --json sql "${query}" | cat`], { env: { ...process.env, ...catalogEnv(home) } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
    expect([piped.code, piped.stderr]).toEqual([0, '']);
    const file = join(home, 'values.json');
    const fd = openSync(file, 'w');
    const code = await new Promise<number | null>((done) => {
      const child = spawn(process.execPath, [bin, '--home', home, '--json', 'sql', query], { stdio: ['ignore', fd, 'pipe'], env: { ...process.env, ...catalogEnv(home) } });
      child.on('close', done);
    });
    closeSync(fd);
    expect(code).toBe(0);
    const expected = [{ a: 'NaN', b: '-Infinity', c: 'Infinity', d: '0.5', e: null, big: '9007199254740993', small: 7, dec: '1.50', l: [1.5, 'NaN'], m: [{ key: 'k', value: 1 }] }];
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(expected);
    expect(JSON.parse(piped.stdout)).toEqual(expected);
  });

  it('prints CSV with --csv', async () => {
    const run = await rat(home, ['sql', '--csv', "SELECT 1 AS n, 'a,b' AS s UNION ALL SELECT 2, NULL ORDER BY n"]);
    expect(run.stdout).toBe('n,s\n1,"a,b"\n2,\n');
  });

});
