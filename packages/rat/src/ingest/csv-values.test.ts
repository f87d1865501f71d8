import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
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

/** The quarantined rows of a table as [line, reason, raw], by line. */
const rejectRows = async (table: string) => (await fx.rat.query<{ line: number; reason: string; raw: string }>(`SELECT line, reason, raw FROM ${table}__rejects ORDER BY line`)).map((r) => [r.line, r.reason, r.raw]);
/** The quarantine's reason for an infinite date or timestamp. */
const infinityReason = (column: string, value: string, type: string) => `column ${column}: ${value} cannot be stored as ${type}: an Iceberg date or timestamp has no infinity`;
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

  it('skips comment lines before the header when a comment line further down makes DuckDB take # for a comment character', async () => {
    const text = await fx.ingestion.ingest(await fx.file('comment-body.csv', '# exported by tool\ncity,country\nParis,FR\n# section 2\nLyon,FR\n'), 'bronze.lead_comment_body');
    expect(text.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    // Not the header line: the table's columns are named by it.
    expect(await fx.rat.query("SELECT city || ',' || country AS row FROM bronze.lead_comment_body ORDER BY city")).toEqual([{ row: 'Lyon,FR' }, { row: 'Paris,FR' }]);
    // The comment in the body is a ragged row, kept in the quarantine: not the header.
    expect(await rejectRows('bronze.lead_comment_body')).toEqual([[4, 'expected 2 fields, found 1', '# section 2']]);
    const typed = await fx.ingestion.ingest(await fx.file('comment-body-typed.csv', '# exported by tool\n# on 2024-01-01\nid,name\n1,a\n# mid\n2,b\n'), 'bronze.lead_comment_typed');
    expect(typed.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await columns('bronze.lead_comment_typed')).toMatchObject({ id: 'long', name: 'string' });
    expect((await rejectRows('bronze.lead_comment_typed')).map((r) => [r[0], r[2]])).toEqual([[5, '# mid']]);
  });

  it("takes Excel's sep= line as the delimiter and skips it; a bad row keeps its line number", async () => {
    const report = await fx.ingestion.ingest(await fx.file('excel-sep.csv', 'sep=;\nid;amount\n1;2\n2;x\n3;4\n'), 'bronze.lead_sep', { types: { amount: 'BIGINT' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT id, amount FROM bronze.lead_sep ORDER BY id')).toEqual([
      { id: 1, amount: 2 },
      { id: 3, amount: 4 },
    ]);
    expect(await rejectRows('bronze.lead_sep')).toEqual([[4, 'column amount: cannot convert x to BIGINT', '2;x']]);
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

  it('reads UTF-16 big-endian by its byte-order mark, detected or given as utf-16 or utf-16be, plain or gzip', async () => {
    const text = '\uFEFFid,name\n1,café\n2,€uro\n';
    const bigEndian = Buffer.from(text, 'utf16le').swap16();
    for (const [name, content, encoding] of [
      ['u16be.csv', bigEndian, undefined],
      ['u16be-given.csv', bigEndian, 'utf-16'],
      ['u16be-named.csv', bigEndian, 'UTF-16BE'],
      ['u16be.csv.gz', gzipSync(bigEndian), undefined],
    ] as const) {
      const table = `bronze.enc_${name.replaceAll(/[.-]/g, '_')}`;
      const report = await fx.ingestion.ingest(await fx.file(name, content), table, encoding ? { encoding } : {});
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 0 });
      expect((await fx.rat.query<{ name: string }>(`SELECT name FROM ${table} ORDER BY id`)).map((r) => r.name), name).toEqual(['café', '€uro']);
    }
  });

  it('reads Windows-1252 (bytes 0x80 to 0x9F: €, smart quotes) in the first bytes or past them, and says what to do when the file is forced to Latin-1', async () => {
    const cp1252 = (text: string) => Buffer.from(text.replaceAll('€', '\x80').replaceAll('“', '\x93').replaceAll('”', '\x94'), 'latin1');
    const early = cp1252('id,name,price\n1,café,5 €\n2,“quoted”,3\n');
    const report = await fx.ingestion.ingest(await fx.file('cp1252.csv', early), 'bronze.enc_cp1252');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 0 });
    expect(await fx.rat.query('SELECT name, price FROM bronze.enc_cp1252 ORDER BY id')).toEqual([
      { name: 'café', price: '5 €' },
      { name: '“quoted”', price: '3' },
    ]);
    // The first 64 KiB look Latin-1 (é, no byte from 0x80 to 0x9F): DuckDB's Latin-1 reader refuses the € further down.
    const late = cp1252(`id,name\n${Array.from({ length: 5000 }, (_, i) => `${i + 3},café ${i}`).join('\n')}\n5003,€ late\n`);
    const lateReport = await fx.ingestion.ingest(await fx.file('cp1252-late.csv', late), 'bronze.enc_cp1252_late');
    expect(lateReport.files[0], lateReport.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 5001, rowsRejected: 0 });
    expect(await fx.rat.query("SELECT name FROM bronze.enc_cp1252_late WHERE id IN (3, 5003) ORDER BY id")).toEqual([{ name: 'café 0' }, { name: '€ late' }]);
    expect((await fx.ingestion.ingest(await fx.file('cp1252-named.csv', early), 'bronze.enc_cp1252_named', { encoding: 'cp1252' })).files[0]).toMatchObject({ status: 'success', rowsIngested: 2 });
    const forced = await fx.ingestion.ingest(await fx.file('cp1252-forced.csv', early), 'bronze.enc_cp1252_forced', { encoding: 'latin-1' });
    expect(forced.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_FILE_INVALID' });
    expect(forced.files[0]!.error).toMatch(/cp1252-forced\.csv: the file is not latin-1 text.*--encoding windows-1252/);
  });

  it('refuses an unknown encoding before it reads any file, naming the value and the encodings it takes', async () => {
    const path = await fx.file('enc-unknown.csv', 'id,name\n1,a\n');
    await expect(fx.ingestion.ingest(path, 'bronze.enc_unknown', { encoding: 'cp-1252' })).rejects.toThrow(/unknown encoding "cp-1252": use utf-8, utf-16, utf-16le, utf-16be, latin-1, windows-1252, cp1252/);
    expect(await fx.rat.query("SELECT count(*)::INT AS n FROM bronze._file_registry WHERE target_table = 'bronze.enc_unknown'")).toEqual([{ n: 0 }]);
  });

  it('refuses an unknown compression or JSON format before it reads any file, naming the value and those it takes', async () => {
    const path = await fx.file('opt-unknown.csv', 'id,name\n1,a\n');
    await expect(fx.ingestion.ingest(path, 'bronze.opt_unknown', { compression: 'gz' as never })).rejects.toThrow('unknown compression "gz": use auto, none, gzip, zstd');
    // DuckDB's JSON reader alone would say `format must be one of ['nd', 'array', ...]` per JSON file; a CSV file never saw it.
    await expect(fx.ingestion.ingest(path, 'bronze.opt_unknown', { jsonFormat: 'ndjson' as never })).rejects.toThrow('unknown JSON format "ndjson": use auto, array, newline_delimited');
    expect(await fx.rat.query("SELECT count(*)::INT AS n FROM bronze._file_registry WHERE target_table = 'bronze.opt_unknown'")).toEqual([{ n: 0 }]);
  });

  it("keeps a quarantined line as the file holds it: a byte that is not UTF-8 as its Latin-1 character, not DuckDB's ?, and a line past 10,000 characters whole", async () => {
    const bytes = Buffer.concat([Buffer.from('id,txt\n1,café\n"2,x\n y",caf'), Buffer.from([0xe9, 0x80]), Buffer.from(' ok\n3,naïve\n')]);
    for (const [name, content] of [
      ['raw-bytes.csv', bytes],
      ['raw-bytes.csv.gz', gzipSync(bytes)],
    ] as const) {
      const table = `bronze.${name.replaceAll(/[.-]/g, '_')}`;
      const report = await fx.ingestion.ingest(await fx.file(name, content), table);
      expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
      expect(await rejectRows(table)).toEqual([[3, expect.stringContaining('invalid unicode: bytes that are not UTF-8 (the file is read as UTF-8), kept in raw as their Latin-1 characters'), '"2,x\n y",caf\u00e9\u0080 ok']]);
    }
    // A ragged line of 20,009 characters (DuckDB keeps 10,000), among lines DuckDB reads: its raw is the whole line.
    const long = `2,${'x'.repeat(20_000)},extra`;
    const report = await fx.ingestion.ingest(await fx.file('raw-long.csv', `id,txt\n1,a\n${long}\n3,b\n`), 'bronze.raw_long');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await rejectRows('bronze.raw_long')).toEqual([[3, expect.stringContaining('expected 2 fields, found 3'), long]]);
    // DuckDB cuts at 10,000 bytes: 6,000 two-byte characters are cut too. A quote inside an unquoted field (5"6) opens nothing.
    const wide = `2,7"8,${'é'.repeat(6000)},extra`;
    const cut = await fx.ingestion.ingest(await fx.file('raw-wide.csv', `id,v,w\n1,5"6,"a\nb"\n${wide}\n3,ok,fine\n`), 'bronze.raw_wide');
    expect(cut.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await rejectRows('bronze.raw_wide')).toEqual([[3, expect.stringContaining('expected 3 fields, found 4'), wide]]);
  });
});

describe('CSV line breaks', () => {
  it('reads a file whose lines end some with CR LF and some with LF (DuckDB refuses it), in the sample or past it, plain or gzip; a CR LF inside quotes stays in its value', async () => {
    const small = 'id,txt\n1,a\n2,"two\r\nlines"\r\n3,b\r\n4,x,extra\n5,c\n';
    const late = `id,txt\n${Array.from({ length: 30_000 }, (_, i) => `${i + 10},v`).join('\n')}\n1,a\r\n2,"two\r\nlines"\r\n3,b\n`;
    for (const [name, content, rows] of [
      ['breaks.csv', Buffer.from(small), 4],
      ['breaks.csv.gz', gzipSync(small), 4],
      ['breaks-late.csv', Buffer.from(late), 30_003],
    ] as const) {
      const table = `bronze.${name.replaceAll(/[.-]/g, '_')}`;
      const path = await fx.file(name, content);
      const report = await fx.ingestion.ingest(path, table);
      expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: rows });
      expect(await fx.rat.query(`SELECT id::INT AS id, txt FROM ${table} WHERE id < 10 ORDER BY id`)).toEqual([
        { id: 1, txt: 'a' },
        { id: 2, txt: 'two\r\nlines' },
        { id: 3, txt: 'b' },
        ...(rows === 4 ? [{ id: 5, txt: 'c' }] : []),
      ]);
      // The registry and the lineage name the file as given, its hash that of its bytes.
      expect(await fx.rat.query(`SELECT DISTINCT _source_file AS f FROM ${table}`)).toEqual([{ f: path }]);
      if (rows === 4) expect(await rejectRows(table)).toEqual([[5, expect.stringContaining('expected 2 fields, found 3'), '4,x,extra']]);
    }
  });

  it('reads mixed line breaks in a file that quotes every value, where DuckDB reports a closing quote before the other line break as never closed', async () => {
    for (const [name, text] of [
      ['breaks-quoted.csv', 'id,t\r\n0,"a"\r\n1,"b"\r\n2,"c"\n3,"d"\n'],
      ['breaks-quoted-lf.csv', '"id","t"\n"0","a"\n"1","b"\r\n"2","c"\r\n"3","d"\n'],
    ] as const) {
      const table = `bronze.${name.replaceAll(/[.-]/g, '_')}`;
      const report = await fx.ingestion.ingest(await fx.file(name, text), table);
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 4, rowsRejected: 0 });
      expect((await fx.rat.query<{ t: string }>(`SELECT t FROM ${table} ORDER BY id`)).map((r) => r.t), name).toEqual(['a', 'b', 'c', 'd']);
    }
    // A quote really left open is still refused, named at its line of the file.
    const open = await fx.ingestion.ingest(await fx.file('breaks-open.csv', 'id,t\r\n0,"a"\r\n1,"b\r\n2,"c"\n3,d\n4,e\n'), 'bronze.breaks_open');
    expect(open.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_FILE_INVALID' });
    expect(open.files[0]!.error).toMatch(/breaks-open\.csv \(line 3\): unclosed quote/);
  });

  it('fails a file whose lone CR line breaks (old Mac) mix with LF, saying what to look for, the table unchanged', async () => {
    const report = await fx.ingestion.ingest(await fx.file('breaks-cr.csv', 'id,v\r1,a\r2,b\n3,c\n'), 'bronze.breaks_cr');
    expect(report.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_FILE_INVALID' });
    expect(report.files[0]!.error).toMatch(/breaks-cr\.csv: DuckDB's CSV reader cannot follow the file .*a CR alone among LFs.*--quote/);
    expect(await fx.rat.query(`SELECT count(*)::INT AS n FROM bronze._file_registry WHERE target_table = 'bronze.breaks_cr' AND status = 'failed'`)).toEqual([{ n: 1 }]);
  });

  it('keeps line and raw of a row quarantined after the read behind doubled quotes, spaces before a quote and escaped escapes; mixed line breaks keep a CR LF in such values', async () => {
    const cases = [
      ['walk-doubled.csv', 'id,txt,n\n1,"he said ""hi""\nnext line",2\n2,plain,1.5\n3,x,3\n', {}, [3, '2,plain,1.5']],
      ['walk-space.csv', 'id,txt,n\n1, "a\nb",2\n2,plain,1.5\n', {}, [3, '2,plain,1.5']],
      ['walk-space-row.csv', 'id,txt,n\n1, "a,b",1.5\n2,plain,3\n', {}, [2, '1, "a,b",1.5']],
      ['walk-escape.csv', 'id,txt,n\n1,"C:\\\\",1.5\n2,"a\\"b",3\n', { escape: '\\' }, [2, '1,"C:\\\\",1.5']],
    ] as const;
    for (const [name, text, options, reject] of cases) {
      const table = `bronze.${name.replaceAll(/[.-]/g, '_')}`;
      const report = await fx.ingestion.ingest(await fx.file(name, text), table, { ...options, types: { n: 'INTEGER' } });
      expect(report.files[0], name).toMatchObject({ status: 'success', rowsRejected: 1 });
      expect((await rejectRows(table)).map(([line, , raw]) => [line, raw]), name).toEqual([reject]);
    }
    for (const [name, text, hex] of [
      ['breaks-doubled.csv', 'id,txt\r\n1,"a ""q""\r\nb"\r\n2,x\n3,y\n', '61202271220D0A62'],
      ['breaks-space.csv', 'id,txt\r\n1, "a q\r\nb"\r\n2,x\n3,y\n', '6120710D0A62'],
    ] as const) {
      const table = `bronze.${name.replaceAll(/[.-]/g, '_')}`;
      expect((await fx.ingestion.ingest(await fx.file(name, text), table)).files[0]).toMatchObject({ status: 'success', rowsIngested: 3 });
      expect(await fx.rat.query(`SELECT hex(txt) AS h FROM ${table} WHERE id = 1`)).toEqual([{ h: hex }]);
    }
  });

  it("follows the file's own quoting when it reads mixed line breaks: a sniffed ' quote, a \\ escape, a \" inside an unquoted value", async () => {
    const cases = [
      ['breaks-single.csv', "id,v,w\r\n1,'a\r\nb',x\r\n2,'c,d',y\n3,'e',z\n", [['1', 'a\r\nb'], ['2', 'c,d'], ['3', 'e']]],
      ['breaks-escape.csv', 'id,v\r\n1,"a\\"b\r\nc"\r\n2,x\n3,y\n', [['1', 'a"b\r\nc'], ['2', 'x'], ['3', 'y']]],
      ['breaks-inch.csv', 'id,v\r\n1,5"6\r\n2,x\n3,y\n', [['1', '5"6'], ['2', 'x'], ['3', 'y']]],
    ] as const;
    for (const [name, text, rows] of cases) {
      const table = `bronze.${name.replaceAll(/[.-]/g, '_')}`;
      const report = await fx.ingestion.ingest(await fx.file(name, text), table);
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 3 });
      expect((await fx.rat.query<{ id: string; v: string }>(`SELECT CAST(id AS VARCHAR) AS id, v FROM ${table} ORDER BY id`)).map((r) => [r.id, r.v])).toEqual(rows);
    }
  });
});

describe('CSV numbers', () => {
  it('keeps every digit of integers beyond 64 bits and of numbers a DOUBLE cannot hold, as decimals', async () => {
    await fx.ingestion.ingest(await fx.file('big.csv', 'id,big,u64,long,ratio\n1,123,1,1.5,0.25\n2,99999999999999999999999,18446744073709551615,123456789012345678.123456789,0.30000000000000004\n'), 'bronze.num_big');
    // ratio's 0.30000000000000004 is a DOUBLE's own shortest form: it stays a double.
    expect(await columns('bronze.num_big')).toMatchObject({ id: 'long', big: 'decimal(38, 0)', u64: 'decimal(38, 0)', long: 'decimal(38, 9)', ratio: 'double' });
    expect(await fx.rat.query('SELECT CAST(big AS VARCHAR) AS big, CAST(u64 AS VARCHAR) AS u64, CAST(long AS VARCHAR) AS long FROM bronze.num_big WHERE id = 2')).toEqual([
      { big: '99999999999999999999999', u64: '18446744073709551615', long: '123456789012345678.123456789' },
    ]);
    // Past the first 64 KiB, where DuckDB judges the sniffed rows: the same.
    const rows = Array.from({ length: 9000 }, (_, i) => `${i},${i}.5`).join('\n');
    await fx.ingestion.ingest(await fx.file('big-late.csv', `id,v\n${rows}\n9000,123456789012345678.25\n`), 'bronze.num_late');
    expect(await columns('bronze.num_late')).toMatchObject({ v: 'decimal(38, 2)' });
    expect(await fx.rat.query('SELECT CAST(v AS VARCHAR) AS v FROM bronze.num_late WHERE id IN (1, 9000) ORDER BY id')).toEqual([{ v: '1.50' }, { v: '123456789012345678.25' }]);
    // More digits than a DECIMAL(38) holds: text, every digit kept.
    await fx.ingestion.ingest(await fx.file('huge.csv', `id,huge\n1,1\n2,${'9'.repeat(45)}\n`), 'bronze.num_huge');
    expect(await columns('bronze.num_huge')).toMatchObject({ huge: 'string' });
    expect(await fx.rat.query('SELECT huge FROM bronze.num_huge WHERE id = 2')).toEqual([{ huge: '9'.repeat(45) }]);
  });

  it('quarantines decimal values with more fraction digits than the column scale instead of rounding them, and widens the precision when a value needs it', async () => {
    const typed = await fx.ingestion.ingest(await fx.file('dec.csv', 'id,amt\n1,1.005\n2,1.999\n3,2.50\n4,7\n'), 'bronze.num_dec', { types: { amt: 'DECIMAL(12,2)' } });
    expect(typed.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT id, CAST(amt AS VARCHAR) AS amt FROM bronze.num_dec ORDER BY id')).toEqual([
      { id: 3, amt: '2.50' },
      { id: 4, amt: '7.00' },
    ]);
    expect(await rejectRows('bronze.num_dec')).toEqual([
      [2, 'column amt: cannot convert 1.005 to DECIMAL(12,2)', '1,1.005'],
      [3, 'column amt: cannot convert 1.999 to DECIMAL(12,2)', '2,1.999'],
    ]);
    // Appending to the DECIMAL(12,2) table: a fraction too long is quarantined, a value too large widens the column.
    const append = await fx.ingestion.ingest(await fx.file('dec2.csv', 'id,amt\n5,1.255\n6,99999999999.99\n7,3.1\n'), 'bronze.num_dec');
    expect(append.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(append.files[0]!.schemaChanges.join()).toMatch(/widened amt decimal\(12, 2\) -> decimal\(38, 2\)/);
    expect(await fx.rat.query('SELECT id, CAST(amt AS VARCHAR) AS amt FROM bronze.num_dec WHERE id > 4 ORDER BY id')).toEqual([
      { id: 6, amt: '99999999999.99' },
      { id: 7, amt: '3.10' },
    ]);
    // Written with a decimal comma.
    const comma = await fx.ingestion.ingest(await fx.file('dec3.csv', 'id;amt\n8;1,25\n9;1,255\n'), 'bronze.num_dec', { decimalSeparator: ',' });
    expect(comma.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT CAST(amt AS VARCHAR) AS amt FROM bronze.num_dec WHERE id = 8')).toEqual([{ amt: '1.25' }]);
  });

  it('quarantines integers not written plainly (a leading zero, 0x, _) read into an integer column instead of dropping their zeros; plain ones load', async () => {
    const plain = 'column zip: 01234 is not written as a plain integer (a leading zero, 0x or _), which BIGINT would not keep';
    await fx.ingestion.ingest(await fx.file('zip1.csv', 'id,zip\n1,12345\n2,23456\n'), 'bronze.num_zip');
    expect(await columns('bronze.num_zip')).toMatchObject({ zip: 'long' });
    // On its own this file's zip is text; into the table's BIGINT column every value is checked, wherever it is.
    const rows = Array.from({ length: 9000 }, (_, i) => `${i + 10},${10000 + i}`).join('\n');
    const report = await fx.ingestion.ingest(await fx.file('zip2.csv', `id,zip\n3,00501\n${rows}\n4,01234\n5,-0\n6,0\n7,1e3\n`), 'bronze.num_zip');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 9003, rowsRejected: 2 });
    expect(await rejectRows('bronze.num_zip')).toEqual([
      [2, plain.replace('01234', '00501'), '3,00501'],
      [9003, plain, '4,01234'],
    ]);
    expect(await fx.rat.query('SELECT id, zip FROM bronze.num_zip WHERE id IN (5, 6, 7) ORDER BY id')).toEqual([
      { id: 5, zip: 0 },
      { id: 6, zip: 0 },
      { id: 7, zip: 1000 },
    ]);
    // A column given as BIGINT: signed, hexadecimal, binary and with separators, in the file's first bytes.
    const given = await fx.ingestion.ingest(await fx.file('zip3.csv', 'id,n\n1,5\n2,-007\n3,0x1F\n4,0b11\n5,1_000\n6,+8\n'), 'bronze.num_given', { types: { n: 'BIGINT' } });
    expect(given.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 4 });
    expect((await rejectRows('bronze.num_given')).map((r) => r[2])).toEqual(['2,-007', '3,0x1F', '4,0b11', '5,1_000']);
  });

  it('quarantines numbers a double cannot hold in a double column: beyond its range, or past 2^53 with whole units lost; the infinity tokens, NaN and fractions load', async () => {
    const report = await fx.ingestion.ingest(await fx.file('dbl.csv', 'id,amt\n1,1.5\n2,1e400\n3,1e-400\n4,-1e309\n5,inf\n6,NaN\n7,0.1\n8,0e5\n9,1e20\n10,-0.0\n'), 'bronze.num_dbl');
    expect(await columns('bronze.num_dbl')).toMatchObject({ amt: 'double' });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 7, rowsRejected: 3 });
    expect(await rejectRows('bronze.num_dbl')).toEqual([
      [3, 'column amt: 1e400 is beyond the range of a double', '2,1e400'],
      [4, 'column amt: 1e-400 is beyond the range of a double', '3,1e-400'],
      [5, 'column amt: -1e309 is beyond the range of a double', '4,-1e309'],
    ]);
    // Ids 5 to 10, in order.
    expect(await fx.rat.query('SELECT list(CAST(amt AS VARCHAR) ORDER BY id) AS amts FROM bronze.num_dbl WHERE id > 4')).toEqual([{ amts: ['inf', 'nan', '0.1', '0.0', '1e+20', '-0.0'] }]);
    // Past the sample and the first 64 KiB, on the read that streams the file: the same.
    const rows = Array.from({ length: 9000 }, (_, i) => `${i},${i}.25`).join('\n');
    const late = await fx.ingestion.ingest(await fx.file('dbl-late.csv', `id,amt\n${rows}\n9000,12345678901234567.5\n9001,1e400\n9002,123456789012.5\n`), 'bronze.num_dbl_late', { sampleSize: 1000 });
    expect(late.files[0]).toMatchObject({ status: 'success', rowsIngested: 9001, rowsRejected: 2 });
    expect(await rejectRows('bronze.num_dbl_late')).toEqual([
      [9002, 'column amt: 12345678901234567.5 has more digits than a double holds', '9000,12345678901234567.5'],
      [9003, 'column amt: 1e400 is beyond the range of a double', '9001,1e400'],
    ]);
    // Into a table's double column: 2^53 + 1 would be 2^53.
    const into = await fx.ingestion.ingest(await fx.file('dbl-into.csv', 'id,amt\n11,9007199254740993\n12,9007199254740992\n13,2.5\n'), 'bronze.num_dbl');
    expect(into.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await rejectRows('bronze.num_dbl')).toContainEqual([2, 'column amt: 9007199254740993 has more digits than a double holds', '11,9007199254740993']);
    expect(await fx.rat.query('SELECT id, CAST(amt AS VARCHAR) AS amt FROM bronze.num_dbl WHERE id > 10 ORDER BY id')).toEqual([
      { id: 12, amt: '9007199254740992.0' },
      { id: 13, amt: '2.5' },
    ]);
  });
});

describe('CSV timestamps', () => {
  it('quarantines one offset among many plain timestamps anywhere in the sniffed sample, not only in the first 64 KiB, and anywhere with --sample-size -1', async () => {
    const rows = (n: number, offsetAt: number) => Array.from({ length: n }, (_, i) => `${i},2024-01-01 10:00:00${i === offsetAt ? '+05:00' : ''}`).join('\n');
    const sampled = await fx.ingestion.ingest(await fx.file('ts-one.csv', `id,ts\n${rows(9000, 8000)}\n`), 'bronze.ts_one');
    expect(sampled.files[0]).toMatchObject({ status: 'success', rowsIngested: 8999, rowsRejected: 1 });
    expect(await rejectRows('bronze.ts_one')).toEqual([[8002, 'column ts: 2024-01-01 10:00:00+05:00 has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)', '8000,2024-01-01 10:00:00+05:00']]);
    // Past the default sample of 20,480 rows: -1 samples the whole file.
    const past = await fx.ingestion.ingest(await fx.file('ts-past.csv', `id,ts\n${rows(25_000, 24_000)}\n`), 'bronze.ts_past', { sampleSize: -1 });
    expect(past.files[0]).toMatchObject({ status: 'success', rowsIngested: 24_999, rowsRejected: 1 });
    expect(await columns('bronze.ts_past')).toMatchObject({ ts: 'timestamp' });
  });

  it('quarantines a timestamp with a UTC offset read into a timestamp column without a time zone, instead of dropping the offset', async () => {
    await fx.ingestion.ingest(await fx.file('ts1.csv', 'id,ts\n1,2024-01-01 10:00:00\n'), 'bronze.ts_plain');
    expect(await columns('bronze.ts_plain')).toMatchObject({ ts: 'timestamp' });
    const report = await fx.ingestion.ingest(await fx.file('ts2.csv', 'id,ts\n2,2024-01-01 10:00:00+05:00\n3,2024-01-01 11:00:00Z\n4,2024-01-01 12:00:00\n'), 'bronze.ts_plain');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT id, CAST(ts AS VARCHAR) AS ts FROM bronze.ts_plain ORDER BY id')).toEqual([
      { id: 1, ts: '2024-01-01 10:00:00' },
      { id: 4, ts: '2024-01-01 12:00:00' },
    ]);
    expect(await rejectRows('bronze.ts_plain')).toEqual([
      [2, 'column ts: 2024-01-01 10:00:00+05:00 has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)', '2,2024-01-01 10:00:00+05:00'],
      [3, 'column ts: 2024-01-01 11:00:00Z has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)', '3,2024-01-01 11:00:00Z'],
    ]);
  });

  it('quarantines a timestamp with an offset read as a timestamp column the sniffer took for text (a month 13 beside it), instead of dropping the offset', async () => {
    const text = 'id,t\n1,2024-01-01 10:00:00+02\n2,2024-01-01 10:00:00.5\n3,2024-01-01\n4,2024-13-01 10:00:00\n5,2024-01-02 11:00:00\n';
    const report = await fx.ingestion.ingest(await fx.file('ts-text.csv', text), 'bronze.ts_text', { types: { t: 'TIMESTAMP' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT id::INT AS id, CAST(t AS VARCHAR) AS t FROM bronze.ts_text ORDER BY id')).toEqual([
      { id: 2, t: '2024-01-01 10:00:00.5' },
      { id: 3, t: '2024-01-01 00:00:00' },
      { id: 5, t: '2024-01-02 11:00:00' },
    ]);
    expect(await rejectRows('bronze.ts_text')).toEqual([
      [2, 'column t: 2024-01-01 10:00:00+02 has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)', '1,2024-01-01 10:00:00+02'],
      [5, 'column t: cannot convert 2024-13-01 10:00:00 to TIMESTAMP', '4,2024-13-01 10:00:00'],
    ]);
  });

  it('checks every spelling of a timestamp without a zone, the last line of a file without a final line break, and a record after a quoted line break', async () => {
    for (const type of ['DATETIME', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'TIMESTAMP WITHOUT TIME ZONE']) {
      const table = `bronze.ts_spelled_${type.replaceAll(' ', '_').toLowerCase()}`;
      const report = await fx.ingestion.ingest(await fx.file(`${table}.csv`, 'id,ts\n1,2024-01-01 10:00:00\n2,2024-01-01 10:00:00+05:00\n'), table, { types: { ts: type } });
      expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    }
    // A timestamp format applies to every spelling (DuckDB's reader applies one to TIMESTAMP only: as TIMESTAMP_NS each value failed).
    for (const type of ['TIMESTAMP_NS', 'DATETIME']) {
      const table = `bronze.ts_format_${type.toLowerCase()}`;
      const text = 'ts,n\n01/02/2024 10:30,1\ninfinity,2\n03/02/2024 11:00,3\n';
      const report = await fx.ingestion.ingest(await fx.file(`${table}.csv`, text), table, { types: { ts: type }, timestampFormat: '%d/%m/%Y %H:%M' });
      expect(report.files[0], type).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
      expect(await fx.rat.query(`SELECT n::INT AS n, CAST(ts AS VARCHAR) AS ts FROM ${table} ORDER BY n`)).toEqual([
        { n: 1, ts: '2024-02-01 10:30:00' },
        { n: 3, ts: '2024-02-03 11:00:00' },
      ]);
    }
    const last = await fx.ingestion.ingest(await fx.file('ts-last.csv', 'id,ts\n1,2024-01-01 10:00:00\n2,soon\n3,2024-01-01 10:00:00+05:00'), 'bronze.ts_last', { types: { ts: 'TIMESTAMP' } });
    expect(last.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    const quoted = await fx.ingestion.ingest(await fx.file('ts-quoted.csv', 'id,note,ts\n1,x,2024-01-01 10:00:00\n2,"a\nb",2024-01-01 10:00:00+05:00\n3,y,soon\n'), 'bronze.ts_quoted', { types: { ts: 'TIMESTAMP' } });
    expect(quoted.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect((await rejectRows('bronze.ts_quoted'))[0]).toEqual([3, expect.stringContaining('has a time zone'), '2,"a\nb",2024-01-01 10:00:00+05:00']);
  });

  it('quarantines infinity and -infinity in date and timestamp columns (a PostgreSQL export holds them), in the sniffed sample or past it, instead of loading made-up dates', async () => {
    // ISO dates: DuckDB's reader given the sniffed format would take both for 1900-01-01.
    const dates = await fx.ingestion.ingest(await fx.file('inf-dates.csv', 'id,day\n1,2024-01-01\n2,infinity\n3,-infinity\n4,2024-01-04\n'), 'bronze.inf_dates');
    expect(dates.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 2 });
    expect(await columns('bronze.inf_dates')).toMatchObject({ day: 'date' });
    expect(await fx.rat.query('SELECT id, CAST(day AS VARCHAR) AS day FROM bronze.inf_dates ORDER BY id')).toEqual([
      { id: 1, day: '2024-01-01' },
      { id: 4, day: '2024-01-04' },
    ]);
    expect(await rejectRows('bronze.inf_dates')).toEqual([
      [3, 'column day: infinity cannot be stored as DATE: an Iceberg date or timestamp has no infinity', '2,infinity'],
      [4, 'column day: -infinity cannot be stored as DATE: an Iceberg date or timestamp has no infinity', '3,-infinity'],
    ]);
    // Past the sniffer's sample, the column read as a timestamp without a check: the written file's statistics show it.
    const rows = Array.from({ length: 25_000 }, (_, i) => `${i},2024-01-01 10:00:00`);
    const late = await fx.ingestion.ingest(await fx.file('inf-late.csv', `id,ts\n${rows.join('\n')}\n25000,infinity\n25001,2024-01-02 10:00:00\n`), 'bronze.inf_late');
    expect(late.files[0]).toMatchObject({ status: 'success', rowsIngested: 25_001, rowsRejected: 1 });
    expect(await columns('bronze.inf_late')).toMatchObject({ ts: 'timestamp' });
    expect(await rejectRows('bronze.inf_late')).toEqual([[25_002, 'column ts: infinity cannot be stored as TIMESTAMP: an Iceberg date or timestamp has no infinity', '25000,infinity']]);
    expect(await fx.rat.query("SELECT count(*)::INTEGER AS n FROM bronze.inf_late WHERE ts > TIMESTAMP '2025-01-01'")).toEqual([{ n: 0 }]);
    // With --on-error fail the file is refused and the table keeps its rows.
    const refused = await fx.ingestion.ingest(await fx.file('inf-late2.csv', `id,ts\n${rows.join('\n')}\n25000,-infinity\n`), 'bronze.inf_late', { onError: 'fail' });
    expect(refused.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_BAD_ROWS', rowsIngested: 0 });
    expect(refused.files[0]!.error).toContain('-infinity cannot be stored as TIMESTAMP');
    expect(await fx.rat.query('SELECT count(*)::INTEGER AS n FROM bronze.inf_late')).toEqual([{ n: 25_001 }]);
  });

  it('quarantines infinity and -infinity in a date or timestamp column read with a format (%d/%m/%Y), which DuckDB reads as 1900-01-01; epoch is 1970-01-01; a real 1900-01-01 loads', async () => {
    const infinity = (column: string, value: string, type: string) => `column ${column}: ${value} cannot be stored as ${type}: an Iceberg date or timestamp has no infinity`;
    const days = async (table: string) => (await fx.rat.query<{ id: number; day: string }>(`SELECT id::INT AS id, CAST(day AS VARCHAR) AS day FROM ${table} ORDER BY id`)).map((r) => [r.id, r.day]);
    // In the sniffed sample.
    const sampled = await fx.ingestion.ingest(await fx.file('fmt-dates.csv', 'id,day\n1,13/02/2024\n2,infinity\n3,-infinity\n4,Infinity\n5,epoch\n6,01/01/1900\n7,14/02/2024\n'), 'bronze.fmt_dates');
    expect(sampled.files[0]).toMatchObject({ status: 'success', rowsIngested: 4, rowsRejected: 3 });
    expect(await columns('bronze.fmt_dates')).toMatchObject({ day: 'date' });
    expect(await days('bronze.fmt_dates')).toEqual([
      [1, '2024-02-13'],
      [5, '1970-01-01'],
      [6, '1900-01-01'],
      [7, '2024-02-14'],
    ]);
    expect(await rejectRows('bronze.fmt_dates')).toEqual([
      [3, infinity('day', 'infinity', 'DATE'), '2,infinity'],
      [4, infinity('day', '-infinity', 'DATE'), '3,-infinity'],
      [5, infinity('day', 'infinity', 'DATE'), '4,Infinity'],
    ]);
    // Past the sniffer's sample: the streamed read stops at 1900-01-01 and the file is read again, exactly.
    const rows = Array.from({ length: 25_000 }, (_, i) => `${i},${String((i % 28) + 1).padStart(2, '0')}/02/2024`);
    const late = await fx.ingestion.ingest(await fx.file('fmt-late.csv', `id,day\n${rows.join('\n')}\n25000,infinity\n25001,01/01/1900\n25002,EPOCH\n25003,-Infinity\n25004,29/02/2024\n`), 'bronze.fmt_late');
    expect(late.files[0]).toMatchObject({ status: 'success', rowsIngested: 25_003, rowsRejected: 2 });
    expect(await rejectRows('bronze.fmt_late')).toEqual([
      [25_002, infinity('day', 'infinity', 'DATE'), '25000,infinity'],
      [25_005, infinity('day', '-infinity', 'DATE'), '25003,-Infinity'],
    ]);
    expect((await days('bronze.fmt_late')).slice(-4)).toEqual([
      [24_999, '2024-02-24'],
      [25_001, '1900-01-01'],
      [25_002, '1970-01-01'],
      [25_004, '2024-02-29'],
    ]);
    // The format given (--date-format), where the sniffer alone would read 02/01/2024 as February 1st.
    const given = await fx.ingestion.ingest(await fx.file('fmt-given.csv', 'id,day\n1,02/01/2024\n2,infinity\n3,01/01/1900\n4,epoch\n'), 'bronze.fmt_given', { dateFormat: '%m/%d/%Y' });
    expect(given.files[0]).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 1 });
    expect(await days('bronze.fmt_given')).toEqual([
      [1, '2024-02-01'],
      [3, '1900-01-01'],
      [4, '1970-01-01'],
    ]);
    expect(await rejectRows('bronze.fmt_given')).toEqual([[3, infinity('day', 'infinity', 'DATE'), '2,infinity']]);
    // A timestamp format: the same words, the same way.
    const stamps = await fx.ingestion.ingest(
      await fx.file('fmt-ts.csv', 'id,ts\n1,13/02/2024 10:00:00\n2,-infinity\n3,epoch\n4,01/01/1900 00:00:00\n'),
      'bronze.fmt_ts',
      { timestampFormat: '%d/%m/%Y %H:%M:%S', types: { ts: 'TIMESTAMP' } },
    );
    expect(stamps.files[0]).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT id::INT AS id, CAST(ts AS VARCHAR) AS ts FROM bronze.fmt_ts ORDER BY id')).toEqual([
      { id: 1, ts: '2024-02-13 10:00:00' },
      { id: 3, ts: '1970-01-01 00:00:00' },
      { id: 4, ts: '1900-01-01 00:00:00' },
    ]);
    expect(await rejectRows('bronze.fmt_ts')).toEqual([[3, infinity('ts', '-infinity', 'TIMESTAMP'), '2,-infinity']]);
    // With --on-error fail the file is refused and the table keeps its rows.
    const refused = await fx.ingestion.ingest(await fx.file('fmt-late2.csv', `id,day\n${rows.join('\n')}\n25000,-infinity\n`), 'bronze.fmt_late', { onError: 'fail' });
    expect(refused.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_BAD_ROWS', rowsIngested: 0 });
    expect(refused.files[0]!.error).toContain('-infinity cannot be stored as DATE');
    expect(await fx.rat.query('SELECT count(*)::INTEGER AS n FROM bronze.fmt_late')).toEqual([{ n: 25_003 }]);
  });

  it('reads timestamps with a zone format (%z) as the instants they are: a new column is timestamptz, infinity is quarantined, a column without a zone quarantines them', async () => {
    const text = 'id,t\n1,2024-01-01 10:00:00+0200\n2,infinity\n3,epoch\n4,2024-01-02 10:00:00+0000\n5,2024-01-03 10:00:00\n';
    const zoned = await fx.ingestion.ingest(await fx.file('fmt-zone.csv', text), 'bronze.fmt_zone', { timestampFormat: '%Y-%m-%d %H:%M:%S%z' });
    expect(zoned.files[0]).toMatchObject({ status: 'success', rowsIngested: 4, rowsRejected: 1 });
    expect(await columns('bronze.fmt_zone')).toMatchObject({ t: 'timestamptz' });
    const utc = `SELECT id::INT AS id, strftime(t AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') AS t FROM`;
    // DuckDB's sniffer calls the column TIMESTAMP, whose reader read infinity and epoch as 1900-01-01.
    expect(await fx.rat.query(`${utc} bronze.fmt_zone ORDER BY id`)).toEqual([
      { id: 1, t: '2024-01-01 08:00:00' },
      { id: 3, t: '1970-01-01 00:00:00' },
      { id: 4, t: '2024-01-02 10:00:00' },
      // Without an offset, as a timestamptz cast reads it: in the session's zone, UTC.
      { id: 5, t: '2024-01-03 10:00:00' },
    ]);
    expect(await rejectRows('bronze.fmt_zone')).toEqual([[3, infinityReason('t', 'infinity', 'TIMESTAMPTZ'), '2,infinity']]);
    // Into a column without a zone (given, or the table's), each would be shifted to UTC: quarantined, never loaded shifted.
    for (const [table, options] of [
      ['bronze.fmt_zone_typed', { types: { t: 'TIMESTAMP' } }],
      // DuckDB's other names for it, in any unit.
      ['bronze.fmt_zone_datetime', { types: { t: 'DATETIME' } }],
      ['bronze.fmt_zone_without', { types: { t: 'TIMESTAMP WITHOUT TIME ZONE' } }],
      ['bronze.fmt_zone_ms', { types: { t: 'TIMESTAMP_MS' } }],
      ['bronze.fmt_zone_naive', {}],
    ] as const) {
      if (table === 'bronze.fmt_zone_naive') await fx.rat.sql('CREATE TABLE bronze.fmt_zone_naive (id BIGINT, t TIMESTAMP)');
      const naive = await fx.ingestion.ingest(await fx.file(`${table}.csv`, 'id,t\n1,2024-01-01 10:00:00+0200\n2,infinity\n'), table, { timestampFormat: '%Y-%m-%d %H:%M:%S%z', ...options });
      expect(naive.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 2 });
      expect(await rejectRows(table)).toEqual([
        [2, 'column t: 2024-01-01 08:00:00+00 has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)', '1,2024-01-01 10:00:00+0200'],
        [3, infinityReason('t', 'infinity', 'TIMESTAMP'), '2,infinity'],
      ]);
    }
  });

  it('quarantines text that is no timestamp read into a timestamptz column, which DuckDB\'s reader would load as NULL', async () => {
    // The table's column, --type, a renamed column into the lineage column of a table, and a %z format: DuckDB's reader gives NULL for `soon` in each, without a reject.
    await fx.rat.sql('CREATE TABLE bronze.tz_table (id BIGINT, ts TIMESTAMPTZ)');
    const cases = [
      { table: 'bronze.tz_table', text: 'id,ts\n1,2024-01-01 10:00:00+02\n2,soon\n3,2024-01-02\n', options: {} },
      { table: 'bronze.tz_typed', text: 'id,ts\n1,2024-01-01 10:00:00+02\n2,soon\n3,2024-01-02\n', options: { types: { ts: 'TIMESTAMPTZ' } } },
      { table: 'bronze.tz_format', text: 'id,ts\n1,01/01/2024 10:00+0200\n2,soon\n3,02/01/2024 00:00+0000\n', options: { types: { ts: 'TIMESTAMPTZ' }, timestampFormat: '%d/%m/%Y %H:%M%z' } },
    ];
    for (const { table, text, options } of cases) {
      const report = await fx.ingestion.ingest(await fx.file(`${table}.csv`, text), table, options);
      expect(report.files[0], table).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
      expect(await fx.rat.query(`SELECT id::INT AS id, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') AS ts FROM ${table} ORDER BY id`)).toEqual([
        { id: 1, ts: '2024-01-01 08:00' },
        { id: 3, ts: '2024-01-02 00:00' },
      ]);
      expect(await rejectRows(table)).toEqual([[3, 'column ts: cannot convert soon to TIMESTAMPTZ', '2,soon']]);
    }
    // A new column the sniffer's sample shows as timestamptz, with such a value past the sample.
    const rows = Array.from({ length: 3000 }, (_, i) => `${i},2024-01-01 10:00:00+02`);
    const late = await fx.ingestion.ingest(await fx.file('tz-late.csv', `id,ts\n${rows.join('\n')}\n3000,soon\n`), 'bronze.tz_late', { sampleSize: 100 });
    expect(late.files[0]).toMatchObject({ status: 'success', rowsIngested: 3000, rowsRejected: 1 });
    expect(await columns('bronze.tz_late')).toMatchObject({ ts: 'timestamptz' });
    expect(await rejectRows('bronze.tz_late')).toEqual([[3002, 'column ts: cannot convert soon to TIMESTAMPTZ', '3000,soon']]);
    // A column renamed into the table's lineage column, which is a timestamptz.
    await fx.ingestion.ingest(await fx.file('tz-lineage1.csv', 'id,x\n1,a\n'), 'bronze.tz_lineage');
    const renamed = await fx.ingestion.ingest(await fx.file('tz-lineage2.csv', 'id,x\n2,soon\n'), 'bronze.tz_lineage', { rename: { x: '_ingested_at' }, lineage: false });
    expect(renamed.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 1 });
    expect(await rejectRows('bronze.tz_lineage')).toEqual([[2, 'column _ingested_at: cannot convert soon to TIMESTAMPTZ', '2,soon']]);
  });

  it('quarantines infinity where the rows are not streamed too: a merge, and a Parquet file that holds it', async () => {
    const merged = await fx.ingestion.ingest(await fx.file('inf-merge.csv', 'id,d,amt\n5,infinity,1.5\n6,2024-01-04,2.5\n'), 'bronze.inf_merge', { mode: 'merge', keys: ['id'] });
    expect(merged.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    expect(await rejectRows('bronze.inf_merge')).toEqual([[2, 'column d: infinity cannot be stored as DATE: an Iceberg date or timestamp has no infinity', '5,infinity,1.5']]);
    const parquet = `${fx.dir}/inf.parquet`;
    await fx.rat.duck.run(`COPY (SELECT * FROM (VALUES (1, TIMESTAMP '2024-01-01 10:00:00'), (2, TIMESTAMP '-infinity')) t(id, ts)) TO '${parquet}' (FORMAT parquet)`);
    const fromParquet = await fx.ingestion.ingest(parquet, 'bronze.inf_parquet');
    expect(fromParquet.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT id FROM bronze.inf_parquet')).toEqual([{ id: 1 }]);
    expect((await rejectRows('bronze.inf_parquet'))[0]![1]).toBe('column ts: -infinity cannot be stored as TIMESTAMP: an Iceberg date or timestamp has no infinity');
  });
});

describe('CSV date order', () => {
  /** `rows` dates that read both day first and month first (no part above 12), as `id,day` lines from id 1. */
  const ambiguousLines = (rows: number, time = '') =>
    Array.from({ length: rows }, (_, i) => `${i + 1},${String(((i + 1) % 12) + 1).padStart(2, '0')}/${String((((i + 1) * 7) % 12) + 1).padStart(2, '0')}/2024${time}`).join('\n');
  const texts = async (table: string) => (await fx.rat.query<{ id: number; day: string }>(`SELECT id::INT AS id, CAST(day AS VARCHAR) AS day FROM ${table} ORDER BY id`)).map((r) => [r.id, r.day]);

  it('keeps dates whose sample cannot tell day first from month first as written, and says how to give the order, rather than guessing day first', async () => {
    const report = await fx.ingestion.ingest(await fx.file('order-guess.csv', `id,day\n${ambiguousLines(300)}\n301,12/25/2024\n`), 'bronze.order_guess', { sampleSize: 100 });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 301, rowsRejected: 0 });
    expect(report.files[0]!.hint).toContain(
      "the dates of column day (e.g. 02/08/2024) read both day first and month first, and no value of the sample has a day above 12 to tell which, so they are not read as dates",
    );
    expect(report.files[0]!.hint).toContain("give the order, e.g. --date-format '%d/%m/%Y' (or '%m/%d/%Y')");
    expect(await columns('bronze.order_guess')).toMatchObject({ day: 'string' });
    // Line 2 says 02/08/2024, which was loaded as 2024-08-02 when day first was taken as fact; the month-first row past the sample changes nothing.
    expect((await texts('bronze.order_guess')).filter(([id]) => id === 1 || id === 301)).toEqual([
      [1, '02/08/2024'],
      [301, '12/25/2024'],
    ]);
    // The same for timestamps, and with the order given the dates are read by it.
    const stamps = await fx.ingestion.ingest(await fx.file('order-stamps.csv', `id,day\n${ambiguousLines(3, ' 10:00:00')}\n`), 'bronze.order_stamps');
    expect(stamps.files[0]!.hint).toContain("the timestamps of column day (e.g. 02/08/2024 10:00:00) read both day first and month first");
    expect(await columns('bronze.order_stamps')).toMatchObject({ day: 'string' });
    const given = await fx.ingestion.ingest(await fx.file('order-given.csv', `id,day\n${ambiguousLines(3)}\n`), 'bronze.order_given', { dateFormat: '%m/%d/%Y' });
    expect(given.files[0]!.hint).toBeUndefined();
    expect(await texts('bronze.order_given')).toEqual([
      [1, '2024-02-08'],
      [2, '2024-03-03'],
      [3, '2024-04-10'],
    ]);
  });

  it('keeps two-digit-year dates that read both with the year first and last as written (DuckDB took 25/12/24 for 2025-12-24), unless a value proves the year first', async () => {
    const uk = await fx.ingestion.ingest(await fx.file('year-first-guess.csv', 'id,day\n1,25/12/24\n2,13/01/24\n3,05/02/23\n'), 'bronze.year_first_guess');
    expect(uk.files[0]).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 0 });
    expect(uk.files[0]!.hint).toContain(
      "the dates of column day (e.g. 25/12/24) read both with the two-digit year first and with it last, and no value of the sample reads only with the year first (as 99/01/02 would), so they are not read as dates",
    );
    expect(uk.files[0]!.hint).toContain("give the order, e.g. --date-format '%d/%m/%y' (or '%y/%m/%d')");
    expect(await texts('bronze.year_first_guess')).toEqual([
      [1, '25/12/24'],
      [2, '13/01/24'],
      [3, '05/02/23'],
    ]);
    const given = await fx.ingestion.ingest(await fx.file('year-first-given.csv', 'id,day\n1,25/12/24\n2,13/01/24\n'), 'bronze.year_first_given', { dateFormat: '%d/%m/%y' });
    expect(given.files[0]!.hint).toBeUndefined();
    expect(await texts('bronze.year_first_given')).toEqual([
      [1, '2024-12-25'],
      [2, '2024-01-13'],
    ]);
    // Timestamps alike; every order is offered when the values read all three ways.
    const stamps = await fx.ingestion.ingest(await fx.file('year-first-stamps.csv', 'id,day\n1,05/02/24 10:00:00\n2,07/03/24 11:00:00\n'), 'bronze.year_first_stamps');
    expect(stamps.files[0]!.hint).toContain("give the order, e.g. --timestamp-format '%d/%m/%y %H:%M:%S' (or '%m/%d/%y %H:%M:%S', '%y/%m/%d %H:%M:%S')");
    expect(await columns('bronze.year_first_stamps')).toMatchObject({ day: 'string' });
    // 99/01/02 reads only with the year first: the sniffer's order is proven.
    const proven = await fx.ingestion.ingest(await fx.file('year-first-proven.csv', 'id,day\n1,99/01/02\n2,05/02/24\n'), 'bronze.year_first_proven');
    expect(proven.files[0]!.hint).toBeUndefined();
    expect(await texts('bronze.year_first_proven')).toEqual([
      [1, '1999-01-02'],
      [2, '2005-02-24'],
    ]);
  });

  it('reads dates by the order a value of the sample proves, quarantining a later value that contradicts it without changing the others; an ambiguous file into a date column is quarantined, not guessed', async () => {
    const proven = await fx.ingestion.ingest(await fx.file('order-proven.csv', `id,day\n0,13/02/2024\n${ambiguousLines(300)}\n301,12/25/2024\n`), 'bronze.order_proven', { sampleSize: 100 });
    expect(proven.files[0]).toMatchObject({ status: 'success', rowsIngested: 301, rowsRejected: 1 });
    expect(proven.files[0]!.hint).toBeUndefined();
    expect((await texts('bronze.order_proven')).filter(([id]) => Number(id) <= 1)).toEqual([
      [0, '2024-02-13'],
      [1, '2024-08-02'],
    ]);
    expect(await rejectRows('bronze.order_proven')).toEqual([[303, 'column day: cannot convert 12/25/2024 to DATE', '301,12/25/2024']]);
    // A second file whose dates read both ways does not join the table's dates by a guess: its rows wait in the quarantine for the order.
    const next = await fx.ingestion.ingest(await fx.file('order-next.csv', 'id,day\n400,01/02/2024\n401,03/04/2024\n'), 'bronze.order_proven');
    expect(next.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 2 });
    expect(next.files[0]!.hint).toContain('a date column of the table quarantines them');
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.order_proven WHERE id >= 400')).toEqual([{ n: 0 }]);
  });

  it('quarantines a two-digit year in a %Y column instead of loading year 24, in the sample and past it; a year written 0024 loads', async () => {
    const dates = await fx.ingestion.ingest(await fx.file('short-year.csv', 'id,day\n1,13/02/2024\n2,05/02/24\n3,01/12/2023\n4,05/02/0024\n'), 'bronze.short_year');
    expect(dates.files[0]).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 1 });
    expect(await texts('bronze.short_year')).toEqual([
      [1, '2024-02-13'],
      [3, '2023-12-01'],
      [4, '0024-02-05'],
    ]);
    expect(await rejectRows('bronze.short_year')).toEqual([[3, 'column day: cannot convert 05/02/24 to DATE', '2,05/02/24']]);
    const stamps = await fx.ingestion.ingest(await fx.file('short-year-ts.csv', 'id,day\n1,13/02/2024 10:00:00\n2,05/02/24 11:00:00\n'), 'bronze.short_year_ts');
    expect(stamps.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    expect(await rejectRows('bronze.short_year_ts')).toEqual([[3, 'column day: cannot convert 05/02/24 11:00:00 to TIMESTAMP', '2,05/02/24 11:00:00']]);
    const late = Array.from({ length: 300 }, (_, i) => `${i + 1},13.02.2024`).join('\n');
    const past = await fx.ingestion.ingest(await fx.file('short-year-late.csv', `id,day\n${late}\n301,05.02.24\n`), 'bronze.short_year_late', { sampleSize: 100 });
    expect(past.files[0]).toMatchObject({ status: 'success', rowsIngested: 300, rowsRejected: 1 });
    expect(await rejectRows('bronze.short_year_late')).toEqual([[302, 'column day: cannot convert 05.02.24 to DATE', '301,05.02.24']]);
  });

  it('quarantines a short year past the sample of an ISO date or timestamp column (the cast reads 05/02/24 as the year 5), streamed, in a run and into a table date column; a year written 0024 or 0001 loads', async () => {
    // 3,000 ISO rows, then `tail` past the sniffer's sample (a smaller file's last lines are in it: 05/02/24 10:00:00 makes it sniff %y/%m/%d).
    const iso = (name: string, ...tail: string[]) =>
      fx.file(name, ['id,day,ts', ...Array.from({ length: 3000 }, (_, i) => `${i + 1},2024-01-${String((i % 28) + 1).padStart(2, '0')},2024-01-02 10:00:00`), ...tail, ''].join('\n'));
    const day = await fx.ingestion.ingest(await iso('iso-short-day.csv', '3001,05/02/24,2024-01-02 10:00:00'), 'bronze.iso_short_year', { sampleSize: 100 });
    expect(day.files[0]).toMatchObject({ status: 'success', rowsIngested: 3000, rowsRejected: 1 });
    expect(await columns('bronze.iso_short_year')).toMatchObject({ day: 'date', ts: 'timestamp' });
    const ts = await fx.ingestion.ingest(await iso('iso-short-ts.csv', '3002,2024-01-03,05/02/24 10:00:00'), 'bronze.iso_short_year', { sampleSize: 100 });
    expect(ts.files[0]).toMatchObject({ status: 'success', rowsIngested: 3000, rowsRejected: 1 });
    const written = await fx.ingestion.ingest(await iso('iso-short-written.csv', '3003,0024-02-05,0001-01-01 00:00:00', '3004,24-02-05,2024-01-02 10:00:00'), 'bronze.iso_short_year', { sampleSize: 100 });
    expect(written.files[0]).toMatchObject({ status: 'success', rowsIngested: 3001, rowsRejected: 1 });
    expect((await rejectRows('bronze.iso_short_year')).sort((a, b) => String(a[2]).localeCompare(String(b[2])))).toEqual([
      [3002, 'column day: cannot convert 05/02/24 to DATE', '3001,05/02/24,2024-01-02 10:00:00'],
      [3002, 'column ts: cannot convert 05/02/24 10:00:00 to TIMESTAMP', '3002,2024-01-03,05/02/24 10:00:00'],
      [3003, 'column day: cannot convert 24-02-05 to DATE', '3004,24-02-05,2024-01-02 10:00:00'],
    ]);
    expect(await fx.rat.query('SELECT CAST(day AS VARCHAR) AS day, CAST(ts AS VARCHAR) AS ts FROM bronze.iso_short_year WHERE id = 3003')).toEqual([{ day: '0024-02-05', ts: '0001-01-01 00:00:00' }]);
    // Text (a word beside the dates) read into the table's date column, and small files read together (the run's read finds the file with the value, which then goes alone): the same.
    const text = await fx.ingestion.ingest(await fx.file('iso-short-text.csv', 'id,day,ts\n400,soon,2024-01-02 10:00:00\n401,05/02/24,2024-01-02 10:00:00\n402,0024-02-05,2024-01-02 10:00:00\n'), 'bronze.iso_short_year');
    expect(text.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect((await rejectRows('bronze.iso_short_year')).filter((r) => String(r[2]).startsWith('40'))).toEqual([
      [2, 'column day: cannot convert soon to DATE', '400,soon,2024-01-02 10:00:00'],
      [3, 'column day: cannot convert 05/02/24 to DATE', '401,05/02/24,2024-01-02 10:00:00'],
    ]);
    await fx.file('iso-run-a.csv', 'id,day,ts\n500,2024-01-02,2024-01-02 10:00:00\n');
    await iso('iso-run-b.csv', '501,2024-01-02,05/02/24 10:00:00');
    await fx.file('iso-run-c.csv', 'id,day,ts\n502,2024-01-03,2024-01-03 10:00:00\n');
    const run = await fx.ingestion.ingestBatch(join(fx.dir, 'iso-run-*.csv'), 'bronze.iso_short_year');
    expect(run.files.map((f) => [f.rowsIngested, f.rowsRejected])).toEqual([
      [1, 0],
      [3000, 1],
      [1, 0],
    ]);
    expect((await rejectRows('bronze.iso_short_year')).filter((r) => String(r[2]).startsWith('501'))).toEqual([[3002, 'column ts: cannot convert 05/02/24 10:00:00 to TIMESTAMP', '501,2024-01-02,05/02/24 10:00:00']]);
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.iso_short_year WHERE (year(day) < 1000 OR year(ts) < 1000) AND id NOT IN (402, 3003)')).toEqual([{ n: 0 }]);
  });

  it('quarantines a short year in a timestamp column with a zone (the cast reads 24-05-02 10:00:00+02 as the year 24), in the sample, past it and in a run; a year written 0024 loads', async () => {
    const sampled = await fx.ingestion.ingest(await fx.file('tz-short.csv', 'id,ts\n1,24-05-02 10:00:00+02\n2,2024-05-02 11:00:00+02\n3,0024-05-02 10:00:00+02\n'), 'bronze.tz_short');
    expect(sampled.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await columns('bronze.tz_short')).toMatchObject({ ts: 'timestamptz' });
    expect(await rejectRows('bronze.tz_short')).toEqual([[2, 'column ts: cannot convert 24-05-02 10:00:00+02 to TIMESTAMPTZ', '1,24-05-02 10:00:00+02']]);
    const zoned = (name: string, ...tail: string[]) =>
      fx.file(name, ['id,ts', ...Array.from({ length: 3000 }, (_, i) => `${i + 10},2024-01-${String((i % 28) + 1).padStart(2, '0')} 10:00:00+02`), ...tail, ''].join('\n'));
    const past = await fx.ingestion.ingest(await zoned('tz-short-late.csv', '3010,24-05-02 10:00:00+02', '3011,0024-05-02 10:00:00+00'), 'bronze.tz_short', { sampleSize: 100 });
    expect(past.files[0]).toMatchObject({ status: 'success', rowsIngested: 3001, rowsRejected: 1 });
    await fx.file('tz-run-a.csv', 'id,ts\n5000,2024-01-02 10:00:00+01\n');
    await fx.file('tz-run-b.csv', 'id,ts\n5001,2024-01-02 10:00:00+01\n5002,24-01-02 10:00:00+01\n');
    const run = await fx.ingestion.ingestBatch(join(fx.dir, 'tz-run-*.csv'), 'bronze.tz_short');
    expect(run.files.map((f) => [f.rowsIngested, f.rowsRejected])).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect((await rejectRows('bronze.tz_short')).map((r) => r[2]).sort()).toEqual(['1,24-05-02 10:00:00+02', '3010,24-05-02 10:00:00+02', '5002,24-01-02 10:00:00+01']);
    expect(await fx.rat.query("SELECT id, CAST(ts AS VARCHAR) AS ts FROM bronze.tz_short WHERE year(ts) < 1000 ORDER BY id")).toEqual([
      { id: 3, ts: '0024-05-02 08:00:00+00' },
      { id: 3011, ts: '0024-05-02 10:00:00+00' },
    ]);
  });

  it('says when a given date format was not applied to a column because a value of it does not read by it', async () => {
    const report = await fx.ingestion.ingest(await fx.file('given-refused.csv', 'id,day\n1,12/25/2024\n2,25/12/2024\n'), 'bronze.given_refused', { dateFormat: '%m/%d/%Y' });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 0 });
    expect(report.files[0]!.hint).toBe("--date-format '%m/%d/%Y' was not applied to column day: its value 25/12/2024 does not read by it, so the column is loaded as text");
    expect(await texts('bronze.given_refused')).toEqual([
      [1, '12/25/2024'],
      [2, '25/12/2024'],
    ]);
  });
});
