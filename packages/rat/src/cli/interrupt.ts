import { RatError } from '../core/errors.js';
import { removeTempFiles } from '../storage/atomic-file.js';
import { removeStagingDirs } from '../storage/local-file.js';
import { abortUploads } from '../storage/multipart-uploads.js';
import { createOutput } from './output.js';

/** How long an interrupted process waits for S3 to abort its multipart uploads before it exits. */
const ABORT_TIMEOUT_MS = 3000;

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
let interrupted = false;

/**
 * Whether the process is stopping on Ctrl-C: while it aborts its S3 uploads, the work they belonged
 * to fails with the abort, which is no error to report (the interrupt says what happened).
 */
export function isInterrupted(): boolean {
  return interrupted;
}

export function exitCleanlyOnInterrupt(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, async () => {
      interrupted = true;
      try {
        removeStagingDirs();
        // A partly written landing file (rat upload) or table file, under its temp name.
        removeTempFiles();
        // On S3: the parts of an interrupted multipart upload, for a few seconds at most.
        await abortUploads(ABORT_TIMEOUT_MS);
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
