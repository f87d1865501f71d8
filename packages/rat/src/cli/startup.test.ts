import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogEnv } from '../catalog/test-support/test-catalog.js';
import { VEGA } from '../ingest/test-support/ingest-fixture.js';
import { bin } from './test-support/cli-runner.js';

const run = promisify(execFile);
let dir: string;
let hook: string;
let esmLog: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rat-startup-'));
  hook = join(dir, 'loaded.cjs');
  // ES modules are not in require.cache: a resolve hook notes the Arrow library's and the AWS SDK's files in a log instead.
  esmLog = join(dir, 'esm.log');
  await writeFile(join(dir, 'esm-hooks.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) { const r = await next(specifier, context); const m = /node_modules\\/(apache-arrow|@aws-sdk)\\//.exec(r.url); if (m) appendFileSync(${JSON.stringify(esmLog)}, m[1] + '\\n'); return r; }\n`);
  await writeFile(join(dir, 'esm-register.mjs'), `import { register } from 'node:module';\nregister('./esm-hooks.mjs', import.meta.url);\n`);
  // Prints, as the process exits, which of the optional CommonJS packages Node loaded.
  await writeFile(hook, `process.on('exit', () => { const seen = new Set(); for (const path of Object.keys(require.cache)) { const m = /node_modules\\/(pg|mysql2|yaml)\\//.exec(path); if (m) seen.add(m[1]); } process.stderr.write('LOADED ' + JSON.stringify([...seen].sort()) + '\\n'); });\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loaded(args: string[]): Promise<string[]> {
  const home = join(dir, 'home');
  await rm(esmLog, { force: true });
  const { stderr } = await run(process.execPath, ['--require', hook, '--import', join(dir, 'esm-register.mjs'), bin, '--home', home, ...args], { env: { ...process.env, ...catalogEnv(home) } });
  const esm = new Set((await readFile(esmLog, 'utf8').catch(() => '')).split('\n').filter(Boolean));
  return [...(JSON.parse(/LOADED (.*)/.exec(stderr)![1]!) as string[]), ...esm].sort();
}

describe('rat start', () => {
  it('loads the PostgreSQL and MySQL drivers, the YAML parser, the Arrow library and the AWS SDK only for the commands that use them', async () => {
    expect(await loaded(['--help'])).toEqual([]);
    const sql = await loaded(['sql', 'SELECT 1']);
    // The catalog itself may live in PostgreSQL (the postgres test project): then pg, and only pg.
    const catalog = process.env.RAT_TEST_DIALECT === 'postgres' ? ['pg'] : [];
    expect(sql).toEqual(catalog);
    const csv = join(dir, 'rows.csv');
    await writeFile(csv, 'id\n1\n');
    expect(await loaded(['ingest', csv, 'bronze.rows_csv'])).toEqual(catalog);
    expect(await loaded(['ingest', join(VEGA, 'flights-200k.arrow'), 'bronze.rows_arrow'])).toEqual([...catalog, 'apache-arrow'].sort());
  });

  it('prints its version with --version and -V', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-V']) expect((await run(process.execPath, [bin, flag])).stdout).toBe(`${version}\n`);
  });
});
