import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogEnv } from '../catalog/test-support/test-catalog.js';
import { bin } from './test-support/cli-runner.js';

const run = promisify(execFile);
let dir: string;
let hook: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rat-startup-'));
  hook = join(dir, 'loaded.cjs');
  // Prints, as the process exits, which of the optional packages Node loaded.
  await writeFile(hook, `process.on('exit', () => { const seen = new Set(); for (const path of Object.keys(require.cache)) { const m = /node_modules\\/(pg|mysql2|yaml)\\//.exec(path); if (m) seen.add(m[1]); } process.stderr.write('LOADED ' + JSON.stringify([...seen].sort()) + '\\n'); });\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loaded(args: string[]): Promise<string[]> {
  const home = join(dir, 'home');
  const { stderr } = await run(process.execPath, ['--require', hook, bin, '--home', home, ...args], { env: { ...process.env, ...catalogEnv(home) } });
  return JSON.parse(/LOADED (.*)/.exec(stderr)![1]!) as string[];
}

describe('rat start', () => {
  it('loads the PostgreSQL and MySQL drivers and the YAML parser only for the commands that use them', async () => {
    expect(await loaded(['--help'])).toEqual([]);
    const sql = await loaded(['sql', 'SELECT 1']);
    // The catalog itself may live in PostgreSQL (the postgres test project): then pg, and only pg.
    expect(sql).toEqual(process.env.RAT_TEST_DIALECT === 'postgres' ? ['pg'] : []);
  });
});
