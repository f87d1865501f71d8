import type { Catalog } from '../catalog/catalog.js';
import { REJECTS_SUFFIX, type TableIdent } from '../catalog/identifiers.js';
import { quoteString } from '../engine/duckdb.js';
import { newTableMetadata } from '../iceberg/metadata.js';
import type { Schema, TableMetadata } from '../iceberg/types.js';
import type { Quarantine } from './file-registry.js';
import type { IngestMode, ResolvedIngestOptions, SchemaDriftPolicy } from './ingest-options.js';
import type { ParseOptions } from './staged-file.js';

/**
 * Bad rows are kept, not dropped: each target table `ns.t` gets a quarantine table `ns.t__rejects`
 * (created by the first file that has a bad row, in the same commit). A row holds the raw text as
 * received (a CSV line, a JSON line or record), where it came from, why it was refused, and how it
 * was parsed, so `replayRejects` can parse it again after the table or the options are fixed.
 */

export function rejectsIdent(target: TableIdent): TableIdent {
  return { namespace: target.namespace, name: `${target.name}${REJECTS_SUFFIX}` };
}

/** The quarantine table of `target` on the catalog's branch, read when a skip decision asks for it. */
export function quarantineOf(catalog: Catalog, target: TableIdent): Quarantine {
  const ident = rejectsIdent(target);
  return async () => ((await catalog.tableExists(ident)) ? catalog.loadTable(ident) : undefined);
}

export function isRejectsTable(ident: TableIdent): boolean {
  return ident.name.endsWith(REJECTS_SUFFIX);
}

/**
 * The reason of a CSV row with bytes that are not UTF-8 in a file read as UTF-8, after its raw text
 * was taken from the file (csv-records.ts: each such byte kept as its Latin-1 character, where
 * DuckDB writes `?`). It says how to load the row: a replay given --encoding latin-1 loads it as that
 * text. Ingesting the whole file again would load its other rows twice. Follows the column's name.
 */
export const STRAY_BYTES_REASON =
  'invalid unicode: bytes that are not UTF-8 (the file is read as UTF-8), kept in raw as their Latin-1 characters; if they are Latin-1, load the row with --replay-rejects <table> --encoding latin-1';
/** What tells STRAY_BYTES_REASON apart; RE2 (in SQL) and JavaScript read it alike. */
export const STRAY_BYTES_MATCH = 'kept in raw as their Latin-1 characters';

export const REJECTS_SCHEMA: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'file_path', required: false, type: 'string' },
    { id: 2, name: 'file_hash', required: false, type: 'string' },
    { id: 3, name: 'line', required: false, type: 'long' },
    { id: 4, name: 'reason', required: false, type: 'string' },
    { id: 5, name: 'raw', required: false, type: 'string' },
    { id: 6, name: 'format', required: false, type: 'string' },
    { id: 7, name: 'parse_options', required: false, type: 'string' },
    { id: 8, name: 'ingest_id', required: false, type: 'string' },
    { id: 9, name: 'rejected_at', required: false, type: 'timestamptz' },
  ],
};

/** A row of the quarantine table as the replay reads it. */
export interface RejectRow {
  file_path: string;
  file_hash: string;
  line: number | null;
  reason: string;
  raw: string;
  format: string;
  parse_options: string;
  ingest_id: string;
  rejected_at: string;
  /** rejected_at in milliseconds since 1970. */
  rejected_ms: number | null;
}

export function newRejectsMetadata(location: string): TableMetadata {
  return newTableMetadata({ location, schema: REJECTS_SCHEMA });
}

/**
 * What `parse_options` of a quarantine row holds: how the row was parsed and, for rows of a merge,
 * how they were loaded (`mode: 'merge'` and its `keys`), so a replay merges them by the same key.
 * Rows of an append or an overwrite carry no mode: a replay adds them to the table. `table` is the
 * table-uuid of the table the row was refused by: a replay leaves rows of a table dropped since (and
 * made again under its name) where they are. Rows kept as the file's text (a CSV line, a JSON record
 * as written) also keep how the ingest named its columns (`rename`, `safeNames`, `flatten`) and its
 * drift policy, so a replay reads them as the ingest did; rows kept as JSON objects of their values
 * are named already (`tableNames`) and keep the policy only. A --type is not kept: the table has every
 * column it typed, and its type (widened since, maybe) is the one a replay reads.
 */
export interface QuarantineOptions extends ParseOptions {
  mode?: Extract<IngestMode, 'merge'>;
  keys?: string[];
  table?: string;
  rename?: Record<string, string>;
  safeNames?: false;
  /** The JSON record's nested objects were read as columns of their own (`a.x` as `a_x`). */
  flatten?: true;
  /**
   * `raw` is the row rebuilt from its values, keyed by the table's column names: a replay reads those
   * names as they are. Named again as a file's would be, a column renamed to a keyword (`order`)
   * would become another one (`order_`).
   */
  tableNames?: true;
  schemaDrift?: SchemaDriftPolicy;
}

/** The load part of QuarantineOptions for rows loaded in `mode` with `keys`. */
export function loadedWith(mode: IngestMode, keys: readonly string[]): Pick<QuarantineOptions, 'mode' | 'keys'> {
  return mode === 'merge' ? { mode, keys: [...keys] } : {};
}

/** How the ingest named and fitted the columns of rows kept as the file's text (the defaults are left out). */
export function namedWith(options: ResolvedIngestOptions): Pick<QuarantineOptions, 'rename' | 'safeNames' | 'flatten' | 'schemaDrift'> {
  return {
    ...(Object.keys(options.rename).length > 0 ? { rename: options.rename } : {}),
    ...(options.safeNames ? {} : { safeNames: false as const }),
    ...(options.flatten ? { flatten: true as const } : {}),
    ...driftWith(options),
  };
}

/** The drift policy, unless the default: rows kept as JSON objects are named already, but a column the ingest dropped is still in them. */
export function driftWith(options: ResolvedIngestOptions): Pick<QuarantineOptions, 'schemaDrift'> {
  return options.schemaDrift === 'evolve' ? {} : { schemaDrift: options.schemaDrift };
}

/**
 * SELECT producing quarantine rows from `source` (line, reason, raw). Rows refused while parsing
 * keep the file's parse options; rows refused by type conversion hold the row as JSON.
 */
export function rejectsSelect(source: string, origin: { filePath: string; fileHash: string; ingestId: string; at: Date; parse: QuarantineOptions }): string {
  const literal = (value: string) => quoteString(value);
  return `SELECT ${literal(origin.filePath)} AS file_path, ${literal(origin.fileHash)} AS file_hash, CAST(line AS BIGINT) AS line, reason, raw,
    ${literal(origin.parse.format)} AS format, ${literal(JSON.stringify(origin.parse))} AS parse_options, ${literal(origin.ingestId)} AS ingest_id,
    TIMESTAMPTZ ${literal(origin.at.toISOString())} AS rejected_at FROM ${source}`;
}
