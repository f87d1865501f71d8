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

describe('quarantine replay', () => {
  it('replays CSV rows after the parser is fixed (a date format)', async () => {
    await fx.ingestion.ingest(await fx.file('orders-1.csv', 'id,ordered\n1,2026-01-05\n'), 'bronze.orders');
    const path = await fx.file('orders-2.csv', 'id,ordered\n2,2026-01-06\n3,07/01/2026\n4,08/01/2026\n5,2026-01-09\n6,2026-01-10\n');
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
  it('leaves in the quarantine a row whose text lost a byte to an encoding error, replaying the others', async () => {
    // UTF-8 throughout (past the sample), but one Latin-1 é: DuckDB quarantines that row with ? for the byte.
    const lines = Array.from({ length: 3000 }, (_, i) => Buffer.from(`${i + 1},café,2026-01-05\n`));
    lines[2500] = Buffer.concat([Buffer.from('2501,caf'), Buffer.from([0xe9]), Buffer.from(',2026-01-05\n')]);
    lines[2600] = Buffer.from('2601,café,05/01/2026\n');
    await fx.ingestion.ingest(await fx.file('encoded-0.csv', 'id,name,day\n0,café,2026-01-04\n'), 'bronze.encoded');
    const report = await fx.ingestion.ingest(await fx.file('encoded.csv', Buffer.concat([Buffer.from('id,name,day\n'), ...lines])), 'bronze.encoded');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2998, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT line FROM bronze.encoded__rejects ORDER BY line')).toEqual([{ line: 2502 }, { line: 2602 }]);
    const replay = await fx.ingestion.replayRejects('bronze.encoded', { dateFormat: '%d/%m/%Y' });
    expect(replay).toMatchObject({ replayed: 1, stillRejected: 1, encodingLost: 1 });
    expect(await fx.rat.query('SELECT line, raw FROM bronze.encoded__rejects')).toEqual([{ line: 2502, raw: expect.stringMatching(/^2501,caf/) }]);
    expect(await count(`SELECT count(*)::INT AS n FROM bronze.encoded WHERE name <> 'café'`)).toBe(0);
    // Replayed again, it stays where it is.
    expect(await fx.ingestion.replayRejects('bronze.encoded')).toMatchObject({ replayed: 0, stillRejected: 1, encodingLost: 1 });
  });
});
