import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import { fieldKey } from './avro-decoder.js';
import { readAvroFile, writeAvroFile } from './avro-file.js';
import type { AvroRecordSchema } from './avro-schemas.js';

const schema: AvroRecordSchema = {
  type: 'record',
  name: 'row',
  fields: [
    { name: 'id', type: 'long', 'field-id': 1 },
    { name: 'text', type: 'string', 'field-id': 2 },
    { name: 'maybe', type: ['null', 'bytes'], default: null, 'field-id': 3 },
  ],
};

const dir = mkdtempSync(join(tmpdir(), 'rat-avro-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** avsc's own file decoder: an independent reader of the whole container. */
async function readWithAvsc(bytes: Uint8Array): Promise<{ header: Record<string, unknown>; records: unknown[] }> {
  const path = join(dir, `f${Math.random().toString(36).slice(2)}.avro`);
  writeFileSync(path, bytes);
  const header = avro.extractFileHeader(path, { decode: false }) as { meta: Record<string, Buffer> };
  const records: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    avro.createFileDecoder(path).on('data', (record: unknown) => records.push(record)).on('end', resolve).on('error', reject);
  });
  return { header: Object.fromEntries(Object.entries(header.meta).map(([key, value]) => [key, value.toString('utf8')])), records };
}

describe('writeAvroFile / readAvroFile', () => {
  const rows = Array.from({ length: 40_000 }, (_, index) => ({
    id: BigInt(index) * 100_000_000_000_007n, // beyond 2^53 from index 91
    text: `row ${index} ${'x'.repeat(index % 50)}`,
    maybe: index % 3 === 0 ? null : Uint8Array.of(index % 256),
  }));

  it('splits many records into several blocks and reads them back in order, with either codec', () => {
    for (const codec of ['null', 'deflate'] as const) {
      const bytes = writeAvroFile(schema, rows, { metadata: { note: 'hé' }, codec });
      const sync = Buffer.from(bytes.subarray(bytes.length - 16));
      let markers = 0;
      for (let at = Buffer.from(bytes).indexOf(sync); at >= 0; at = Buffer.from(bytes).indexOf(sync, at + 1)) markers += 1;
      expect(markers, 'header + at least two blocks').toBeGreaterThanOrEqual(3);
      const file = readAvroFile(Buffer.from(bytes), 'mem://rows.avro');
      expect(file.records).toHaveLength(rows.length);
      expect(file.metadata.get('note')).toBe('hé');
      expect(file.metadata.get('avro.codec')).toBe(codec);
      expect(JSON.parse(file.metadata.get('avro.schema') ?? '')).toEqual(schema);
      expect(file.schema).toEqual(schema);
      const last = file.records[rows.length - 1] as Record<string, unknown>;
      expect(last[fieldKey(1)]).toBe(39_999n * 100_000_000_000_007n);
      expect(last[fieldKey(2)]).toBe(rows[rows.length - 1]?.text);
      expect(last[fieldKey(3)]).toBeNull(); // 39999 % 3 === 0
      expect((file.records[39_998] as Record<string, unknown>)[fieldKey(3)]).toEqual(Uint8Array.of(39_998 % 256));
      // Longs within 2^53 decode as numbers.
      expect((file.records[3] as Record<string, unknown>)[fieldKey(1)]).toBe(300_000_000_000_021);
    }
  });

  it('writes a container avsc reads, header schema with field ids included', async () => {
    const some = rows.slice(0, 100).map((row) => ({ ...row, id: row.id % 1000n }));
    const { header, records } = await readWithAvsc(writeAvroFile(schema, some, { metadata: { 'format-version': '2' } }));
    expect(JSON.parse(String(header['avro.schema']))).toEqual(schema);
    expect(header['format-version']).toBe('2');
    expect(records).toHaveLength(100);
    expect(records[1]).toMatchObject({ id: 7, text: 'row 1 x' });
  });

  it('writes an empty file as a header without blocks', () => {
    const bytes = writeAvroFile(schema, [], { metadata: {} });
    expect(readAvroFile(bytes, 'mem://empty.avro').records).toEqual([]);
  });

  it('names the record and field of a value that does not fit the schema', () => {
    expect(() => writeAvroFile(schema, [{ id: 1n, text: 'ok', maybe: null }, { id: 1.5, text: 'bad', maybe: null }], { metadata: {} })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'row 1 cannot be written as Avro: invalid value at id=1.5' }),
    );
    expect(() => writeAvroFile(schema, [{ id: 2n ** 64n, text: 'x', maybe: null }], { metadata: {} })).toThrow(/id=18446744073709551616n/);
  });
});
