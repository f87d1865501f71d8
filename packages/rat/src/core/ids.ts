import { randomBytes, randomUUID } from 'node:crypto';

/** A positive snapshot id below 2^53, so every JSON reader keeps it exact. */
export function newSnapshotId(): bigint {
  const bytes = randomBytes(8);
  const value = bytes.readBigUInt64BE() & ((1n << 53n) - 1n);
  return value === 0n ? 1n : value;
}

export function newUuid(): string {
  return randomUUID();
}

/** A catalog commit id: 16 hex digits (64 random bits), short enough to type, shown whole in `rat log`. */
export function newCommitId(): string {
  return randomBytes(8).toString('hex');
}
