import { RatError } from '../core/errors.js';
import { removeStagingDirs, removeTempFiles } from '../storage/index.js';
import { createOutput } from './output.js';

/** Whether the command line asked for JSON (set once it is parsed): the interruption is then the JSON error object every error is. */
let json = false;

export function reportInterruptionAsJson(on: boolean): void {
  json = on;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM ends the process as before (exit 128 + the signal's number), after
 * removing the staging files and partly written files of the work in progress and saying so: without this, the process died
 * mid-line with no word, leaving a partial Parquet file and a hard link to the source behind. A file
 * whose commit (one catalog transaction) had not started is not committed; files a batch committed before stay.
 * For the `rat` executable only; a process that embeds main() keeps its own signal handling.
 */
export function exitCleanlyOnInterrupt(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      try {
        removeStagingDirs();
        // A partly written landing file (rat upload) or table file, under its temp name.
        removeTempFiles();
      } finally {
        // A progress line rewritten in place has no newline yet.
        if (process.stderr.isTTY) process.stderr.write('\n');
        const message = `interrupted (${signal}): staging files removed; a file whose commit had not started is not committed (the registry lists what was)`;
        if (json) createOutput({ json: true }).error(new RatError('INTERRUPTED', message));
        else process.stderr.write(`rat: ${message}\n`);
        process.exit(code);
      }
    });
  }
}
