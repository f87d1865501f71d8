import type { ObjectStore } from './object-store.js';

/**
 * The files of one commit, written with durability deferred: `store` is the object store with every
 * `put` and `putFile` deferred and its key recorded, and `sync()` makes all recorded files durable
 * at once. The commit calls it just before the catalog swap that makes them reachable, so a commit
 * waits for the disk once instead of once per file, and a crash before the swap loses only files
 * nothing references (maintenance removes them as orphans).
 */
export interface DeferredWrites {
  readonly store: ObjectStore;
  sync(): Promise<void>;
  /** Takes over another commit's unsynced files: this one's sync makes them durable (one sync for many writers). */
  absorb(other: DeferredWrites): void;
  /** The files not synced yet, handed over and forgotten here (see absorb). */
  drain(): string[];
}

export function deferWrites(store: ObjectStore): DeferredWrites {
  let pending: string[] = [];
  return {
    store: {
      ...store,
      async put(key, data) {
        await store.put(key, data, { deferSync: true });
        pending.push(key);
      },
      async putFile(key, localPath, options = {}) {
        await store.putFile(key, localPath, { ...options, deferSync: true });
        pending.push(key);
      },
      // A file written and then given up (a read done again) is no longer one to sync.
      async delete(key) {
        await store.delete(key);
        pending = pending.filter((k) => k !== key);
      },
    },
    absorb(other) {
      pending.push(...other.drain());
    },
    drain() {
      return pending.splice(0);
    },
    async sync() {
      if (pending.length === 0) return;
      const keys = pending.slice();
      await store.sync(keys);
      // Only what is durable leaves the list: after a failure the next sync tries every file again.
      pending = pending.slice(keys.length);
    },
  };
}
