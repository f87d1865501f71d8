import { describeConcurrentWriters } from './test-support/concurrent-writers-suite.js';

// Eight writers in four processes committing to one branch, and conflicting rewrites; see the suite.
describeConcurrentWriters('sqlite');
