import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestApi, ingestDatabase, type IngestOptions } from './index.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

/** Options as a JavaScript caller passes them: no compiler checks their keys. */
const fromJavaScript = <T>(options: Record<string, unknown>): T => options as T;

describe('misspelt option keys from JavaScript', () => {
  it('refuses an unknown ingest option, naming it and the nearest known one, and loads nothing', async () => {
    const file = await fx.file('a.csv', 'id\n1\n');
    await fx.ingestion.ingest(file, 'bronze.spelled', { skipExisting: true });
    const again = fx.ingestion.ingest(file, 'bronze.spelled', fromJavaScript<IngestOptions>({ skipExsting: true, onErorr: 'fail' }));
    await expect(again).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^unknown ingest options "skipExsting" \(did you mean skipExisting\?\), "onErorr" \(did you mean onError\?\): nothing was done; the ingest options are format, /) });
    await expect(fx.ingestion.ingestBatch(file, 'bronze.spelled', fromJavaScript<IngestOptions>({ sampelSize: 10 }))).rejects.toThrow('unknown ingest option "sampelSize" (did you mean sampleSize?)');
    await expect(fx.ingestion.replayRejects('bronze.spelled', fromJavaScript<IngestOptions>({ dateFromat: '%d/%m/%Y' }))).rejects.toThrow('unknown ingest option "dateFromat" (did you mean dateFormat?)');
    // A key near no known one is named alone.
    await expect(fx.ingestion.ingest(file, 'bronze.spelled', fromJavaScript<IngestOptions>({ colour: 'red' }))).rejects.toThrow(/^unknown ingest option "colour": nothing was done/);
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.spelled')).toEqual([{ n: 1 }]);
  });

  it('refuses an unknown ingestDatabase or ingestApi option before reading the source', async () => {
    const database = ingestDatabase(fx.ingestion, fromJavaScript({ url: 'sqlite:./no-such.db', table: 'orders', target: 'bronze.orders', cursr: 'id', chunksize: 5 }));
    await expect(database).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^unknown ingestDatabase options "cursr" \(did you mean cursor\?\), "chunksize" \(did you mean chunkSize\?\)/) });
    const config = { name: 'shop', baseUrl: 'http://127.0.0.1:1', endpoints: [{ name: 'orders', path: '/orders' }] };
    await expect(ingestApi(fx.ingestion, config, fromJavaScript({ endpoint: ['orders'] }))).rejects.toThrow('unknown ingestApi option "endpoint" (did you mean endpoints?)');
  });
});
