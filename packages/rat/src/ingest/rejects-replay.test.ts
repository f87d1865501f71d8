import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

const count = async (sql: string) => (await fx.rat.query<{ n: number }>(sql))[0]!.n;

/**
 * Runs `work` (another writer) while the first commit that moves `table`'s quarantine waits to go
 * through: the interleaving of two writers where the second commits between the first one's read and
 * its commit, every time.
 */
async function whileCommitWaits<T>(table: string, work: () => Promise<unknown>, writer: () => Promise<T>): Promise<T> {
  const catalog = fx.rat.catalog;
  const commitTables = catalog.commitTables;
  let pending: (() => Promise<unknown>) | undefined = work;
  catalog.commitTables = async (commits, options) => {
    const run = pending;
    if (run && commits.some((c) => `${c.ident.namespace}.${c.ident.name}` === `${table}__rejects`)) {
      pending = undefined;
      await run();
    }
    return commitTables.call(catalog, commits, options);
  };
  try {
    const result = await writer();
    expect(pending, 'the other writer ran').toBeUndefined();
    return result;
  } finally {
    catalog.commitTables = commitTables;
  }
}

describe('quarantine replay', () => {
  it('replays CSV rows after the parser is fixed (a date format)', async () => {
    await fx.ingestion.ingest(await fx.file('orders-1.csv', 'id,ordered\n1,2026-01-05\n'), 'bronze.orders');
    const text = 'id,ordered\n2,2026-01-06\n3,07/01/2026\n4,08/01/2026\n5,2026-01-09\n6,2026-01-10\n';
    const path = await fx.file('orders-2.csv', text);
    const report = await fx.ingestion.ingest(path, 'bronze.orders');
    expect(report.files[0]).toMatchObject({ rowsIngested: 3, rowsRejected: 2 });
    expect(await count('SELECT count(*)::INT AS n FROM bronze.orders__rejects')).toBe(2);

    const unchanged = await fx.ingestion.replayRejects('bronze.orders', { dateFormat: '%Y/%m/%d' });
    expect(unchanged).toMatchObject({ replayed: 0, stillRejected: 2 });
    expect(await count('SELECT count(*)::INT AS n FROM bronze.orders__rejects')).toBe(2);

    const fixed = await fx.ingestion.replayRejects('bronze.orders', { dateFormat: '%d/%m/%Y' });
    expect(fixed).toMatchObject({ replayed: 2, stillRejected: 0 });
    expect(await count('SELECT count(*)::INT AS n FROM bronze.orders__rejects')).toBe(0);
    const rows = await fx.rat.query<{ id: number; ordered: string; _source_file: string }>('SELECT id, CAST(ordered AS VARCHAR) AS ordered, _source_file FROM bronze.orders ORDER BY id');
    expect(rows.map((r) => [r.id, r.ordered])).toEqual([[1, '2026-01-05'], [2, '2026-01-06'], [3, '2026-01-07'], [4, '2026-01-08'], [5, '2026-01-09'], [6, '2026-01-10']]);
    expect(rows[2]!._source_file).toBe(path);
    // Each replay's registry row is the file's: its hash and size, not those of the replay's own scratch file.
    const entries = await fx.ingestion.registry({ filePath: path });
    expect(entries.map((e) => [e.status, e.rowsIngested, e.rowsRejected, e.fileSize])).toEqual([
      ['success', 3, 2, text.length],
      ['success', 0, 2, text.length],
      ['success', 2, 0, text.length],
    ]);
    expect(new Set(entries.map((e) => e.fileHash)).size).toBe(1);
  });

  it('replays with the date format given to the replay, not the one the first read sniffed', async () => {
    // Day-first dates the sniffer finds in its sample, and one written another way after it.
    const dates = Array.from({ length: 3000 }, (_, i) => `${i + 1},${String((i % 28) + 1).padStart(2, '0')}/02/2024\n`).join('');
    const path = await fx.file('sniffed-format.csv', `id,d\n${dates}3001,2024.02.14\n`);
    const report = await fx.ingestion.ingest(path, 'bronze.sniffed', { sampleSize: 1000 });
    expect(report.files[0]).toMatchObject({ rowsIngested: 3000, rowsRejected: 1 });
    expect(JSON.parse((await fx.rat.query<{ p: string }>('SELECT parse_options AS p FROM bronze.sniffed__rejects'))[0]!.p)).toMatchObject({ dateFormat: '%d/%m/%Y' });
    expect(await fx.ingestion.replayRejects('bronze.sniffed', { dateFormat: '%Y.%m.%d' })).toMatchObject({ replayed: 1, stillRejected: 0 });
    expect(await fx.rat.query('SELECT id, CAST(d AS VARCHAR) AS d FROM bronze.sniffed WHERE id IN (3000, 3001) ORDER BY id')).toEqual([
      { id: 3000, d: '2024-02-04' },
      { id: 3001, d: '2024-02-14' },
    ]);
  });

  it('replays CSV rows written with decimal commas once the separator is given', async () => {
    await fx.ingestion.ingest(await fx.file('prices-1.csv', 'id;amount\n1;1.5\n'), 'bronze.prices');
    const report = await fx.ingestion.ingest(await fx.file('prices-2.csv', 'id;amount\n2;2,25\n3;-0,5\n'), 'bronze.prices');
    expect(report.files[0]).toMatchObject({ rowsIngested: 0, rowsRejected: 2 });
    const fixed = await fx.ingestion.replayRejects('bronze.prices', { decimalSeparator: ',' });
    expect(fixed).toMatchObject({ replayed: 2, stillRejected: 0 });
    expect(await fx.rat.query('SELECT id, amount FROM bronze.prices ORDER BY id')).toEqual([
      { id: 1, amount: 1.5 },
      { id: 2, amount: 2.25 },
      { id: 3, amount: -0.5 },
    ]);
  });

  it('replays JSON records after the table is fixed (a column widened), keeping the ones that still fail', async () => {
    await fx.rat.sql('CREATE TABLE bronze.metrics (id INTEGER, value INTEGER, _source_file VARCHAR, _ingested_at TIMESTAMPTZ)');
    const path = await fx.file('m.ndjson', '{"id": 1, "value": 5}\n{"id": 2, "value": 9000000000}\n{"id": 3, "value": "n/a"}\n');
    const report = await fx.ingestion.ingest(path, 'bronze.metrics', { schemaDrift: 'ignore' });
    expect(report.files[0]).toMatchObject({ rowsIngested: 1, rowsRejected: 2 });
    await fx.rat.sql('ALTER TABLE bronze.metrics ALTER COLUMN value TYPE BIGINT');
    const replay = await fx.ingestion.replayRejects('bronze.metrics');
    expect(replay).toMatchObject({ replayed: 1, stillRejected: 1 });
    const rejects = await fx.rat.query<{ line: number; reason: string }>('SELECT line, reason FROM bronze.metrics__rejects');
    expect(rejects).toEqual([{ line: 3, reason: 'column value: cannot convert n/a to BIGINT' }]);
    expect(await count('SELECT count(*)::INT AS n FROM bronze.metrics WHERE value = 9000000000')).toBe(1);
  });
  it('replays the rows of several files, each leaving the quarantine once', async () => {
    await fx.ingestion.ingest(await fx.file('two-a.csv', 'id,day\n1,2024-01-01\n2,05/02/2024\n3,2024-01-03\n'), 'bronze.two', { types: { day: 'DATE' } });
    await fx.ingestion.ingest(await fx.file('two-b.csv', 'id,day\n4,2024-01-04\n5,06/02/2024\n6,2024-01-06\n'), 'bronze.two', { types: { day: 'DATE' } });
    expect(await fx.ingestion.replayRejects('bronze.two', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 2, stillRejected: 0 });
    expect(await count('SELECT count(*)::INT AS n FROM bronze.two__rejects')).toBe(0);
    expect(await count('SELECT count(*)::INT AS n FROM bronze.two')).toBe(6);
  });

  it('leaves in the quarantine a row with a byte that is not UTF-8 until told it is Latin-1, replaying the others', async () => {
    // UTF-8 throughout (past the sample), but one Latin-1 é: DuckDB quarantines that row with ? for the byte.
    const lines = Array.from({ length: 3000 }, (_, i) => Buffer.from(`${i + 1},café,2026-01-05\n`));
    lines[2500] = Buffer.concat([Buffer.from('2501,caf'), Buffer.from([0xe9]), Buffer.from(',2026-01-05\n')]);
    lines[2600] = Buffer.from('2601,café,05/01/2026\n');
    await fx.ingestion.ingest(await fx.file('encoded-0.csv', 'id,name,day\n0,café,2026-01-04\n'), 'bronze.encoded');
    const report = await fx.ingestion.ingest(await fx.file('encoded.csv', Buffer.concat([Buffer.from('id,name,day\n'), ...lines])), 'bronze.encoded');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2998, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT line FROM bronze.encoded__rejects ORDER BY line')).toEqual([{ line: 2502 }, { line: 2602 }]);
    const replay = await fx.ingestion.replayRejects('bronze.encoded', { dateFormat: '%d/%m/%Y' });
    expect(replay).toMatchObject({ replayed: 1, stillRejected: 1, strayBytes: 1, encodingLost: 0 });
    expect(await fx.rat.query('SELECT line, raw, reason FROM bronze.encoded__rejects')).toEqual([
      { line: 2502, raw: '2501,café,2026-01-05', reason: expect.stringContaining('--replay-rejects <table> --encoding latin-1') },
    ]);
    expect(await count(`SELECT count(*)::INT AS n FROM bronze.encoded WHERE name <> 'café'`)).toBe(0);
    // Replayed again, it stays where it is.
    expect(await fx.ingestion.replayRejects('bronze.encoded')).toMatchObject({ replayed: 0, stillRejected: 1, strayBytes: 1 });
    // Told the byte is Latin-1, the replay loads that row, and only it.
    expect(await fx.ingestion.replayRejects('bronze.encoded', { encoding: 'latin-1' })).toMatchObject({ replayed: 1, stillRejected: 0, strayBytes: 0 });
    expect(await count('SELECT count(*)::INT AS n FROM bronze.encoded__rejects')).toBe(0);
    expect(await fx.rat.query(`SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids, count(*) FILTER (WHERE name <> 'café')::INT AS other FROM bronze.encoded`)).toEqual([{ n: 3001, ids: 3001, other: 0 }]);
    await expect(fx.ingestion.replayRejects('bronze.encoded', { encoding: 'utf-16' })).rejects.toThrow('its only encoding is latin-1 (rows whose bytes were not UTF-8 load as their Latin-1 characters), got --encoding utf-16');
  });

  it('replays JSON rows too when told that stray bytes are Latin-1', async () => {
    await fx.ingestion.ingest(await fx.file('enc-mixed.csv', Buffer.concat([Buffer.from('id,name\n1,café\n2,na'), Buffer.from([0xef]), Buffer.from('ve\n')])), 'bronze.enc_mixed', { types: { id: 'BIGINT' } });
    await fx.ingestion.ingest(await fx.file('enc-mixed.ndjson', '{"id":3,"name":"ok"}\n{"id":"x","name":"bad"}\n'), 'bronze.enc_mixed');
    const replay = await fx.ingestion.replayRejects('bronze.enc_mixed', { encoding: 'latin-1' });
    expect(replay.groups.map((g) => [g.status, g.error ?? null])).toEqual([
      ['success', null],
      ['success', null],
    ]);
    expect(replay).toMatchObject({ replayed: 1, stillRejected: 1, strayBytes: 0 });
    expect(await fx.rat.query('SELECT id, name FROM bronze.enc_mixed ORDER BY id')).toEqual([
      { id: 1, name: 'café' },
      { id: 2, name: 'naïve' },
      { id: 3, name: 'ok' },
    ]);
  });

  describe('a replay adds the quarantined rows to the table as they were loaded', () => {
    // Row 2's date is written day first: the first ingest quarantines it, the replay with the format loads it.
    const n1 = 'id,day\n1,2024-01-01\n2,2024-01-02\n';
    const n2 = 'id,day\n2,05/02/2024\n3,2024-01-05\n4,2024-01-06\n';
    const ids = async (table: string) => (await fx.rat.query<{ id: number; day: string }>(`SELECT id, CAST(day AS VARCHAR) AS day FROM ${table} ORDER BY id, day`)).map((r) => [r.id, r.day]);

    it('refuses --mode overwrite, which would leave only the replayed rows', async () => {
      await fx.ingestion.ingest(await fx.file('ov.csv', n2), 'bronze.ov', { mode: 'overwrite', types: { day: 'DATE' } });
      await expect(fx.ingestion.replayRejects('bronze.ov', { dateFormat: '%d/%m/%Y', mode: 'overwrite' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('never replaces it'),
      });
      expect(await ids('bronze.ov')).toEqual([[3, '2024-01-05'], [4, '2024-01-06']]);
      expect(await count('SELECT count(*)::INT AS n FROM bronze.ov__rejects')).toBe(1);
      // Replayed without a mode, the row of the overwrite is added.
      expect(await fx.ingestion.replayRejects('bronze.ov', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1, stillRejected: 0 });
      expect(await ids('bronze.ov')).toEqual([[2, '2024-02-05'], [3, '2024-01-05'], [4, '2024-01-06']]);
    });

    it('merges rows quarantined by a merge by the same key, without being told', async () => {
      await fx.ingestion.ingest(await fx.file('n1.csv', n1), 'bronze.merged', { mode: 'merge', keys: ['id'] });
      const path = await fx.file('n2.csv', n2);
      expect((await fx.ingestion.ingest(path, 'bronze.merged', { mode: 'merge', keys: ['id'] })).files[0]).toMatchObject({ rowsIngested: 2, rowsRejected: 1 });
      expect(JSON.parse((await fx.rat.query<{ p: string }>('SELECT parse_options AS p FROM bronze.merged__rejects'))[0]!.p)).toMatchObject({ mode: 'merge', keys: ['id'] });
      expect(await fx.ingestion.replayRejects('bronze.merged', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1, stillRejected: 0 });
      expect(await ids('bronze.merged')).toEqual([[1, '2024-01-01'], [2, '2024-02-05'], [3, '2024-01-05'], [4, '2024-01-06']]);
      // Rows still rejected by a replay keep the merge for the next one.
      await fx.ingestion.ingest(await fx.file('n3.csv', 'id,day\n3,06/02/2024\n5,2024-01-07\n6,2024-01-08\n'), 'bronze.merged', { mode: 'merge', keys: ['id'] });
      expect(await fx.ingestion.replayRejects('bronze.merged', { dateFormat: '%Y/%m/%d' })).toMatchObject({ replayed: 0, stillRejected: 1 });
      expect(await fx.ingestion.replayRejects('bronze.merged', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1, stillRejected: 0 });
      expect(await ids('bronze.merged')).toEqual([[1, '2024-01-01'], [2, '2024-02-05'], [3, '2024-02-06'], [4, '2024-01-06'], [5, '2024-01-07'], [6, '2024-01-08']]);
    });

    it('refuses a merge file without a key column, naming the file, the key and its columns', async () => {
      await fx.ingestion.ingest(await fx.file('k1.csv', 'a,b,v\n1,1,x\n'), 'bronze.twokeys', { mode: 'merge', keys: ['a', 'b'] });
      const k2 = await fx.file('k2.csv', 'a,v\n1,y\n');
      expect((await fx.ingestion.ingest(k2, 'bronze.twokeys', { mode: 'merge', keys: ['a', 'b'] })).files[0]).toMatchObject({
        status: 'failed',
        error: `${k2}: merge key b is not a column of the file (columns: a, v)`,
      });
      expect(await fx.rat.query('SELECT a, b, v FROM bronze.twokeys')).toEqual([{ a: 1, b: 1, v: 'x' }]);
    });

    describe('a merge replay never writes an older row over a newer one', () => {
      // Row 2 of m1 is quarantined (day first); m2 then merges a newer row 2.
      const m1 = 'id,day\n1,2024-01-01\n2,05/02/2024\n3,2024-01-03\n';
      const m2 = 'id,day\n2,2024-03-01\n';
      const merge = { mode: 'merge' as const, keys: ['id'], types: { day: 'DATE' } };
      const reason = async (table: string) => (await fx.rat.query<{ reason: string }>(`SELECT reason FROM ${table}__rejects`)).map((r) => r.reason);

      it('leaves in the quarantine a row whose key a later load updated, saying so, and merges the others', async () => {
        await fx.ingestion.ingest(await fx.file('later-1.csv', m1), 'bronze.later', merge);
        const m2Path = await fx.file('later-2.csv', m2);
        await fx.ingestion.ingest(m2Path, 'bronze.later', merge);
        // Another file's row 4, quarantined after m2: no later load has its key, so it merges.
        expect((await fx.ingestion.ingest(await fx.file('later-3.csv', 'id,day\n4,06/02/2024\n5,2024-01-05\n'), 'bronze.later', merge)).files[0]).toMatchObject({ rowsRejected: 1 });
        const replay = await fx.ingestion.replayRejects('bronze.later', { dateFormat: '%d/%m/%Y' });
        expect(replay).toMatchObject({ replayed: 1, stillRejected: 1, superseded: 1 });
        expect(await ids('bronze.later')).toEqual([[1, '2024-01-01'], [2, '2024-03-01'], [3, '2024-01-03'], [4, '2024-02-06'], [5, '2024-01-05']]);
        expect(await fx.rat.query('SELECT line, raw FROM bronze.later__rejects')).toEqual([{ line: 3, raw: '2,05/02/2024' }]);
        expect(await reason('bronze.later')).toEqual([expect.stringMatching(new RegExp(`^a later load \\(${m2Path}, 20.*\\) already updated key id=2, .*replay with --mode merge --key id .* or --mode append$`))]);
        // Replayed again, it stays; an explicit --mode merge loads it over the newer row.
        expect(await fx.ingestion.replayRejects('bronze.later', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 0, stillRejected: 1, superseded: 1 });
        expect(await fx.ingestion.replayRejects('bronze.later', { dateFormat: '%d/%m/%Y', mode: 'merge', keys: ['id'] })).toMatchObject({ replayed: 1, stillRejected: 0, superseded: 0 });
        expect(await ids('bronze.later')).toEqual([[1, '2024-01-01'], [2, '2024-02-05'], [3, '2024-01-03'], [4, '2024-02-06'], [5, '2024-01-05']]);
        expect(await count('SELECT count(*)::INT AS n FROM bronze.later__rejects')).toBe(0);
      });

      it('tells a later load by a key the table spells in capitals (made in SQL)', async () => {
        await fx.rat.sql('CREATE TABLE bronze.later_camel (OrderId BIGINT, day DATE)');
        const camel = { mode: 'merge' as const, keys: ['OrderId'], rename: { id: 'orderid' } };
        expect((await fx.ingestion.ingest(await fx.file('camel-1.csv', m1), 'bronze.later_camel', camel)).files[0]).toMatchObject({ status: 'success', rowsRejected: 1 });
        await fx.ingestion.ingest(await fx.file('camel-2.csv', m2), 'bronze.later_camel', camel);
        expect(await fx.ingestion.replayRejects('bronze.later_camel', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 0, stillRejected: 1, superseded: 1 });
        expect(await fx.rat.query("SELECT OrderId AS id, strftime(day, '%Y-%m-%d') AS day FROM bronze.later_camel ORDER BY id")).toEqual([
          { id: 1, day: '2024-01-01' },
          { id: 2, day: '2024-03-01' },
          { id: 3, day: '2024-01-03' },
        ]);
      });

      it('merges a row whose key the table holds from a load older than the quarantine', async () => {
        await fx.ingestion.ingest(await fx.file('older-2.csv', m2), 'bronze.older', merge);
        await fx.ingestion.ingest(await fx.file('older-1.csv', m1), 'bronze.older', merge);
        expect(await fx.ingestion.replayRejects('bronze.older', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1, stillRejected: 0, superseded: 0 });
        expect(await ids('bronze.older')).toEqual([[1, '2024-01-01'], [2, '2024-02-05'], [3, '2024-01-03']]);
      });

      it('refuses a merge replay into a table without lineage columns, unless told the mode', async () => {
        await fx.ingestion.ingest(await fx.file('nolin-1.csv', m1), 'bronze.nolin', { ...merge, lineage: false });
        await fx.ingestion.ingest(await fx.file('nolin-2.csv', m2), 'bronze.nolin', { ...merge, lineage: false });
        await expect(fx.ingestion.replayRejects('bronze.nolin', { dateFormat: '%d/%m/%Y' })).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/bronze\.nolin .*--mode merge --key id .*no _ingested_at column .*--mode merge --key id \(replaces whatever bronze\.nolin holds .*\) or --mode append/),
        });
        expect(await ids('bronze.nolin')).toEqual([[1, '2024-01-01'], [2, '2024-03-01'], [3, '2024-01-03']]);
        expect(await count('SELECT count(*)::INT AS n FROM bronze.nolin__rejects')).toBe(1);
        // Told to append, the row is added beside the newer one; told to merge, it replaces it.
        const appended = await fx.ingestion.replayRejects('bronze.nolin', { dateFormat: '%d/%m/%Y', mode: 'append' });
        expect(appended).toMatchObject({ replayed: 1, superseded: 0 });
        expect(await ids('bronze.nolin')).toEqual([[1, '2024-01-01'], [2, '2024-02-05'], [2, '2024-03-01'], [3, '2024-01-03']]);
        await fx.ingestion.ingest(await fx.file('nolin-3.csv', 'id,day\n7,07/02/2024\n8,2024-01-08\n'), 'bronze.nolin', { ...merge, lineage: false });
        await fx.ingestion.ingest(await fx.file('nolin-4.csv', 'id,day\n7,2024-04-01\n'), 'bronze.nolin', { ...merge, lineage: false });
        expect(await fx.ingestion.replayRejects('bronze.nolin', { dateFormat: '%d/%m/%Y', mode: 'merge', keys: ['id'] })).toMatchObject({ replayed: 1, superseded: 0 });
        expect((await ids('bronze.nolin')).filter(([id]) => id === 7)).toEqual([[7, '2024-02-07']]);
      });

      it('leaves in the quarantine a row whose key the same load took from another row of the file', async () => {
        const path = await fx.file('same-1.csv', 'id,day,v\n2,05/02/2024,old\n2,2024-02-06,new\n3,2024-02-07,c\n');
        expect((await fx.ingestion.ingest(path, 'bronze.same', merge)).files[0]).toMatchObject({ rowsIngested: 2, rowsRejected: 1 });
        expect(await fx.ingestion.replayRejects('bronze.same', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 0, stillRejected: 1, superseded: 1 });
        expect(await fx.rat.query('SELECT id, v FROM bronze.same ORDER BY id')).toEqual([{ id: 2, v: 'new' }, { id: 3, v: 'c' }]);
        expect(await reason('bronze.same')).toEqual([expect.stringMatching(new RegExp(`^the load that quarantined this row \\(${path}, 20.*\\) loaded another row of the file with key id=2, which may come after it`))]);
      });

      it('an earlier row of a key that cannot be converted is replaced by the later one, as any earlier row (JSON)', async () => {
        await fx.ingestion.ingest(await fx.file('jdup-0.ndjson', '{"id": 1, "day": "2024-01-01"}\n'), 'bronze.jdup', merge);
        const report = await fx.ingestion.ingest(await fx.file('jdup-1.ndjson', '{"id": 2, "day": "05/02/2024"}\n{"id": 2, "day": "2024-02-06"}\n{"id": 3, "day": "07/02/2024"}\n'), 'bronze.jdup', merge);
        expect(report.files[0]).toMatchObject({ rowsIngested: 1, rowsRejected: 1, supersededRows: 1 });
        expect(await fx.rat.query('SELECT line, raw FROM bronze.jdup__rejects')).toEqual([{ line: 3, raw: expect.stringContaining('07/02/2024') }]);
        expect(await ids('bronze.jdup')).toEqual([[1, '2024-01-01'], [2, '2024-02-06']]);
      });

      it('keeps the last quarantined row of a key by line, and leaves every one a later load superseded', async () => {
        const dup = 'id,day\n2,05/02/2024\n1,2024-01-01\n2,06/02/2024\n3,07/02/2024\n';
        await fx.ingestion.ingest(await fx.file('dup-1.csv', dup), 'bronze.dup', merge);
        expect(await count('SELECT count(*)::INT AS n FROM bronze.dup__rejects')).toBe(3);
        await fx.ingestion.ingest(await fx.file('dup-2.csv', 'id,day\n3,2024-03-03\n'), 'bronze.dup', merge);
        expect(await fx.ingestion.replayRejects('bronze.dup', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1, stillRejected: 1, superseded: 1, groups: [{ supersededRows: 1 }] });
        expect(await ids('bronze.dup')).toEqual([[1, '2024-01-01'], [2, '2024-02-06'], [3, '2024-03-03']]);
        expect(await fx.rat.query('SELECT raw FROM bronze.dup__rejects')).toEqual([{ raw: '3,07/02/2024' }]);
      });
    });

    it('appends rows quarantined before the mode was recorded (no mode in parse_options)', async () => {
      await fx.ingestion.ingest(await fx.file('old-1.csv', n1), 'bronze.oldq', { mode: 'merge', keys: ['id'] });
      await fx.ingestion.ingest(await fx.file('old-2.csv', n2), 'bronze.oldq', { mode: 'merge', keys: ['id'] });
      await fx.rat.sql(`UPDATE bronze.oldq__rejects SET parse_options = replace(replace(parse_options, ',"mode":"merge"', ''), ',"keys":["id"]', '')`);
      expect(JSON.parse((await fx.rat.query<{ p: string }>('SELECT parse_options AS p FROM bronze.oldq__rejects'))[0]!.p)).not.toHaveProperty('mode');
      expect(await fx.ingestion.replayRejects('bronze.oldq', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1 });
      expect(await ids('bronze.oldq')).toEqual([[1, '2024-01-01'], [2, '2024-01-02'], [2, '2024-02-05'], [3, '2024-01-05'], [4, '2024-01-06']]);
    });

    it('refuses a table that was dropped or never existed, and does not make it again from its quarantine', async () => {
      await fx.ingestion.ingest(await fx.file('dropped.csv', n2), 'bronze.dropped', { types: { day: 'DATE' } });
      await fx.rat.sql('DROP TABLE bronze.dropped');
      await expect(fx.ingestion.replayRejects('bronze.dropped', { dateFormat: '%d/%m/%Y' })).rejects.toMatchObject({
        code: 'CATALOG_TABLE_NOT_FOUND',
        message: expect.stringContaining('table bronze.dropped does not exist'),
      });
      expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'dropped' })).toBe(false);
      expect(await count('SELECT count(*)::INT AS n FROM bronze.dropped__rejects')).toBe(1);
      await expect(fx.ingestion.replayRejects('bronze.never_there')).rejects.toMatchObject({ code: 'CATALOG_TABLE_NOT_FOUND', message: expect.stringContaining('bronze.never_there') });
    });

    it('keeps the table without lineage columns when it was ingested with --no-lineage', async () => {
      await fx.ingestion.ingest(await fx.file('nl.csv', n2), 'bronze.nolineage', { types: { day: 'DATE' }, lineage: false });
      expect(await fx.ingestion.replayRejects('bronze.nolineage', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1 });
      expect(await fx.rat.query('SELECT * FROM bronze.nolineage ORDER BY id')).toEqual([
        { id: 2, day: expect.anything() },
        { id: 3, day: expect.anything() },
        { id: 4, day: expect.anything() },
      ]);
    });
  });

  it('refuses a --type the table column cannot take, on a replay and on an ingest, naming the column, both types and what to do', async () => {
    const path = await fx.file('typed.csv', 'id,amount\n1,2.5\n2,abc\n');
    expect((await fx.ingestion.ingest(path, 'bronze.typed', { types: { amount: 'DOUBLE' } })).files[0]).toMatchObject({ rowsIngested: 1, rowsRejected: 1 });
    const replay = await fx.ingestion.replayRejects('bronze.typed', { types: { amount: 'VARCHAR' } });
    expect(replay.groups[0]).toMatchObject({ status: 'failed', errorCode: 'TYPE_MISMATCH', error: expect.stringContaining('--type amount=VARCHAR: bronze.typed.amount is double') });
    expect(replay).toMatchObject({ replayed: 0, stillRejected: 1 });
    expect(await count('SELECT count(*)::INT AS n FROM bronze.typed__rejects')).toBe(1);
    const ingest = await fx.ingestion.ingest(await fx.file('typed-2.csv', 'id,amount\n3,xyz\n'), 'bronze.typed', { types: { amount: 'VARCHAR' } });
    expect(ingest.files[0]).toMatchObject({ status: 'failed', errorCode: 'TYPE_MISMATCH', error: expect.stringMatching(/the table's type wins.*Leave out --type amount/) });
    // A type the column holds (its own, or narrower) still works, and one it widens to widens it.
    expect((await fx.ingestion.ingest(await fx.file('typed-3.csv', 'id,amount\n4,4.5\n'), 'bronze.typed', { types: { amount: 'FLOAT', id: 'BIGINT' } })).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
  });

  it('reports the lines of the source file, not of the temporary replay file', async () => {
    const path = await fx.file('lines.csv', 'id,day\n1,2024-01-01\n2,2024-01-02\n3,2024-01-03\n4,x4\n5,x5\n6,x6\n');
    expect((await fx.ingestion.ingest(path, 'bronze.lines', { types: { day: 'DATE' } })).files[0]).toMatchObject({ rowsIngested: 3, rowsRejected: 3 });
    const replay = await fx.ingestion.replayRejects('bronze.lines');
    expect(replay.groups[0]!.sampleRejects.map((r) => r.line)).toEqual([5, 6, 7]);
    const failed = await fx.ingestion.replayRejects('bronze.lines', { onError: 'fail' });
    expect(failed.groups[0]).toMatchObject({ status: 'failed', error: expect.stringContaining(`${path} (line 5)`) });
    expect(await fx.rat.query('SELECT line FROM bronze.lines__rejects ORDER BY line')).toEqual([{ line: 5 }, { line: 6 }, { line: 7 }]);
    // A failed replay leaves no registry row: the file's last status is its ingest's.
    expect((await fx.ingestion.registry({ target: 'bronze.lines' })).map((e) => e.status)).toEqual(['success', 'success']);
  });

  describe('JSON rows read as the ingest named them', () => {
    it('a record kept as the file wrote it is flattened and renamed again, also when no replayed record has the renamed key', async () => {
      const lines = ['{"id":1,"Full Name":"a","m":{"n":1,"d":"x"}}', '{"id":2,"m":{"n":9000000000,"d":"y"}}', '{"id":3,"Full Name":"c","m":{"n":3,"d":"z"}}'];
      const path = await fx.file('flat.ndjson', `${lines.join('\n')}\n`);
      const report = await fx.ingestion.ingest(path, 'bronze.flat', { flatten: true, rename: { 'Full Name': 'who' }, types: { m_n: 'INTEGER' } });
      expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
      const columns = Object.keys((await fx.rat.query('SELECT * FROM bronze.flat LIMIT 1'))[0]!);
      await fx.rat.sql('ALTER TABLE bronze.flat ALTER COLUMN m_n TYPE BIGINT');
      // A rename given to the replay itself must still name a column.
      const typo = await fx.ingestion.replayRejects('bronze.flat', { rename: { nope: 'x' } });
      expect(typo).toMatchObject({ replayed: 0, stillRejected: 1, groups: [{ status: 'failed', errorCode: 'COLUMN_NOT_FOUND' }] });
      expect(await fx.ingestion.replayRejects('bronze.flat')).toMatchObject({ replayed: 1, stillRejected: 0 });
      expect(Object.keys((await fx.rat.query('SELECT * FROM bronze.flat LIMIT 1'))[0]!)).toEqual(columns);
      expect(await fx.rat.query('SELECT id, who, m_n, m_d FROM bronze.flat ORDER BY id')).toEqual([
        { id: 1, who: 'a', m_n: 1, m_d: 'x' },
        { id: 2, who: null, m_n: 9000000000, m_d: 'y' },
        { id: 3, who: 'c', m_n: 3, m_d: 'z' },
      ]);
      expect(await count('SELECT count(*)::INT AS n FROM bronze.flat__rejects')).toBe(0);
    });

    it('a row rebuilt from its values keeps the table column names it holds, one renamed to a keyword too', async () => {
      const path = await fx.file('keyword.txt', 'anything\n');
      const parser = () => [{ id: 1, Order: 'a', qty: 1 }, { id: 2, Order: 'b', qty: 9000000000 }];
      const report = await fx.ingestion.ingest(path, 'bronze.keyword', { parser, rename: { Order: 'order' }, types: { qty: 'INTEGER' } });
      expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
      await fx.rat.sql('ALTER TABLE bronze.keyword ALTER COLUMN qty TYPE BIGINT');
      expect(await fx.ingestion.replayRejects('bronze.keyword')).toMatchObject({ replayed: 1, stillRejected: 0 });
      expect(await fx.rat.query('SELECT * EXCLUDE (_source_file, _ingested_at) FROM bronze.keyword ORDER BY id')).toEqual([
        { id: 1, order: 'a', qty: 1 },
        { id: 2, order: 'b', qty: 9000000000 },
      ]);
    });
  });

  it('replays a decimal of 38 digits exactly from a row rebuilt from its values (a Parquet file\'s), not through a double', async () => {
    const path = `${fx.dir}/wide-decimals.parquet`;
    await fx.rat.duck.run(
      `COPY (SELECT * FROM (VALUES (1, 1.5::DECIMAL(38,10), 1::BIGINT), (2, 1234567890123456789.0123456789::DECIMAL(38,10), 9000000000::BIGINT), (3, 9999999999999999999999999999.9999999999::DECIMAL(38,10), 9000000001::BIGINT)) t(id, amt, qty)) TO '${path}'`,
    );
    expect((await fx.ingestion.ingest(path, 'bronze.wide_decimals', { types: { qty: 'INTEGER' } })).files[0]).toMatchObject({ rowsIngested: 1, rowsRejected: 2 });
    await fx.rat.sql('ALTER TABLE bronze.wide_decimals ALTER COLUMN qty TYPE BIGINT');
    expect(await fx.ingestion.replayRejects('bronze.wide_decimals')).toMatchObject({ replayed: 2, stillRejected: 0 });
    expect(await fx.rat.query('SELECT id, CAST(amt AS VARCHAR) AS amt FROM bronze.wide_decimals ORDER BY id')).toEqual([
      { id: 1, amt: '1.5000000000' },
      { id: 2, amt: '1234567890123456789.0123456789' },
      { id: 3, amt: '9999999999999999999999999999.9999999999' },
    ]);
  });

  it("replays a parser's row holding a Date into its timestamp column: the quarantine keeps the naive timestamp, not JavaScript's ISO text with a Z", async () => {
    const at = new Date(Date.UTC(2024, 0, 2, 18, 30));
    // Row 3 is refused as the parser gives it (NaN), its raw written by rat itself; row 2 by the table.
    const parser = () => [{ id: 1, big: 1, seen: at }, { id: 2, big: 9000000000, seen: at }, { id: 3, big: NaN, seen: at }];
    await fx.rat.sql('CREATE TABLE bronze.parsed_dates (id BIGINT, big INTEGER, seen TIMESTAMP, _source_file VARCHAR, _ingested_at TIMESTAMPTZ)');
    const report = await fx.ingestion.ingest(await fx.file('parsed-dates.txt', 'anything\n'), 'bronze.parsed_dates', { parser, schemaDrift: 'ignore' });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT raw FROM bronze.parsed_dates__rejects ORDER BY raw')).toEqual([
      { raw: '{"id":2,"big":9000000000,"seen":"2024-01-02 18:30:00"}' },
      { raw: '{"id":3,"big":"NaN","seen":"2024-01-02 18:30:00"}' },
    ]);
    await fx.rat.sql('ALTER TABLE bronze.parsed_dates ALTER COLUMN big TYPE BIGINT');
    expect(await fx.ingestion.replayRejects('bronze.parsed_dates')).toMatchObject({ replayed: 1, stillRejected: 1 });
    expect(await fx.rat.query('SELECT id, CAST(seen AS VARCHAR) AS seen FROM bronze.parsed_dates ORDER BY id')).toEqual([
      { id: 1, seen: '2024-01-02 18:30:00' },
      { id: 2, seen: '2024-01-02 18:30:00' },
    ]);
  });

  it("keeps quarantined the rows of a parser's values that cannot be stored, replaying the others", async () => {
    const values: unknown[] = [NaN, Infinity, () => 1, new Map([['k', 1]]), new Date('not a date'), Buffer.from('xy'), Symbol('s')];
    // Row 2 is refused by the table (a value past its int column) and loads once the column is widened; the others hold stand-ins.
    const parser = () => [{ id: 1, a: 1.5, big: 1 }, { id: 2, a: 2.5, big: 9000000000 }, ...values.map((a, i) => ({ id: i + 3, a, big: 1 }))];
    await fx.rat.sql('CREATE TABLE bronze.parsed (id BIGINT, a DOUBLE, big INTEGER, _source_file VARCHAR, _ingested_at TIMESTAMPTZ)');
    const path = await fx.file('parsed.txt', 'anything\n');
    const report = await fx.ingestion.ingest(path, 'bronze.parsed', { parser, schemaDrift: 'ignore' });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 8 });
    const columns = Object.keys((await fx.rat.query('SELECT * FROM bronze.parsed LIMIT 1'))[0]!);
    await fx.rat.sql('ALTER TABLE bronze.parsed ALTER COLUMN big TYPE BIGINT');
    const replay = await fx.ingestion.replayRejects('bronze.parsed');
    expect(replay).toMatchObject({ replayed: 1, unstorable: 7, stillRejected: 7 });
    expect(await fx.rat.query<{ id: number }>('SELECT id FROM bronze.parsed ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(Object.keys((await fx.rat.query('SELECT * FROM bronze.parsed LIMIT 1'))[0]!)).toEqual(columns);
    expect(await count('SELECT count(*)::INT AS n FROM bronze.parsed__rejects')).toBe(7);
    // Replayed again, they stay.
    expect(await fx.ingestion.replayRejects('bronze.parsed')).toMatchObject({ replayed: 0, unstorable: 7, stillRejected: 7 });
  });

  describe('other writers at the same time', () => {
    const a = 'id,dt,qty\n1,2024-01-01,1\n2,2024-01-02,2\n';
    const b = 'id,dt,qty\n4,2024-01-04,4\n5,31/01/2024,5\n6,2024-01-06,x6\n';

    it('two replays at once load a row once: the one that commits second reads the quarantine again', async () => {
      await fx.ingestion.ingest(await fx.file('race-a.csv', a), 'bronze.race');
      expect((await fx.ingestion.ingest(await fx.file('race-b.csv', b), 'bronze.race')).files[0]).toMatchObject({ rowsRejected: 2 });
      let other: unknown;
      const first = await whileCommitWaits(
        'bronze.race',
        async () => (other = await fx.ingestion.replayRejects('bronze.race', { dateFormat: '%d/%m/%Y' })),
        () => fx.ingestion.replayRejects('bronze.race', { dateFormat: '%d/%m/%Y' }),
      );
      expect(other).toMatchObject({ replayed: 1, stillRejected: 1 });
      expect(first).toMatchObject({ replayed: 0, stillRejected: 1 });
      expect(await fx.rat.query('SELECT id, count(*)::INT AS n FROM bronze.race GROUP BY id HAVING n > 1')).toEqual([]);
      expect(await count('SELECT count(*)::INT AS n FROM bronze.race WHERE id = 5')).toBe(1);
      expect(await fx.rat.query('SELECT line, raw FROM bronze.race__rejects')).toEqual([{ line: 4, raw: '6,2024-01-06,x6' }]);
    });

    it('a replay keeps the rows another ingest quarantined while it ran', async () => {
      await fx.ingestion.ingest(await fx.file('keep-a.csv', a), 'bronze.keep');
      await fx.ingestion.ingest(await fx.file('keep-b.csv', b), 'bronze.keep');
      const e = await fx.file('keep-e.csv', 'id,dt,qty\n8,2024-01-08,8\n9,2024-01-09,x9\n');
      let ingested: unknown;
      const replay = await whileCommitWaits(
        'bronze.keep',
        async () => (ingested = (await fx.ingestion.ingest(e, 'bronze.keep')).files[0]),
        () => fx.ingestion.replayRejects('bronze.keep', { dateFormat: '%d/%m/%Y' }),
      );
      expect(ingested).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
      expect(replay).toMatchObject({ replayed: 1, stillRejected: 2 });
      expect(await fx.rat.query('SELECT file_path, raw FROM bronze.keep__rejects ORDER BY raw')).toEqual([
        { file_path: expect.stringMatching(/keep-b\.csv$/), raw: '6,2024-01-06,x6' },
        { file_path: e, raw: '9,2024-01-09,x9' },
      ]);
      expect(await fx.rat.query<{ id: number }>('SELECT id FROM bronze.keep ORDER BY id')).toEqual([1, 2, 4, 5, 8].map((id) => ({ id })));
    });
  });

  describe('rows read as the ingest read them', () => {
    it('a replay renames the columns as the ingest did', async () => {
      const rename = { dt: 'day', qty: 'quantity' };
      await fx.ingestion.ingest(await fx.file('ren-1.csv', 'id,dt,qty\n1,2024-01-01,1\n'), 'bronze.ren', { rename });
      await fx.ingestion.ingest(await fx.file('ren-2.csv', 'id,dt,qty\n2,05/02/2024,2\n3,2024-02-06,3\n'), 'bronze.ren', { rename });
      const columns = Object.keys((await fx.rat.query('SELECT * FROM bronze.ren LIMIT 1'))[0]!);
      expect(await fx.ingestion.replayRejects('bronze.ren', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1, stillRejected: 0 });
      expect(Object.keys((await fx.rat.query('SELECT * FROM bronze.ren LIMIT 1'))[0]!)).toEqual(columns);
      expect(await fx.rat.query('SELECT id, CAST(day AS VARCHAR) AS day, quantity FROM bronze.ren ORDER BY id')).toEqual([
        { id: 1, day: '2024-01-01', quantity: 1 },
        { id: 2, day: '2024-02-05', quantity: 2 },
        { id: 3, day: '2024-02-06', quantity: 3 },
      ]);
    });

    it('a replay drops the columns an ingest with --schema-drift ignore dropped', async () => {
      await fx.ingestion.ingest(await fx.file('ign-1.csv', 'id,day\n1,2024-01-01\n'), 'bronze.ign');
      const report = await fx.ingestion.ingest(await fx.file('ign-2.csv', 'id,day,secret\n2,2024-01-02,s2\n3,31/01/2024,s3\n4,2024-01-04,s4\n'), 'bronze.ign', { schemaDrift: 'ignore' });
      expect(report.files[0]).toMatchObject({ rowsRejected: 1, droppedColumns: ['secret'] });
      expect(await fx.ingestion.replayRejects('bronze.ign', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1 });
      expect(await fx.rat.query('SELECT id, CAST(day AS VARCHAR) AS day FROM bronze.ign ORDER BY id')).toEqual([
        { id: 1, day: '2024-01-01' },
        { id: 2, day: '2024-01-02' },
        { id: 3, day: '2024-01-31' },
        { id: 4, day: '2024-01-04' },
      ]);
      expect(Object.keys((await fx.rat.query('SELECT * FROM bronze.ign LIMIT 1'))[0]!)).not.toContain('secret');
    });
  });

  describe('rows whose data the table no longer holds stay quarantined', () => {
    it('rows quarantined before a later --mode overwrite load', async () => {
      await fx.ingestion.ingest(await fx.file('feb.csv', 'id,day\n1,05/02/2024\n2,2024-02-02\n'), 'bronze.monthly', { mode: 'overwrite', types: { day: 'DATE' } });
      const mar = await fx.file('mar.csv', 'id,day\n1,2024-03-01\n2,2024-03-02\n3,2024-03-03\n');
      await fx.ingestion.ingest(mar, 'bronze.monthly', { mode: 'overwrite' });
      expect(await fx.ingestion.replayRejects('bronze.monthly', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 0, stillRejected: 1, outdated: 1 });
      expect(await fx.rat.query('SELECT id, CAST(day AS VARCHAR) AS day FROM bronze.monthly ORDER BY id')).toEqual([
        { id: 1, day: '2024-03-01' },
        { id: 2, day: '2024-03-02' },
        { id: 3, day: '2024-03-03' },
      ]);
      expect((await fx.rat.query<{ reason: string }>('SELECT reason FROM bronze.monthly__rejects'))[0]!.reason).toMatch(new RegExp(`^a later --mode overwrite load \\(${mar}, 20.*\\) replaced the rows of bronze\\.monthly after this row was quarantined`));
      // The overwrite's own rows are not outdated by it.
      await fx.ingestion.ingest(await fx.file('apr.csv', 'id,day\n4,01/04/2024\n5,2024-04-02\n'), 'bronze.monthly', { mode: 'overwrite' });
      expect(await fx.ingestion.replayRejects('bronze.monthly', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1, outdated: 1 });
      expect(await fx.rat.query<{ id: number }>('SELECT id FROM bronze.monthly ORDER BY id')).toEqual([{ id: 4 }, { id: 5 }]);
    });

    it('rows of a dropped table, not poured into a new table of its name', async () => {
      await fx.ingestion.ingest(await fx.file('gone.csv', 'id,dt,qty\n1,05/02/2024,1\n2,2024-01-02,2\n'), 'bronze.gone', { types: { dt: 'DATE' } });
      await fx.rat.sql('DROP TABLE bronze.gone');
      await fx.ingestion.ingest(await fx.file('new.csv', 'code,label\na,x\n'), 'bronze.gone');
      expect(await fx.ingestion.replayRejects('bronze.gone', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 0, stillRejected: 1, outdated: 1 });
      expect(Object.keys((await fx.rat.query('SELECT * FROM bronze.gone'))[0]!)).toEqual(['code', 'label', '_source_file', '_ingested_at']);
      expect((await fx.rat.query<{ reason: string }>('SELECT reason FROM bronze.gone__rejects'))[0]!.reason).toMatch(/^quarantined for an earlier table named bronze\.gone, dropped since/);
    });
  });

  it('keeps a date of infinity quarantined, replaying the rows of the same file that now fit', async () => {
    const path = await fx.file('inf.csv', 'id,day,qty\n1,2024-01-01,1\n2,infinity,2\n3,2024-01-03,9000000000\n');
    expect((await fx.ingestion.ingest(path, 'bronze.inf', { types: { qty: 'INTEGER' } })).files[0]).toMatchObject({ rowsIngested: 1, rowsRejected: 2 });
    await fx.rat.sql('ALTER TABLE bronze.inf ALTER COLUMN qty TYPE BIGINT');
    const replay = await fx.ingestion.replayRejects('bronze.inf');
    expect(replay).toMatchObject({ replayed: 1, unstorable: 1, stillRejected: 1 });
    expect(await fx.rat.query<{ id: number }>('SELECT id FROM bronze.inf ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }]);
    expect(await fx.rat.query('SELECT line, reason FROM bronze.inf__rejects')).toEqual([{ line: 3, reason: 'column day: infinity cannot be stored as DATE: an Iceberg date or timestamp has no infinity' }]);
  });
});
