import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

/** CSV files whose values the reader must keep exactly, or quarantine with a reason: never load changed. */
let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

const columns = async (table: string) => Object.fromEntries((await fx.rat.describeTable(table)).schema.fields.map((f) => [f.name, f.type]));

describe('CSV lines before the header', () => {
  it('skips blank lines and comment lines before the header, never loading or quarantining the header as a row', async () => {
    const blank = await fx.ingestion.ingest(await fx.file('blank.csv', '\nname,city\nalice,paris\nbob,rome\n'), 'bronze.lead_blank');
    expect(blank.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 0 });
    expect(await fx.rat.query('SELECT name, city FROM bronze.lead_blank ORDER BY name')).toEqual([
      { name: 'alice', city: 'paris' },
      { name: 'bob', city: 'rome' },
    ]);
    const typed = await fx.ingestion.ingest(await fx.file('blank2.csv', '\n\nid,name\n1,a\n2,b\n'), 'bronze.lead_typed');
    expect(typed.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 0 });
    expect(await columns('bronze.lead_typed')).toMatchObject({ id: 'long', name: 'string' });
    const comment = await fx.ingestion.ingest(await fx.file('comment.csv', '# exported 2024-01-01\nid,name\n1,a\n'), 'bronze.lead_comment');
    expect(comment.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 0 });
    expect(await fx.rat.query('SELECT id, name FROM bronze.lead_comment')).toEqual([{ id: 1, name: 'a' }]);
    // A header that starts with # is a header, not a comment.
    await fx.ingestion.ingest(await fx.file('hash-header.csv', '#id,name\n1,a\n2,b\n'), 'bronze.lead_hash');
    expect(Object.keys(await columns('bronze.lead_hash'))).toContain('name');
    expect(await fx.rat.query('SELECT count(*)::INTEGER AS n FROM bronze.lead_hash')).toEqual([{ n: 2 }]);
  });

  it("takes Excel's sep= line as the delimiter and skips it; a bad row keeps its line number", async () => {
    const report = await fx.ingestion.ingest(await fx.file('excel-sep.csv', 'sep=;\nid;amount\n1;2\n2;x\n3;4\n'), 'bronze.lead_sep', { types: { amount: 'BIGINT' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT id, amount FROM bronze.lead_sep ORDER BY id')).toEqual([
      { id: 1, amount: 2 },
      { id: 3, amount: 4 },
    ]);
    expect(await fx.rat.query('SELECT line, raw FROM bronze.lead_sep__rejects')).toEqual([{ line: 4, raw: '2;x' }]);
  });
});

describe('CSV encoding', () => {
  it('reads a UTF-8 file with one stray Latin-1 byte as UTF-8, quarantining that row instead of garbling the others', async () => {
    const path = await fx.file('mixed.csv', Buffer.concat([Buffer.from('id,txt\n1,café\n2,caf'), Buffer.from([0xe9]), Buffer.from('\n3,naïve\n')]));
    const report = await fx.ingestion.ingest(path, 'bronze.enc_mixed');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT id, txt FROM bronze.enc_mixed ORDER BY id')).toEqual([
      { id: 1, txt: 'café' },
      { id: 3, txt: 'naïve' },
    ]);
    expect(report.files[0]!.sampleRejects[0]).toMatchObject({ line: 3 });
    // Invalid bytes and no valid multi-byte character: Latin-1.
    await fx.ingestion.ingest(await fx.file('latin.csv', Buffer.from('id,txt\n1,caf\xe9\n2,na\xefve\n', 'latin1')), 'bronze.enc_latin');
    expect(await fx.rat.query('SELECT txt FROM bronze.enc_latin ORDER BY id')).toEqual([{ txt: 'café' }, { txt: 'naïve' }]);
  });
});
