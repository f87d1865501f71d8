import type { BeforeMetadataStatement } from '../../catalog/metadata-db.js';
import type { ObjectStore } from '../../storage/object-store.js';

/** Fail the `at`-th operation only, or it and every operation after it. */
export interface FaultPlan {
  at: number;
  mode: 'once' | 'from';
  /** The error a failing operation throws, given what the operation was. */
  error(operation: string): Error;
}

/**
 * Counts the operations of one layer (object store calls, metadata-DB statements) between `start`
 * and `stop`, and fails them as the plan says. Outside start/stop nothing is counted or failed.
 */
export class FaultSwitch {
  operations: string[] = [];
  /** Every operation that was failed, in order. */
  failed: string[] = [];
  #active = false;
  #plan: FaultPlan | undefined;

  start(plan?: FaultPlan): void {
    this.operations = [];
    this.failed = [];
    this.#plan = plan;
    this.#active = true;
  }

  stop(): void {
    this.#active = false;
    this.#plan = undefined;
  }

  check(operation: string): void {
    if (!this.#active) return;
    this.operations.push(operation);
    const n = this.operations.length;
    const plan = this.#plan;
    if (plan && (n === plan.at || (plan.mode === 'from' && n > plan.at))) {
      this.failed.push(operation);
      throw plan.error(operation);
    }
  }
}

/** An object store whose every call passes through `faults` first (`<method> <key>` is the operation). */
export function faultyStore(inner: ObjectStore, faults: FaultSwitch): ObjectStore {
  return {
    kind: inner.kind,
    uri: (key) => inner.uri(key),
    keyOf: (uri) => inner.keyOf(uri),
    async get(key) {
      faults.check(`get ${key}`);
      return inner.get(key);
    },
    async put(key, data, options) {
      faults.check(`put ${key}`);
      return inner.put(key, data, options);
    },
    async putFile(key, localPath, options) {
      faults.check(`putFile ${key}`);
      return inner.putFile(key, localPath, options);
    },
    async sync(keys) {
      faults.check(`sync ${keys.join(',')}`);
      return inner.sync(keys);
    },
    async exists(key) {
      faults.check(`exists ${key}`);
      return inner.exists(key);
    },
    async head(key) {
      faults.check(`head ${key}`);
      return inner.head(key);
    },
    async delete(key) {
      faults.check(`delete ${key}`);
      return inner.delete(key);
    },
    async *list(prefix) {
      faults.check(`list ${prefix}`);
      yield* inner.list(prefix);
    },
    async localPath(key) {
      faults.check(`localPath ${key}`);
      return inner.localPath(key);
    },
    async stagingDir() {
      faults.check('stagingDir');
      return inner.stagingDir();
    },
    whileStaging: (dir, write) => inner.whileStaging(dir, write),
  };
}

/** A metadata-DB hook passing every statement through `faults` (the statement's SQL is the operation). */
export function faultyStatements(faults: FaultSwitch): BeforeMetadataStatement {
  return (sql) => faults.check(sql.replace(/\s+/g, ' ').trim());
}
