import { describeCommitFaults } from './test-support/commit-fault-suite.js';

// The object store and the metadata DB failing inside INSERT and transaction commits; see the suite.
describeCommitFaults('sqlite');
