#!/usr/bin/env node
import { exitCleanlyOnInterrupt } from '../dist/cli/interrupt.js';
import { main } from '../dist/cli/main.js';
import { closeStdout } from '../dist/cli/output.js';

// A closed pipe (rat sql ... | head) ends the output, not the process with a stack trace; a streamed
// result stops there, other commands finish their work and exit with their own code.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') return closeStdout();
  throw error;
});
// Progress and errors on a closed pipe (rat ingest ... 2>&1 | head -1) are dropped: the work goes on
// (the write error, unhandled, ended an ingest half way, leaving its staging files behind).
process.stderr.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
});

exitCleanlyOnInterrupt();
process.exitCode = await main(process.argv);
