import { expect } from 'vitest';
import type { SnapshotInfo } from '../lakehouse.js';

/**
 * `count` snapshots forming one chain: each one's parent is the snapshot before it, sequence
 * numbers run 1..count without gaps or repeats, and the last one is current.
 */
export function expectLinearHistory(snapshots: SnapshotInfo[], count: number, context = ''): void {
  expect(snapshots, context).toHaveLength(count);
  expect(new Set(snapshots.map((s) => s.snapshotId)).size, context).toBe(count);
  snapshots.forEach((snapshot, i) => {
    expect(snapshot.parentSnapshotId, `${context} parent of snapshot #${i + 1}`).toBe(i === 0 ? undefined : snapshots[i - 1]!.snapshotId);
    expect(snapshot.sequenceNumber, `${context} sequence number of snapshot #${i + 1}`).toBe(i + 1);
    expect(snapshot.current, `${context} snapshot #${i + 1} is current`).toBe(i === count - 1);
  });
  expect(snapshots.reduce((sum, s) => sum + s.sequenceNumber, 0), context).toBe((count * (count + 1)) / 2);
}
