import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ParsedRow } from './ingest-options.js';
import { WrittenRecord } from './row-source.js';
import { compareCursorValues, cursorOf, maxCursor } from './source-cursor.js';
import { type IngestFixture, openIngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeEach(async () => {
  fx = await openIngestFixture();
});
afterEach(async () => {
  await fx.close();
});

function orders(from: number, to: number): ParsedRow[] {
  const rows: ParsedRow[] = [];
  for (let id = from; id <= to; id++) rows.push({ id, customer: `c${id % 3}`, amount: id * 1.5, updated_at: new Date(Date.UTC(2024, 0, id)) });
  return rows;
}

describe('ingestRows: rows from a non-file source', () => {
  it('lands the rows with lineage, a registry row under the source name, and types from the source', async () => {
    const report = await fx.ingestion.ingestRows({ name: 'api:shop/orders', rows: orders(1, 5), columnTypes: { amount: 'DECIMAL(10,2)' } }, 'bronze.orders');
    expect(report.status).toBe('success');
    expect(report.rowsIngested).toBe(5);
    const rows = await fx.rat.query(`SELECT id, typeof(amount) AS t, amount, typeof(updated_at) AS ut, _source_file FROM bronze.orders ORDER BY id`);
    expect(rows.map((r) => Number(r.id))).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0]!.t).toBe('DECIMAL(10,2)');
    expect(rows[0]!.ut).toBe('TIMESTAMP');
    expect(rows[0]!._source_file).toBe('api:shop/orders');
    const registry = await fx.ingestion.registry({ target: 'bronze.orders' });
    expect(registry.map((e) => [e.filePath, e.status, e.rowsIngested])).toEqual([['api:shop/orders', 'success', 5]]);
  });

  it('types a double with no fraction beyond 2^53 (1e20) a double, as a JSON file does, and keeps the JSON of a WrittenRecord as written', async () => {
    const rows = [{ id: 1, f: 1 }, { id: 2, f: 1e20 }, new WrittenRecord({ id: 3, g: 2 }, '{"id":3,"g":2.0}')];
    const report = await fx.ingestion.ingestRows({ name: 'db:numbers', rows }, 'bronze.numbers');
    expect(report).toMatchObject({ status: 'success', rowsIngested: 3 });
    expect((await fx.rat.describeTable('bronze.numbers')).schema.fields.slice(0, 3).map((f) => f.type)).toEqual(['long', 'double', 'double']);
    expect(await fx.rat.query('SELECT f, g FROM bronze.numbers ORDER BY id')).toEqual([
      { f: 1, g: null },
      { f: 1e20, g: null },
      { f: null, g: 2 },
    ]);
  });

  it('keeps a cursor with the table: the next run starts after it, an empty run is a skip, a failed run moves nothing', async () => {
    const source = (rows: ParsedRow[]) => ({ name: 'api:shop/orders', rows, cursorField: 'updated_at' });
    expect(await fx.ingestion.sourceCursor('bronze.orders', 'api:shop/orders')).toBeUndefined();
    const first = await fx.ingestion.ingestRows(source(orders(1, 3)), 'bronze.orders');
    expect(first.cursor).toEqual({ field: 'updated_at', value: '2024-01-03T00:00:00.000Z' });
    const cursor = await fx.ingestion.sourceCursor('bronze.orders', 'api:shop/orders');
    expect(cursor).toEqual({ field: 'updated_at', value: '2024-01-03T00:00:00.000Z', kind: 'timestamp', seen: [expect.stringMatching(/^[0-9a-f]{16}$/)], columns: ['id', 'customer', 'amount', 'updated_at'], cells: [expect.stringMatching(/^[0-9a-f]{32}$/)] });

    const empty = await fx.ingestion.ingestRows(source([]), 'bronze.orders');
    expect(empty.status).toBe('skipped');
    expect(empty.reason).toContain('no new rows since updated_at = 2024-01-03T00:00:00.000Z');

    async function* failing(): AsyncGenerator<ParsedRow> {
      yield* orders(4, 5);
      throw new Error('connection reset by peer');
    }
    const failed = await fx.ingestion.ingestRows({ name: 'api:shop/orders', rows: failing(), cursorField: 'updated_at' }, 'bronze.orders');
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('connection reset by peer');
    expect(await fx.ingestion.sourceCursor('bronze.orders', 'api:shop/orders')).toEqual(cursor);
    expect(Number((await fx.rat.query('SELECT count(*) AS n FROM bronze.orders'))[0]!.n)).toBe(3);

    const second = await fx.ingestion.ingestRows(source(orders(4, 6)), 'bronze.orders');
    expect(second.cursor).toEqual({ field: 'updated_at', previous: '2024-01-03T00:00:00.000Z', value: '2024-01-06T00:00:00.000Z' });
    expect(Number((await fx.rat.query('SELECT count(*) AS n FROM bronze.orders'))[0]!.n)).toBe(6);
    expect((await fx.ingestion.registry({ target: 'bronze.orders' })).map((e) => e.status)).toEqual(['success', 'skipped', 'failed', 'success']);
  });

  it('follows the table through a rollback: the cursor goes back with the rows', async () => {
    const source = (rows: ParsedRow[]) => ({ name: 'db:orders', rows, cursorField: 'id' });
    await fx.ingestion.ingestRows(source(orders(1, 3)), 'bronze.orders');
    const [firstSnapshot] = await fx.rat.snapshots('bronze.orders');
    await fx.ingestion.ingestRows(source(orders(4, 6)), 'bronze.orders');
    expect((await fx.ingestion.sourceCursor('bronze.orders', 'db:orders'))?.value).toBe(6);
    await fx.rat.rollback('bronze.orders', firstSnapshot!.snapshotId);
    expect((await fx.ingestion.sourceCursor('bronze.orders', 'db:orders'))?.value).toBe(3);
  });

  it("ends the cursors of other sources when one overwrites the table (their rows are gone), keeps its own, and a rollback brings them back", async () => {
    const source = (rows: ParsedRow[]) => ({ name: 'db:orders', rows, cursorField: 'id' });
    await fx.ingestion.ingestRows(source(orders(1, 3)), 'bronze.orders');
    const [beforeOverwrite] = await fx.rat.snapshots('bronze.orders');
    // A full reload of the same source keeps its cursor: its rows are in the table.
    await fx.ingestion.ingestRows({ name: 'db:orders', rows: orders(1, 3) }, 'bronze.orders', { mode: 'overwrite' });
    expect((await fx.ingestion.sourceCursor('bronze.orders', 'db:orders'))?.value).toBe(3);
    const overwrite = await fx.ingestion.ingestRows({ name: 'db:snapshot', rows: orders(10, 10) }, 'bronze.orders', { mode: 'overwrite' });
    expect(overwrite.status).toBe('success');
    expect(await fx.ingestion.sourceCursor('bronze.orders', 'db:orders')).toBeUndefined();
    const again = await fx.ingestion.ingestRows(source(orders(1, 3)), 'bronze.orders');
    expect([again.status, again.rowsIngested, again.cursor?.value]).toEqual(['success', 3, 3]);
    expect((await fx.rat.query('SELECT id FROM bronze.orders ORDER BY id')).map((r) => Number(r.id))).toEqual([1, 2, 3, 10]);
    await fx.rat.rollback('bronze.orders', beforeOverwrite!.snapshotId);
    expect((await fx.ingestion.sourceCursor('bronze.orders', 'db:orders'))?.value).toBe(3);
  });

  it('starts a source over once its cursor property is unset, even though earlier snapshot summaries hold cursors', async () => {
    const source = (rows: ParsedRow[]) => ({ name: 'db:orders', rows, cursorField: 'id' });
    await fx.ingestion.ingestRows(source(orders(1, 2)), 'bronze.orders');
    await fx.ingestion.ingestRows(source(orders(3, 3)), 'bronze.orders');
    await fx.rat.sql(`ALTER TABLE bronze.orders UNSET TBLPROPERTIES ('rat.cursor.db:orders')`);
    expect(await fx.ingestion.sourceCursor('bronze.orders', 'db:orders')).toBeUndefined();
    await fx.rat.sql('DELETE FROM bronze.orders');
    const again = await fx.ingestion.ingestRows(source(orders(1, 4)), 'bronze.orders');
    expect([again.status, again.rowsIngested, again.cursor?.value]).toEqual(['success', 4, 4]);
  });

  it('quarantines rows whose values do not fit the column type, and still moves the cursor past them', async () => {
    const rows = [
      { id: 1, amount: '12.50' },
      { id: 2, amount: 'n/a' },
      { id: 3, amount: '7' },
    ];
    const report = await fx.ingestion.ingestRows({ name: 'api:shop/payments', rows, cursorField: 'id', columnTypes: { amount: 'DECIMAL(10,2)' } }, 'bronze.payments');
    expect(report.status).toBe('success');
    expect([report.rowsIngested, report.rowsRejected]).toEqual([2, 1]);
    const rejects = await fx.rat.query('SELECT line, raw FROM bronze.payments__rejects');
    expect(Number(rejects[0]!.line)).toBe(2);
    expect(String(rejects[0]!.raw)).toContain('n/a');
    expect(report.cursor?.value).toBe(3);
  });

  it('refuses a record that is not an object, naming the source and record, and commits nothing', async () => {
    const report = await fx.ingestion.ingestRows({ name: 'api:x/y', rows: [{ a: 1 }, 'oops' as unknown as ParsedRow] }, 'bronze.xy');
    expect(report.status).toBe('failed');
    expect(report.error).toBe('api:x/y: record 2 is not an object of field values but string');
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'xy' })).toBe(false);
  });
});

describe('cursor values', () => {
  it('orders numbers and numeric text exactly, timestamps as instants to the last digit, other text as text; kinds without an order do not compare', () => {
    expect(compareCursorValues(9, 10)).toBeLessThan(0);
    expect(compareCursorValues('9007199254740993', '9007199254740992')).toBeGreaterThan(0);
    expect(compareCursorValues('9.5', '10.25')).toBeLessThan(0);
    expect(compareCursorValues('-0.5', '-0.25')).toBeLessThan(0);
    expect(compareCursorValues('10.50', 10.5)).toBe(0);
    expect(compareCursorValues('2024-01-10T00:00:00.000Z', '2024-01-09T23:59:59.999Z')).toBeGreaterThan(0);
    // Go's RFC3339Nano drops a zero fraction: "Z" sorts after "." as text.
    expect(compareCursorValues('2024-05-01T10:00:00.25Z', '2024-05-01T10:00:00Z')).toBeGreaterThan(0);
    expect(compareCursorValues('2024-05-01T10:00:00.000000001Z', '2024-05-01T10:00:00Z')).toBeGreaterThan(0);
    expect(compareCursorValues('2024-05-01T12:00:00.0000001+02:00', '2024-05-01T10:00:00.0000002Z')).toBeLessThan(0);
    expect(compareCursorValues('2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z')).toBe(0);
    expect(compareCursorValues('2024-05-01 10:00:00.5', '2024-05-01T10:00:00')).toBeGreaterThan(0);
    // Years 0..99 are those years (Date.UTC would read 0050 as 1950).
    expect(compareCursorValues('0050-06-01T00:00:00Z', '1949-06-01T00:00:00Z')).toBeLessThan(0);
    expect(compareCursorValues('0001-01-01T00:00:00+01:00', '0000-12-31T23:00:00Z')).toBe(0);
    expect(compareCursorValues('2024-05-01T10:00:00Z', '2024-01-01')).toBeGreaterThan(0);
    expect(compareCursorValues('b', 'a')).toBeGreaterThan(0);
    expect(compareCursorValues('2024-05-02T10:00:00Z', 1714557600)).toBeUndefined();
    expect(compareCursorValues('10', 'ten')).toBeUndefined();
    expect(compareCursorValues('2024-05-01T10:00:00', '2024-05-01T10:00:00Z')).toBeUndefined();
    expect(() => maxCursor(cursorOf('v', 5), cursorOf('v', 'x'), 'api:s/e')).toThrow('api:s/e: cursor field "v" holds "x" (text), which does not compare with 5 (a number)');
    expect(maxCursor(cursorOf('v', 2), cursorOf('v', 10))?.value).toBe(10);
    expect(cursorOf('v', null)).toBeUndefined();
    expect(cursorOf('v', 12n)).toEqual({ field: 'v', value: 12, kind: 'number' });
    expect(cursorOf('v', 2n ** 64n)).toEqual({ field: 'v', value: '18446744073709551616', kind: 'number' });
  });
});
