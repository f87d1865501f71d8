/**
 * Reads Iceberg tables with icebird (a pure-JS reader on hyparquet, not our code) to check what the
 * platform writes against an independent implementation.
 *
 * Icebird fetches every file (metadata JSON, manifest lists, manifests, Parquet byte ranges) with the
 * global `fetch`, taking locations from the metadata as URLs; it has no file-reader option. Our local
 * store writes `file:///abs/path` locations and Node's fetch cannot open `file:` URLs. So a node:http
 * server on 127.0.0.1 (port 0) serves one directory with HEAD and Range support, and while icebird
 * reads, `fetch` rewrites `file://` URLs under that directory to the server. Nothing else is served,
 * and a `file://` URL outside the directory fails the read.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { icebergManifests, icebergMetadata, icebergRead } from 'icebird';

/** One manifest entry as icebird decodes it (spec "Manifests": status 0 existing, 1 added, 2 deleted). */
export interface IcebirdManifestEntry {
  status: number;
  content: number;
  filePath: string;
  recordCount: number;
}

export interface IcebirdReader {
  /**
   * All rows of the table as icebird reads them from the metadata file `metadataFileName` (a file in
   * `<tableLocation>/metadata/`): an older metadata file reads that version's current snapshot.
   */
  read(tableLocation: string, metadataFileName: string): Promise<Record<string, unknown>[]>;
  /** Every entry of every manifest of the current snapshot of that metadata file, deleted entries included. */
  manifestEntries(tableLocation: string, metadataFileName: string): Promise<IcebirdManifestEntry[]>;
  /** Paths (relative to the served directory) requested so far, in order. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

export async function startIcebirdReader(directory: string): Promise<IcebirdReader> {
  const root = resolve(directory);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    serve(root, req, res, requests).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', done);
  });
  const { port } = server.address() as AddressInfo;
  let reading = false;

  function toHttp(fileUrl: string): string {
    const path = fileURLToPath(fileUrl);
    const rel = relative(root, path);
    if (rel.startsWith('..') || rel === '' || resolve(root, rel) !== path) {
      throw new Error(`icebird asked for ${fileUrl}, outside the served directory ${root}`);
    }
    return `http://127.0.0.1:${port}/${rel.split(sep).map(encodeURIComponent).join('/')}`;
  }

  async function withFileUrlsServed<T>(read: () => Promise<T>): Promise<T> {
    if (reading) throw new Error('one icebird read at a time: the fetch rewrite is process-wide');
    reading = true;
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      return realFetch(url.startsWith('file:') ? toHttp(url) : url, init);
    };
    try {
      return await read();
    } finally {
      globalThis.fetch = realFetch;
      reading = false;
    }
  }

  return {
    requests,
    read: (tableLocation, metadataFileName) => withFileUrlsServed(() => icebergRead({ tableUrl: tableLocation, metadataFileName })),
    manifestEntries: (tableLocation, metadataFileName) =>
      withFileUrlsServed(async () => {
        const metadata = await icebergMetadata({ tableUrl: tableLocation, metadataFileName });
        const manifests = await icebergManifests(metadata);
        return manifests.flatMap(({ entries }) =>
          entries.map((entry) => ({
            status: entry.status,
            content: entry.data_file.content,
            filePath: entry.data_file.file_path,
            recordCount: Number(entry.data_file.record_count),
          })),
        );
      }),
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((error) => (error ? fail(error) : done()));
        server.closeAllConnections();
      }),
  };
}

async function serve(root: string, req: IncomingMessage, res: ServerResponse, requests: string[]): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const rel = decodeURIComponent(url.pathname.slice(1));
  const path = resolve(root, rel);
  if (!path.startsWith(root + sep)) {
    res.writeHead(403).end();
    return;
  }
  requests.push(rel);
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    res.writeHead(404).end();
    return;
  }
  const size = info.size;
  const range = req.headers.range ? parseRange(req.headers.range, size) : undefined;
  if (range === null) {
    res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
    return;
  }
  if (range) {
    res.writeHead(206, { 'Content-Length': range.end - range.start + 1, 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Accept-Ranges': 'bytes' });
  } else {
    res.writeHead(200, { 'Content-Length': size, 'Accept-Ranges': 'bytes' });
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(path, range ?? {});
  stream.on('error', (error) => res.destroy(error));
  stream.pipe(res);
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` (RFC 9110 §14.1.2); null when unsatisfiable. */
function parseRange(header: string, size: number): { start: number; end: number } | null | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  return start > end || start >= size ? null : { start, end };
}
