#!/usr/bin/env node
import { exitCleanlyOnInterrupt } from '../dist/cli/interrupt.js';
import { main } from '../dist/cli/main.js';

// A closed pipe (rat sql ... | head) ends the output, not the process with a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

exitCleanlyOnInterrupt();
process.exitCode = await main(process.argv);
