import { openLakehouse, type Lakehouse } from '../engine/lakehouse.js';
import { createIngestion, type Ingestion } from '../ingest/index.js';
import { createOutput, type Output } from './output.js';

export interface GlobalOptions {
  json?: boolean;
  home?: string;
  /** The branch, tag or commit to work on (else RAT_BRANCH, else the git branch's data branch, else main). */
  branch?: string;
}

/** Opens the lakehouse for one command, and always closes it. */
export async function withLakehouse<T>(options: GlobalOptions, run: (rat: Lakehouse, out: Output, ingestion: Ingestion) => Promise<T>): Promise<T> {
  const out = createOutput({ json: options.json ?? false });
  const rat = await openLakehouse({ ...(options.home ? { home: options.home } : {}), ...(options.branch ? { branch: options.branch } : {}) });
  // Also makes bronze._file_registry readable in every command's SQL.
  const ingestion = createIngestion(rat);
  try {
    return await run(rat, out, ingestion);
  } finally {
    await rat.close();
  }
}
