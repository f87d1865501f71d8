import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import { extractRecords } from './json-records.js';
import { openIngestFixture, VEGA, type IngestFixture } from './test-support/ingest-fixture.js';

let dir: string;
let fx: IngestFixture;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rat-json-records-'));
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
  await rm(dir, { recursive: true, force: true });
});

interface Extracted {
  records: unknown[];
  rejects: { line: number; reason: string; raw: string }[];
  empty: boolean;
}

let files = 0;
/** Compressed by the zstd tool. */
const zstdSync = (text: string) => spawnSync('zstd', ['-c', '-q'], { input: text }).stdout;
async function extract(content: string | Buffer, path: string, chunkBytes?: number, compression: 'none' | 'gzip' | 'zstd' = 'none'): Promise<Extracted> {
  const n = files++;
  const source = join(dir, `doc-${n}.json`);
  await writeFile(source, content);
  const file = { localPath: source, display: source, compression } as ProbedFile;
  const out = join(dir, `records-${n}.ndjson`);
  const rejectsOut = join(dir, `rejects-${n}.ndjson`);
  const result = await extractRecords(file, path.split('.'), out, rejectsOut, 'n', undefined, chunkBytes);
  const lines = async (p: string) =>
    (await readFile(p, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as unknown);
  const records = await lines(out);
  const rejects = (await lines(rejectsOut)) as Extracted['rejects'];
  expect(result).toEqual({ objects: records.length, rejected: rejects.length, empty: result.empty });
  return { records, rejects, empty: result.empty };
}

/** What the records at `path` are by JSON.parse: the reference the streaming extractor must agree with. */
function expected(text: string, path: string): Extracted | 'error' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'error';
  }
  for (const step of path.split('.')) {
    if (value === null || typeof value !== 'object') return 'error';
    value = Array.isArray(value) ? (/^\d+$/.test(step) ? value[Number(step)] : undefined) : (value as Record<string, unknown>)[step];
    if (value === undefined) return 'error';
  }
  if (value === null) return { records: [], rejects: [], empty: true };
  if (typeof value !== 'object') return 'error';
  const elements = Array.isArray(value) ? value : [value];
  const out: Extracted = { records: [], rejects: [], empty: false };
  elements.forEach((element, i) => {
    if (element !== null && typeof element === 'object' && !Array.isArray(element)) out.records.push({ n: i + 1, ...(element as object) });
    else out.rejects.push({ line: i + 1, reason: expect.stringContaining(`record ${i + 1} of records "${path}" is not a JSON object`) as unknown as string, raw: JSON.stringify(element) });
  });
  return out;
}

describe('records at a path inside a JSON document, streamed', () => {
  const doc = `\uFEFF{
    "type": "FeatureCollection",
    "meta": {"count": 3, "note": "a \\"quoted\\" ] } [ text"},
    "features": [
      {"id": 1, "properties": {"mag": -1.5e0, "place": "x\\u00e9"}, "geometry": {"coordinates": [1, 2]}},
      {},
      42,
      "text",
      [1, {"a": 2}],
      null,
      {"id": 7, "nested": {"deep": [[], {}]}, "bool": true, "f": false}
    ],
    "tail": [1, 2, 3]
  }`;

  it('writes each object element with its position, and the other elements as rejects, whatever the chunk size', async () => {
    const reference = expected(doc.slice(1), 'features') as Extracted;
    expect(reference.records).toHaveLength(3);
    for (const chunk of [1, 2, 7, 64, 1024 * 1024]) {
      const got = await extract(doc, 'features', chunk);
      expect(got.records, `chunks of ${chunk}`).toEqual(reference.records);
      expect(got.rejects).toEqual(reference.rejects);
    }
    const got = await extract(doc, 'features');
    expect(got.rejects.map((r) => r.reason)).toEqual([
      'record 3 of records "features" is not a JSON object but a number',
      'record 4 of records "features" is not a JSON object but a string',
      'record 5 of records "features" is not a JSON object but an array',
      'record 6 of records "features" is not a JSON object but null',
    ]);
  });

  it('follows nested keys and array positions; an object there is one record, null is none', async () => {
    const text = JSON.stringify({ data: { items: [{ a: 1 }, { a: 2 }], pages: [{ rows: [{ b: 1 }] }, { rows: [{ b: 2 }, { b: 3 }] }] }, one: { c: 'x' }, none: null });
    expect((await extract(text, 'data.items')).records).toEqual([
      { n: 1, a: 1 },
      { n: 2, a: 2 },
    ]);
    expect((await extract(text, 'data.pages.1.rows')).records).toEqual([
      { n: 1, b: 2 },
      { n: 2, b: 3 },
    ]);
    expect((await extract(text, 'one')).records).toEqual([{ n: 1, c: 'x' }]);
    expect(await extract(text, 'none')).toEqual({ records: [], rejects: [], empty: true });
    // Keys are compared decoded: an escaped name matches.
    expect((await extract('{"d\\u0061ta": [{"k": 1}]}', 'data')).records).toEqual([{ n: 1, k: 1 }]);
    // A gzip- or zstd-compressed document streams the same.
    expect((await extract(gzipSync(text), 'data.items', 16, 'gzip')).records).toHaveLength(2);
    expect((await extract(zstdSync(text), 'data.items', 16, 'zstd')).records).toHaveLength(2);
  });

  it('names the path, the file and the position when the records are not there or the JSON is broken', async () => {
    const failure = async (text: string | Buffer, path: string, compression: 'none' | 'gzip' | 'zstd' = 'none') => {
      const error = await extract(text, path, undefined, compression).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InputFileError);
      return (error as Error).message;
    };
    expect(await failure('{"a": 1, "b": {"c": []}}', 'data')).toMatch(/doc-\d+\.json: records "data" is not in the document \(its top-level fields: a, b\)/);
    expect(await failure('{"data": 5}', 'data')).toMatch(/\(line 1, byte 9\): records "data" holds a number, not records/);
    expect(await failure('{"data": [{"a": 1},\n {"a": 2}', 'data')).toMatch(/\(line 2, byte \d+\): the JSON document ends early inside 2 unclosed/);
    expect(await failure('{"data": [{"a": tru}]}', 'data')).toMatch(/tru is not a JSON value/);
    expect(await failure('{"data": [{"a": "x\ny"}]}', 'data')).toMatch(/\(line 1, byte 18\): a string runs past the end of its line/);
    expect(await failure('{"data": [{"a": 1} {"a": 2}]}', 'data')).toMatch(/expected "," or "]", found "\{"/);
    expect(await failure('{"data": []}\n{"data": []}\n', 'data')).toMatch(/\(line 2, byte 13\): more than one JSON value at the top level \(newline-delimited JSON\?\)/);
    expect(await failure('<html><body>Not JSON</body></html>', 'data')).toMatch(/"<" cannot start a JSON value/);
    expect(await failure(gzipSync('{"data": [{"a": 1}]}').subarray(0, 20), 'data', 'gzip')).toMatch(/truncated gzip|ends early/);
    expect(await failure(zstdSync('{"data": [{"a": 1}, {"a": 2}]}').subarray(0, 20), 'data', 'zstd')).toMatch(/truncated zstd/);
  });

  it('agrees with JSON.parse on 600 random and damaged documents: the same records, or an error exactly when JSON.parse fails', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const scalar = (): unknown => pick([() => Math.floor(random() * 2000) - 1000, () => random() * 10, () => pick(['', 'a b', 'q"uote', 'back\\slash', '[{]}', 'é ü', '\t\n']), () => true, () => null])();
    const value = (depth: number): unknown => {
      if (depth > 3 || random() < 0.4) return scalar();
      if (random() < 0.5) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`k${i}${pick(['', ' x', '"', '\\'])}`, value(depth + 1)]));
    };
    const spaced = (text: string) => text.replace(/,/g, () => pick([',', ', ', ',\n  ', ' ,\r\n']));
    let agreedErrors = 0;
    for (let i = 0; i < 600; i++) {
      const records = Array.from({ length: Math.floor(random() * 5) }, () => (random() < 0.8 ? value(1) : scalar()));
      let text = random() < 0.5 ? JSON.stringify({ meta: value(2), data: { rows: records } }) : JSON.stringify({ data: { rows: records }, after: value(1) }, null, pick([0, 2]));
      text = spaced(text);
      // Damage one in two: cut it, drop a byte, or put another in.
      const damage = random();
      const at = Math.floor(random() * text.length);
      if (damage < 0.2) text = text.slice(0, at);
      else if (damage < 0.35) text = text.slice(0, at) + text.slice(at + 1);
      else if (damage < 0.5) text = text.slice(0, at) + pick(['{', '}', '[', ']', ',', ':', '"', 'x', '1', '\\', ' ']) + text.slice(at);
      const want = expected(text, 'data.rows');
      const got = await extract(text, 'data.rows', pick([1, 3, 64, 4096])).catch((e: unknown) => {
        if (!(e instanceof InputFileError)) throw e;
        return 'error' as const;
      });
      if (want === 'error') {
        expect(got, text).toBe('error');
        agreedErrors++;
      } else expect(got, text).toEqual(want);
    }
    expect(agreedErrors).toBeGreaterThan(100);
  });
});

describe('rat ingest --records', () => {
  it('hints at --records when a JSON document loads as one row whose field holds a list of records', async () => {
    const whole = await fx.ingestion.ingest(join(VEGA, 'earthquakes.json'), 'bronze.quakes_whole');
    expect(whole.files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(whole.files[0]!.hint).toBe('the file is one JSON record, and its field "features" holds a list of records: to load each as a row, ingest it with --records features (SDK: records: \'features\')');
    const rows = await fx.ingestion.ingest(join(VEGA, 'cars.json'), 'bronze.cars_hint');
    expect(rows.files[0]).toMatchObject({ status: 'success', rowsIngested: 406 });
    expect(rows.files[0]!.hint).toBeUndefined();
    const one = await fx.ingestion.ingest(await fx.file('one.json', JSON.stringify({ id: 1, tags: ['a', 'b'] })), 'bronze.one_record');
    expect(one.files[0]!.hint).toBeUndefined();
    // A newline-delimited file of one line is one record by its name (or --json-format), whatever it holds.
    const line = JSON.stringify({ id: 1, items: [{ p: 1 }, { p: 2 }] });
    const asJson = await fx.ingestion.ingest(await fx.file('line.json', line), 'bronze.line_hint');
    expect(asJson.files[0]!.hint).toContain('--records items');
    for (const [name, options] of [['line.ndjson', {}], ['line.jsonl.gz', {}], ['line-2.json', { jsonFormat: 'newline_delimited' as const }]] as const) {
      const bytes = name.endsWith('.gz') ? gzipSync(line) : line;
      const report = await fx.ingestion.ingest(await fx.file(name, bytes), 'bronze.line_hint', options);
      expect(report.files[0], name).toMatchObject({ status: 'success', rowsIngested: 1 });
      expect(report.files[0]!.hint, name).toBeUndefined();
    }
  });

  it('loads GeoJSON features as rows, flattened, each a record with its file and position in the quarantine', async () => {
    const report = await fx.ingestion.ingest(join(VEGA, 'earthquakes.json'), 'bronze.quakes', { records: 'features', flatten: true });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1707, rowsRejected: 0, format: 'json' });
    const columns = (await fx.rat.describeTable('bronze.quakes')).schema.fields.map((f) => [f.name, f.type]);
    expect(columns).toEqual(expect.arrayContaining([['properties_mag', 'double'], ['properties_place', 'string'], ['properties_tz', 'long'], ['geometry_coordinates', expect.objectContaining({ type: 'list' })]]));
    const [quake] = await fx.rat.query<{ place: string; tz: number }>(`SELECT properties_place AS place, properties_tz AS tz FROM bronze.quakes WHERE id = 'ci37868143'`);
    expect(quake).toEqual({ place: '4km W of Castaic, CA', tz: -480 });

    const path = await fx.file('dump.json', JSON.stringify({ ok: true, data: { items: [{ id: 1, v: 'a' }, 'oops', { id: 2, v: 'b' }, { id: 'three', v: 'c' }] } }, null, 2));
    const dump = await fx.ingestion.ingest(path, 'bronze.dump', { records: 'data.items', types: { id: 'BIGINT' } });
    expect(dump.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT id, v FROM bronze.dump ORDER BY id')).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
    ]);
    const rejects = await fx.rat.query<{ line: number; reason: string; raw: string }>(`SELECT line::INT AS line, reason, raw FROM bronze.dump__rejects ORDER BY line`);
    expect(rejects.map((r) => [r.line, r.raw])).toEqual([
      [2, '"oops"'],
      [4, expect.stringContaining('"three"')],
    ]);
    expect(rejects[0]!.reason).toMatch(/record 2 of records "data.items" is not a JSON object but a string/);
  });

  it('fails a file whose records are not at the path, or that is not JSON, with a failed registry row and the table unchanged', async () => {
    const good = await fx.file('good.json', JSON.stringify({ data: [{ id: 1 }] }));
    expect((await fx.ingestion.ingest(good, 'bronze.paths', { records: 'data' })).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    const missing = await fx.file('missing.json', JSON.stringify({ results: [{ id: 2 }] }));
    const html = await fx.file('html.json', '<!doctype html><html><body>502 Bad Gateway</body></html>');
    const csv = await fx.file('rows.csv', 'id\n3\n');
    const report = await fx.ingestion.ingest([missing, html, csv], 'bronze.paths', { records: 'data' });
    expect(report.files.map((f) => [f.status, f.error])).toEqual([
      ['failed', expect.stringContaining('missing.json: records "data" is not in the document (its top-level fields: results)')],
      ['failed', expect.stringMatching(/html\.json.*(not JSON|cannot start a JSON value)/)],
      ['failed', expect.stringContaining('rows.csv: records "data" selects records in a JSON document, but this file is read as csv')],
    ]);
    expect(await fx.rat.query('SELECT id FROM bronze.paths')).toEqual([{ id: 1 }]);
    const registry = await fx.rat.query<{ file_path: string; status: string }>(`SELECT file_path, status FROM bronze._file_registry WHERE target_table = 'bronze.paths' ORDER BY ingested_at`);
    expect(registry.map((r) => r.status)).toEqual(['success', 'failed', 'failed', 'failed']);
    await expect(fx.ingestion.ingest(good, 'bronze.paths', { records: 'data..x' })).rejects.toThrow(/records must be a dotted path.*"data\.\.x"/);
  });
});
