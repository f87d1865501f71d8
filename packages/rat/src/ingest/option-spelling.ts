import type { FilePosition } from './input-file-error.js';
import type { BadRowPolicy, IngestMode, SchemaDriftPolicy } from './ingest-options.js';

/**
 * How the caller's user writes the ingest options, so that advice in a message names what that user
 * can change: `--type id=BIGINT` for `rat ingest`, `endpoints[0].ingest.types.id: BIGINT` in an API
 * config. The messages are written once (schema-plan.ts, ingest-file.ts); only the spelling varies.
 */
export interface OptionSpelling {
  /** The option that gives `column` a type: `--type id=BIGINT`; without `sqlType`, the option itself (`--type id`). */
  type(column: string, sqlType?: string): string;
  /** The column types option as a whole: `--type`. */
  types: string;
  schemaDrift(policy: SchemaDriftPolicy): string;
  onError(policy: BadRowPolicy): string;
  mode(mode: IngestMode): string;
  /** Renaming a source column: `--rename "Order Date=ordered_on"`. */
  rename(from: string, to: string): string;
  /** The rename option as a whole: `--rename`. */
  renames: string;
  /** Turning safe names back on: `drop --keep-names`. */
  safeNamesOn: string;
  /** Turning lineage off: `--no-lineage`. */
  lineageOff: string;
  /** The partitioning option: `--partition-by`. */
  partitionBy: string;
  /** What one ingest reads, as advice names it: `the file`, `the run` (of an API endpoint). */
  input: string;
  /** The options that fix values read wrongly, for advice: `--type or --date-format`. */
  typeAdvice: string;
  /** Where in the input the ingest's line `n` is: `line 5` of a file, `record 5 of the run` of a source's records. */
  position(n: number): FilePosition;
  /** Between options listed together: `--type a=VARCHAR --type b=VARCHAR`. */
  separator: string;
}

/** The flags of `rat ingest` (and the SDK, whose option names are the flags' camelCase). */
export const FLAG_SPELLING: OptionSpelling = {
  type: (column, sqlType) => `--type ${column}${sqlType === undefined ? '' : `=${sqlType}`}`,
  types: '--type',
  schemaDrift: (policy) => `--schema-drift ${policy}`,
  onError: (policy) => `--on-error ${policy}`,
  mode: (mode) => `--mode ${mode}`,
  rename: (from, to) => `--rename ${JSON.stringify(`${from}=${to}`)}`,
  renames: '--rename',
  safeNamesOn: 'drop --keep-names',
  lineageOff: '--no-lineage',
  partitionBy: '--partition-by',
  input: 'the file',
  position: (n) => ({ line: n }),
  typeAdvice: '--type or --date-format',
  separator: ' ',
};

/**
 * The `ingest:` settings under a config path (`endpoints[0]`): `endpoints[0].ingest.types.id: BIGINT`,
 * for a source whose records are numbered in the run (an API's, across its pages).
 */
export function configSpelling(at: string, input: string): OptionSpelling {
  return {
    type: (column, sqlType) => `${at}.ingest.types.${column}${sqlType === undefined ? '' : `: ${sqlType}`}`,
    types: `${at}.ingest.types`,
    schemaDrift: (policy) => `${at}.ingest.schemaDrift: ${policy}`,
    onError: (policy) => `${at}.ingest.onError: ${policy}`,
    mode: (mode) => `${at}.ingest.mode: ${mode}`,
    rename: (from, to) => `${at}.ingest.rename: { ${JSON.stringify(from)}: ${to} }`,
    renames: `${at}.ingest.rename`,
    safeNamesOn: `remove ${at}.ingest.safeNames: false`,
    lineageOff: `${at}.ingest.lineage: false`,
    partitionBy: `${at}.ingest.partitionBy`,
    input,
    position: (n) => ({ record: n }),
    typeAdvice: `${at}.ingest.types`,
    separator: ', ',
  };
}
