import { openLakehouse, type Lakehouse } from '../engine/lakehouse.js';
import { createOutput, type Output } from './output.js';

export interface GlobalOptions {
  json?: boolean;
  home?: string;
}

/** Opens the lakehouse for one command, and always closes it. */
export async function withLakehouse<T>(options: GlobalOptions, run: (rat: Lakehouse, out: Output) => Promise<T>): Promise<T> {
  const out = createOutput({ json: options.json ?? false });
  const rat = await openLakehouse({ ...(options.home ? { home: options.home } : {}) });
  try {
    return await run(rat, out);
  } finally {
    await rat.close();
  }
}
