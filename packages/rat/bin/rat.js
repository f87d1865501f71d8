#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// A closed pipe (rat sql ... | head) ends the output, not the process with a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv);
