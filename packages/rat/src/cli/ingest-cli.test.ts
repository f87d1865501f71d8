import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notIsoDate } from './commands/ingest.js';
import { bytes, progressText } from './progress-reporter.js';
import { catalogEnv } from '../catalog/test-support/test-catalog.js';
import { bin, rat } from './test-support/cli-runner.js';

describe('rat upload / landing / ingest', () => {
  let dir: string;
  let home: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rat-ingest-cli-'));
    home = join(dir, 'home');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads to landing, ingests once with --skip-existing, quarantines bad rows, and fails bad files with exit code 1', async () => {
    await writeFile(join(dir, 'orders.csv'), 'id,Order Date,amount\n1,2026-01-01,5\n2,2026-01-02,x\n3,2026-01-03,7\n');
    await writeFile(join(dir, 'empty.csv'), '');
    expect((await rat(home, ['upload', join(dir, 'orders.csv'), 'landing/orders/'])).code).toBe(0);
    // A landing file is kept as received: replacing it takes --overwrite.
    const replacing = await rat(home, ['upload', join(dir, 'empty.csv'), 'landing/orders/orders.csv']);
    expect([replacing.code, replacing.stderr.trim()]).toEqual([1, 'rat: INVALID_ARGUMENT: the landing zone holds a file under the key landing/orders/orders.csv already; nothing was uploaded: to replace it, pass --overwrite (SDK: overwrite: true), or upload under another name']);
    expect((await rat(home, ['upload', '--overwrite', join(dir, 'orders.csv'), 'landing/orders/'])).code).toBe(0);
    const listing = JSON.parse((await rat(home, ['--json', 'landing'])).stdout) as { key: string }[];
    expect(listing.map((e) => e.key)).toEqual(['landing/orders/orders.csv']);
    const first = await rat(home, ['--json', 'ingest', 'landing/orders/', 'bronze.orders', '--skip-existing', '--type', 'amount=BIGINT']);
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as { files: { status: string; rowsIngested: number; rowsRejected: number }[] };
    expect(report.files).toMatchObject([{ status: 'success', rowsIngested: 2, rowsRejected: 1 }]);
    const again = await rat(home, ['ingest', 'landing/orders/', 'bronze.orders', '--skip-existing']);
    expect(again.stdout).toContain('already ingested (same content)');
    const registry = JSON.parse((await rat(home, ['--json', 'sql', 'SELECT status, rows_rejected FROM bronze._file_registry ORDER BY ingested_at'])).stdout);
    expect(registry).toEqual([{ status: 'success', rows_rejected: 1 }, { status: 'skipped', rows_rejected: 0 }]);
    const rejects = JSON.parse((await rat(home, ['--json', 'sql', 'SELECT line, raw FROM bronze.orders__rejects'])).stdout);
    expect(rejects).toEqual([{ line: 3, raw: '2,2026-01-02,x' }]);
    const failed = await rat(home, ['ingest', join(dir, 'empty.csv'), 'bronze.orders']);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr).toContain(`${join(dir, 'empty.csv')}: the file is empty (0 bytes)`);
  });

  it('loads a row quarantined for a stray Latin-1 byte with the replay it advises, without loading the file twice', async () => {
    await writeFile(join(dir, 'mixed.csv'), Buffer.concat([Buffer.from('id,name\n1,café\n2,na'), Buffer.from([0xef]), Buffer.from('ve\n3,ok\n')]));
    const first = await rat(home, ['ingest', join(dir, 'mixed.csv'), 'bronze.mixed']);
    expect(first.stdout).toContain('if they are Latin-1, load those rows (only them) with: rat ingest --replay-rejects bronze.mixed --encoding latin-1');
    const plain = await rat(home, ['ingest', '--replay-rejects', 'bronze.mixed']);
    expect(plain.stdout).toContain('1 of them have bytes that are not UTF-8 (kept in their raw text as Latin-1 characters) and were not replayed: if they are Latin-1, load them with: rat ingest --replay-rejects bronze.mixed --encoding latin-1');
    expect(plain.stdout).not.toContain('ingest their file again');
    const latin1 = await rat(home, ['ingest', '--replay-rejects', 'bronze.mixed', '--encoding', 'latin-1']);
    expect([latin1.code, latin1.stdout.trim().split('\n').at(-1)]).toEqual([0, 'bronze.mixed: 1 quarantined row replayed into the table, 0 still quarantined']);
    expect(JSON.parse((await rat(home, ['--json', 'sql', 'SELECT id, name FROM bronze.mixed ORDER BY id'])).stdout)).toEqual([
      { id: 1, name: 'café' },
      { id: 2, name: 'naïve' },
      { id: 3, name: 'ok' },
    ]);
    expect(JSON.parse((await rat(home, ['--json', 'sql', 'SELECT count(*)::INT AS n FROM bronze.mixed__rejects'])).stdout)).toEqual([{ n: 0 }]);
  });

  it('prints the error of each failed file of a batch on a line of its own, leaves the file name out of the note, and exits 3 when other files loaded', async () => {
    const folder = join(dir, 'several-bad');
    await mkdir(folder);
    await writeFile(join(folder, 'empty.csv'), '');
    await writeFile(join(folder, 'headeronly.csv'), 'id,name\n');
    await writeFile(join(folder, 'good.csv'), 'id,name\n1,a\n');
    const run = await rat(home, ['ingest', folder, 'bronze.several']);
    // good.csv loaded: a partial failure exits 3, where a batch that loaded nothing exits 1 (every file failed: see empty.csv above).
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toEqual([
      `rat: INGEST_FILE_INVALID: ${join(folder, 'empty.csv')}: the file is empty (0 bytes)`,
      `rat: INGEST_FILE_INVALID: ${join(folder, 'headeronly.csv')} (line 2): the file has a header line but no data rows`,
      'rat: INGEST_FILE_INVALID: 2 of 3 files failed (recorded in bronze._file_registry; the table is unchanged by them); their errors are above',
    ]);
    const note = run.stdout.split('\n').find((line) => line.includes('headeronly.csv'))!;
    expect(note).toMatch(/\| \(line 2\): the file has a header line but no data rows$/);
    expect(run.stdout).toContain('bronze.several: 1 row from 1 file; 0 skipped, 2 failed');
    const json = await rat(home, ['--json', 'ingest', folder, 'bronze.several']);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'INGEST_FILE_INVALID', message: "2 of 3 files failed (recorded in bronze._file_registry; the table is unchanged by them); the report's files[].error says why" } });
  });

  it('says the table was left out when the last argument names a file or a path, and takes a table named like a file that is not here', async () => {
    const folder = join(dir, 'no-table');
    await mkdir(folder);
    await writeFile(join(folder, 'a.csv'), 'id\n1\n');
    await writeFile(join(folder, 'b.csv'), 'id\n2\n');
    // Read as a table, b.csv would be a table csv of a namespace b (and a.csv loaded into it).
    const forgot = await rat(home, ['ingest', 'a.csv', 'b.csv'], {}, folder);
    expect([forgot.code, forgot.stderr.trim()]).toEqual([2, 'rat: INVALID_ARGUMENT: the last argument is the target table, but "b.csv" names a file or folder, not a table: give the table last, e.g. rat ingest a.csv b.csv bronze.orders']);
    const path = await rat(home, ['ingest', 'a.csv', 'exports/sales-feb'], {}, folder);
    expect(path.stderr).toContain('"exports/sales-feb" names a file or folder, not a table');
    expect((await rat(home, ['ingest', 'a.csv', 'bronze.csv'], {}, folder)).code).toBe(0);
  });

  it('exits 2 for a command line used wrongly: a missing table (naming the list option that took it), contradicting options or values, options a replay does not use', async () => {
    const folder = join(dir, 'usage');
    await mkdir(folder);
    await writeFile(join(folder, 'a.csv'), 'id\n1\n');
    // A parser module that says when it is loaded: a replay never uses a parser, so must not run its code.
    await writeFile(join(folder, 'parser.mjs'), `import { writeFileSync } from 'node:fs';\nwriteFileSync('loaded', '');\nexport default () => [];\n`);
    const cases: [string[], string][] = [
      [['ingest', '--key', 'id', 'a.csv', 'bronze.usage'], 'rat: INVALID_ARGUMENT: usage: rat ingest <source...> <namespace.table>, e.g. rat ingest data/orders.csv bronze.orders (--key took "id" "a.csv" "bronze.usage": an option that takes a list takes every value up to the next option; give it after the table)'],
      [['upload', 'a.csv'], 'rat: INVALID_ARGUMENT: usage: rat upload <file...> landing/<folder>/'],
      [['ingest', 'a.csv', 'bronze.usage', '--type', 'id=BIGINT', '--type', 'id=VARCHAR'], 'rat: INVALID_ARGUMENT: --type names "id" twice, as id=BIGINT and id=VARCHAR: give it once'],
      [['ingest', 'a.csv', 'bronze.usage', '--header', '--no-header'], 'rat: INVALID_ARGUMENT: --header and --no-header contradict each other: give one (--no-header when the first line is data)'],
      [['ingest', '--replay-rejects', 'bronze.usage', '--skip-existing'], "error: option '--replay-rejects <table>' cannot be used with option '--skip-existing'\n(run rat --help for usage)"],
      [['ingest', '--replay-rejects', 'bronze.usage', '--parser', './parser.mjs'], "error: option '--replay-rejects <table>' cannot be used with option '--parser <module>'\n(run rat --help for usage)"],
    ];
    const runs = await Promise.all(cases.map(([args]) => rat(home, args, {}, folder)));
    runs.forEach((run, i) => expect([run.code, run.stderr.trim()], cases[i]![0].join(' ')).toEqual([2, cases[i]![1]]));
    expect(await readdir(folder)).not.toContain('loaded');
  });

  it('exits with its own code when the reader of stdout goes away, and finishes the ingest when the reader of stderr does', async () => {
    const folder = join(dir, 'closed-pipes');
    await mkdir(folder);
    await writeFile(join(folder, 'empty.csv'), '');
    await writeFile(join(folder, 'x.txt'), 'x\n');
    // A parser that writes to stderr while the ingest runs, as progress lines do: into a closed pipe.
    await writeFile(join(folder, 'noisy.mjs'), `export default function* () { process.stderr.write('working\\n'.repeat(10000)); yield { id: 1 }; }\n`);
    const closed = (args: string[], stream: 'stdout' | 'stderr') =>
      new Promise<number | null>((done) => {
        const child = spawn(process.execPath, [bin, '--home', home, ...args], { cwd: folder, env: { ...process.env, RAT_GIT_SYNC: '0', ...catalogEnv(home) } });
        // The reader is gone before anything is written (rat ingest ... | head -0).
        child[stream].destroy();
        child[stream === 'stdout' ? 'stderr' : 'stdout'].resume();
        child.on('close', done);
      });
    const [failed, noisy] = await Promise.all([closed(['ingest', 'empty.csv', 'bronze.closed_out'], 'stdout'), closed(['ingest', 'x.txt', 'bronze.closed_err', '--parser', './noisy.mjs'], 'stderr')]);
    // The failed file's exit code, not the 0 a closed stdout made it.
    expect(failed).toBe(1);
    // The write error on stderr no longer ends the ingest half way.
    expect(noisy).toBe(0);
    expect(JSON.parse((await rat(home, ['--json', 'sql', 'SELECT id FROM bronze.closed_err'])).stdout)).toEqual([{ id: 1 }]);
  });

  it('says so when the sources match no file, exiting 0 (an empty batch is no error)', async () => {
    const folder = join(dir, 'no-json');
    await mkdir(folder);
    await writeFile(join(folder, 'a.csv'), 'id\n1\n');
    const run = await rat(home, ['ingest', join(folder, '*.json'), 'bronze.nothing']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`nothing to ingest: ${join(folder, '*.json')} matched no files (check the folder and the pattern, e.g. the extension)`);
    expect(run.stdout).toContain('bronze.nothing: 0 rows from 0 files; 0 skipped, 0 failed');
  });

  it('names the option and a format for dates the sniffer did not find, and that replay loads them', async () => {
    await writeFile(join(dir, 'days.csv'), 'id,day\n1,05/02/2024 00:00\n2,06/02/2024 00:00\n');
    expect((await rat(home, ['sql', 'CREATE TABLE bronze.days (id BIGINT, day DATE)'])).code).toBe(0);
    const first = await rat(home, ['ingest', join(dir, 'days.csv'), 'bronze.days']);
    expect(first.stdout).toContain("dates not written YYYY-MM-DD (05/02/2024 00:00) need their format, e.g.: rat ingest --replay-rejects bronze.days --timestamp-format '%d/%m/%Y %H:%M'");
    expect((await rat(home, ['ingest', '--replay-rejects', 'bronze.days', '--timestamp-format', '%d/%m/%Y %H:%M'])).code).toBe(0);
    expect(JSON.parse((await rat(home, ['--json', 'sql', 'SELECT id, CAST(day AS VARCHAR) AS day FROM bronze.days ORDER BY id'])).stdout)).toEqual([
      { id: 1, day: '2024-02-05' },
      { id: 2, day: '2024-02-06' },
    ]);
    expect(notIsoDate('column d: cannot convert 2024/02/05 to DATE')).toMatchObject({ flag: 'date-format', format: '%Y/%m/%d' });
    expect(notIsoDate('column d: cannot convert 5.2.2024 10:30:00 to TIMESTAMP')).toMatchObject({ flag: 'timestamp-format', format: '%d.%m.%Y %H:%M:%S' });
    expect([notIsoDate('column d: cannot convert 2024-02-05 10:00:00 to DATE'), notIsoDate('column d: cannot convert soon to DATE'), notIsoDate('column n: cannot convert 1.5 to BIGINT')]).toEqual([undefined, undefined, undefined]);
  });

  it('suggests the date format that reads the rejected value, both orders when only the user can tell, and the first date of a reason naming several columns', async () => {
    expect(notIsoDate('column d: cannot convert 12/25/2024 to DATE')).toEqual({ value: '12/25/2024', flag: 'date-format', format: '%m/%d/%Y' });
    expect(notIsoDate('column d: cannot convert 25/12/2024 10:00 to TIMESTAMP')).toEqual({ value: '25/12/2024 10:00', flag: 'timestamp-format', format: '%d/%m/%Y %H:%M' });
    expect(notIsoDate('column d: cannot convert 05/02/24 to DATE')).toEqual({ value: '05/02/24', flag: 'date-format', format: '%d/%m/%y', other: '%m/%d/%y' });
    expect(notIsoDate('column d: cannot convert 01/02/2024 to DATE; column amt: cannot convert 1,234.50 to DECIMAL(12,2)')).toEqual({ value: '01/02/2024', flag: 'date-format', format: '%d/%m/%Y', other: '%m/%d/%Y' });
    await writeFile(join(dir, 'two.csv'), 'id,d,amt\n1,01/02/2024,"1,234.50"\n2,2024-03-01,1\n');
    const two = await rat(home, ['ingest', join(dir, 'two.csv'), 'bronze.two', '--type', 'd=DATE', '--type', 'amt=DECIMAL(12,2)']);
    expect(two.stdout).toContain("dates not written YYYY-MM-DD (01/02/2024) need their format, e.g.: rat ingest --replay-rejects bronze.two --date-format '%d/%m/%Y' (or '%m/%d/%Y' if the month comes first)");
  });

  it('refuses a date format that is not one before reading any file, and says when a given one was not applied to a column', async () => {
    await writeFile(join(dir, 'fmt.csv'), 'id,d\n1,12/25/2024\n2,25/12/2024\n');
    for (const [format, message] of [
      ['%Q', 'rat: INVALID_ARGUMENT: date format "%Q": unknown specifier %Q'],
      ['nonsense', 'rat: INVALID_ARGUMENT: date format "nonsense" reads no date'],
    ]) {
      const refused = await rat(home, ['ingest', join(dir, 'fmt.csv'), 'bronze.fmt', '--date-format', format!]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(message);
    }
    expect((await rat(home, ['ingest', join(dir, 'fmt.csv'), 'bronze.fmt', '--timestamp-format', '%H:%M'])).stderr).toContain('timestamp format "%H:%M" reads no date');
    // Refused before any file was read: no table.
    expect((await rat(home, ['sql', 'SELECT * FROM bronze.fmt'])).code).toBe(1);
    const applied = await rat(home, ['ingest', join(dir, 'fmt.csv'), 'bronze.fmt', '--date-format', '%m/%d/%Y']);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`hint: ${join(dir, 'fmt.csv')}: --date-format '%m/%d/%Y' was not applied to column d: its value 25/12/2024 does not read by it, so the column is loaded as text`);
  });

  it('takes a composite merge key as --key a,b, as the replay advice writes it', async () => {
    await writeFile(join(dir, 'ck1.csv'), 'a,b,v\n1,x,old\n1,y,old\n2,x,old\n');
    expect((await rat(home, ['ingest', join(dir, 'ck1.csv'), 'bronze.ck'])).code).toBe(0);
    await writeFile(join(dir, 'ck2.csv'), 'a,b,v\n1,y,new\n');
    const merged = await rat(home, ['ingest', join(dir, 'ck2.csv'), 'bronze.ck', '--mode', 'merge', '--key', 'a,b']);
    expect(merged.code, merged.stderr).toBe(0);
    expect(JSON.parse((await rat(home, ['--json', 'sql', 'SELECT a, b, v FROM bronze.ck ORDER BY a, b'])).stdout)).toEqual([
      { a: 1, b: 'x', v: 'old' },
      { a: 1, b: 'y', v: 'new' },
      { a: 2, b: 'x', v: 'old' },
    ]);
  });

  it('a merge replay leaves a row a later load superseded, and says how to force it', async () => {
    await writeFile(join(dir, 'mm1.csv'), 'id,day\n1,2024-01-01\n2,05/02/2024\n3,2024-01-03\n');
    await writeFile(join(dir, 'mm2.csv'), 'id,day\n2,2024-03-01\n');
    for (const file of ['mm1.csv', 'mm2.csv']) expect((await rat(home, ['ingest', join(dir, file), 'bronze.mm', '--mode', 'merge', '--key', 'id', '--type', 'day=DATE'])).code).toBe(0);
    const replay = await rat(home, ['ingest', '--replay-rejects', 'bronze.mm', '--date-format', '%d/%m/%Y']);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('1 of them came from a --mode merge ingest, and a later load (or their own, from another row of the file) has written their key: they were not merged over those rows');
    expect(JSON.parse((await rat(home, ['--json', 'sql', 'SELECT CAST(day AS VARCHAR) AS day FROM bronze.mm WHERE id = 2'])).stdout)).toEqual([{ day: '2024-03-01' }]);
  });

  it('a failed replay exits 1, names the source line, and leaves the landing file\'s status alone; a missing table exits 1', async () => {
    await writeFile(join(dir, 'q1.csv'), 'id,day\n1,2024-01-01\n2,2024-01-02\n3,2024-01-03\n4,x4\n5,x5\n');
    expect((await rat(home, ['upload', join(dir, 'q1.csv'), 'landing/q/'])).code).toBe(0);
    expect((await rat(home, ['ingest', 'landing/q/', 'bronze.q', '--type', 'day=DATE'])).code).toBe(0);
    const failed = await rat(home, ['ingest', '--replay-rejects', 'bronze.q', '--on-error', 'fail']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('landing/q/q1.csv (line 5)');
    const landing = JSON.parse((await rat(home, ['--json', 'landing', 'landing/q/'])).stdout) as { last_status: string }[];
    expect(landing).toMatchObject([{ last_status: 'success' }]);
    const missing = await rat(home, ['--json', 'ingest', '--replay-rejects', 'bronze.no_such_table']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout || missing.stderr)).toMatchObject({ error: { code: 'CATALOG_TABLE_NOT_FOUND' } });
    expect((await rat(home, ['ingest', '--help'])).stdout).not.toContain('--replay-rejects bronze.orders --type amount=VARCHAR');
  });

  it('--records reads the array at a path inside a JSON document as the rows', async () => {
    await writeFile(join(dir, 'dump.json'), JSON.stringify({ meta: { page: 1 }, data: { items: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }] } }));
    const loaded = await rat(home, ['--json', 'ingest', join(dir, 'dump.json'), 'bronze.dump', '--records', 'data.items']);
    expect(loaded.code).toBe(0);
    expect(JSON.parse((await rat(home, ['--json', 'sql', 'SELECT id, name FROM bronze.dump ORDER BY id'])).stdout)).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    await writeFile(join(dir, 'page.json'), JSON.stringify({ next: null, results: [{ id: 1 }, { id: 2 }] }));
    const whole = await rat(home, ['ingest', join(dir, 'page.json'), 'bronze.page_whole']);
    expect(whole.stdout).toContain(`hint: ${join(dir, 'page.json')}: the file is one JSON record, and its field "results" holds a list of records: to load each as a row, ingest it with --records results`);
    const missing = await rat(home, ['ingest', join(dir, 'dump.json'), 'bronze.dump', '--records', 'items']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('records "items" is not in the document (its top-level fields: meta, data)');
  });

  it('--decimal-separator , reads numbers written with a decimal comma', async () => {
    await writeFile(join(dir, 'eu.csv'), 'id;amount\n1;1,5\n2;-2,25\n');
    expect((await rat(home, ['ingest', join(dir, 'eu.csv'), 'bronze.eu', '--decimal-separator', ','])).code).toBe(0);
    expect(JSON.parse((await rat(home, ['--json', 'sql', 'SELECT id, amount FROM bronze.eu ORDER BY id'])).stdout)).toEqual([
      { id: 1, amount: 1.5 },
      { id: 2, amount: -2.25 },
    ]);
  });

  it('--files-per-commit sets how many files of a batch share a snapshot', async () => {
    const batch = join(dir, 'batch');
    await mkdir(batch);
    for (let i = 1; i <= 5; i++) await writeFile(join(batch, `part-${i}.csv`), `id\n${i}\n`);
    expect((await rat(home, ['ingest', batch, 'bronze.parts', '--files-per-commit', '2'])).code).toBe(0);
    // The first file creates the table; the other four go two by two.
    const snapshots = JSON.parse((await rat(home, ['--json', 'snapshots', 'bronze.parts'])).stdout) as unknown[];
    expect(snapshots).toHaveLength(3);
  });

  it('refuses a bad option value as a usage error naming the option, the value and what it takes, before reading any file', async () => {
    await writeFile(join(dir, 'opts.csv'), 'id\n1\n');
    const cases: [string[], string][] = [
      [['--mode', 'upsert'], "option '--mode <mode>' argument 'upsert' is invalid. Use append, overwrite or merge"],
      [['--compression', 'gz'], "option '--compression <kind>' argument 'gz' is invalid. Use auto, none, gzip or zstd"],
      [['--json-format', 'ndjson'], "option '--json-format <format>' argument 'ndjson' is invalid. Use auto, array or newline_delimited"],
      [['--header-row', '-1'], "option '--header-row <n>' argument '-1' is invalid. Use a whole number of 1 or more"],
      [['--files-per-commit', '0'], "option '--files-per-commit <n>' argument '0' is invalid. Use a whole number of 1 or more"],
      [['--sample-size', '0'], "option '--sample-size <rows>' argument '0' is invalid. Use a whole number of 1 or more, or -1 (all)"],
    ];
    // Refused as the arguments are parsed, before the lakehouse is opened: no registry row can be written.
    const runs = await Promise.all(cases.map(([option]) => rat(home, ['--json', 'ingest', join(dir, 'opts.csv'), 'bronze.opts', ...option])));
    runs.forEach((run, i) => {
      const [option, message] = cases[i]!;
      expect([run.code, run.stdout, JSON.parse(run.stderr)], option.join(' ')).toEqual([2, '', { error: { code: 'INVALID_ARGUMENT', message: `${message} (run rat --help for usage)` } }]);
    });
  });

  it('describes progress with bytes (binary units, named so), rate and ETA', () => {
    const text = progressText({ file: 'big.csv', phase: 'reading', bytesDone: 50 * 1024 * 1024, bytesTotal: 200 * 1024 * 1024 }, 5_000);
    expect(text).toBe('reading big.csv  50.0 MiB / 200.0 MiB  25%  10.0 MiB/s  ETA 15s');
    expect(bytes(159_333_359)).toBe('152.0 MiB');
    expect(bytes(1536)).toBe('1.5 KiB');
  });

  it('describes a compressed read by the compressed bytes read and the time so far, with no share or ETA', () => {
    const event = { file: 'big.csv.gz', phase: 'reading', bytesDone: 18 * 1024 * 1024, bytesTotal: 19 * 1024 * 1024, compressed: true } as const;
    expect(progressText(event, 2_100)).toBe('reading big.csv.gz  18.0 MiB of 19.0 MiB compressed read  3s so far');
    expect(progressText({ ...event, bytesDone: event.bytesTotal }, 6_000)).toBe('reading big.csv.gz  19.0 MiB of 19.0 MiB compressed read  done in 6s');
  });

  it("describes a custom parser's progress in rows and rows a second, with no ETA while the total is unknown", () => {
    const parsing = { file: 'report.txt', phase: 'parsing', bytesDone: 0, bytesTotal: 2, rowsDone: 1_500_000 } as const;
    expect(progressText(parsing, 7_500)).toBe('parsing (custom parser) report.txt  1,500,000 rows  200,000 rows/s');
    expect(progressText({ ...parsing, rowsDone: 3_000_000, bytesDone: 2 }, 15_000)).toBe('parsing (custom parser) report.txt  3,000,000 rows  200,000 rows/s  done in 15s');
    const writing = { file: 'report.txt', phase: 'writing', bytesDone: 1, bytesTotal: 2, rowsDone: 1_000_000, rowsTotal: 3_000_000 } as const;
    expect(progressText(writing, 1_000)).toBe('writing report.txt  1,000,000 / 3,000,000 rows  33%  1,000,000 rows/s  ETA 2s');
  });

  it('describes a step without a share done (JSON type inference) by its elapsed time', () => {
    const event = { file: 'big.ndjson', phase: 'inferring', bytesDone: 0, bytesTotal: 965 * 1024 * 1024, indeterminate: true } as const;
    expect(progressText(event, 12_300)).toBe('inferring the column types of big.ndjson  965.0 MiB  13s so far (reads every record; DuckDB reports no share done)');
    expect(progressText({ ...event, bytesDone: event.bytesTotal }, 72_000)).toBe('inferring the column types of big.ndjson  965.0 MiB  done in 1m12s');
  });

  it('rounds a duration up before splitting it into minutes and seconds (2m00s, never 1m60s)', () => {
    const done = { file: 'big.ndjson', phase: 'inferring', bytesDone: 1, bytesTotal: 1, indeterminate: true } as const;
    expect(progressText(done, 59_500)).toMatch(/ done in 1m00s$/);
    expect(progressText(done, 58_200)).toMatch(/ done in 59s$/);
    expect(progressText(done, 60_500)).toMatch(/ done in 1m01s$/);
    expect(progressText(done, 119_500)).toMatch(/ done in 2m00s$/);
    expect(progressText(done, 3_599_500)).toMatch(/ done in 1h00m$/);
    const reading = { file: 'big.csv', phase: 'reading', bytesDone: 1024 * 1024, bytesTotal: 101 * 1024 * 1024 } as const;
    // 1 MiB in 1.195 s leaves 119.5 s to go.
    expect(progressText(reading, 1_195)).toMatch(/ ETA 2m00s$/);
  });

  it('removes its staging files and says so when interrupted (Ctrl-C) during an ingest, which commits nothing', async () => {
    const path = join(dir, 'interrupted.csv');
    const rows = Array.from({ length: 50_000 }, (_, i) => `${i},customer_${i % 1000},${i * 1.5},some note text ${i}`).join('\n');
    await writeFile(path, `id,name,amount,note\n${Array.from({ length: 12 }, () => rows).join('\n')}\n`);
    const interruptedHome = join(dir, 'interrupted-home');
    const staging = join(interruptedHome, 'staging');
    const child = spawn(process.execPath, [bin, '--home', interruptedHome, 'ingest', path, 'bronze.interrupted'], { env: { ...process.env, RAT_GIT_SYNC: '0', ...catalogEnv(interruptedHome) } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('close', done));
    // Interrupted once the ingest has staged something (the source's pin, its Parquet files).
    const stagedDirs = async () => (await readdir(staging).catch(() => [])).filter((name) => name.startsWith('stage-'));
    while ((await stagedDirs()).length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('rat: interrupted (SIGINT): staging files removed; a file whose commit had not started is not committed (the registry lists what was)\n');
    expect(await stagedDirs()).toEqual([]);
    // The file's table was to be created by its commit.
    expect(JSON.parse((await rat(interruptedHome, ['--json', 'tables'])).stdout)).toEqual([]);
  }, 60_000);

  it('removes the partly copied file when an upload is interrupted (Ctrl-C): nothing is left in the landing zone; with --json it says so as a JSON error', async () => {
    const path = join(dir, 'large-upload.csv');
    await writeFile(path, Buffer.alloc(96 << 20, 'a'));
    const uploadHome = join(dir, 'upload-home');
    const folder = join(uploadHome, 'landing', 'big');
    const child = spawn(process.execPath, [bin, '--home', uploadHome, 'upload', path, 'landing/big/', '--json'], { env: { ...process.env, RAT_GIT_SYNC: '0', ...catalogEnv(uploadHome) } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('close', done));
    // Interrupted while the copy is under its temp name.
    while ((await readdir(folder).catch(() => [])).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(await readdir(folder)).toEqual([]);
    // A script reading stderr as JSON lines gets the interruption as one too.
    expect(JSON.parse(stderr.trim().split('\n').at(-1)!)).toEqual({
      error: { code: 'INTERRUPTED', message: 'interrupted (SIGINT): staging files removed; a file whose commit had not started is not committed (the registry lists what was)' },
    });
  }, 60_000);
});
