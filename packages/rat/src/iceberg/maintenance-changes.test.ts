import { describe, expect, it } from 'vitest';
import { changedOnlyByMaintenance } from './maintenance-changes.js';
import { newTableMetadata } from './metadata.js';
import { EXPIRED_LOADS_PROPERTY, rememberExpiredLoads } from './snapshot-lineage.js';
import type { Operation, Snapshot, TableMetadata } from './types.js';

const empty = newTableMetadata({ location: 'file:///w/t', schema: { type: 'struct', schemaId: 0, fields: [{ id: 1, name: 'id', required: false, type: 'long' }] } });

function snapshot(id: number, parent: number | undefined, operation: Operation): Snapshot {
  return {
    snapshotId: BigInt(id),
    ...(parent !== undefined ? { parentSnapshotId: BigInt(parent) } : {}),
    sequenceNumber: id,
    timestampMs: 1_700_000_000_000 + id,
    manifestList: `file:///w/t/metadata/snap-${id}.avro`,
    summary: { operation },
  };
}

/** The table with `snapshots` (by id, parent, operation), the last one current. */
function withSnapshots(...snapshots: Snapshot[]): TableMetadata {
  const current = snapshots.at(-1)!.snapshotId;
  return { ...empty, snapshots, currentSnapshotId: current, refs: { main: { snapshotId: current, type: 'branch' } } };
}

describe('changedOnlyByMaintenance', () => {
  const base = withSnapshots(snapshot(1, undefined, 'append'), snapshot(2, 1, 'append'));

  it('accepts expired snapshots and compactions on top of the base, also after the base snapshot expired', () => {
    expect(changedOnlyByMaintenance(base, withSnapshots(snapshot(2, 1, 'append')))).toBe(true);
    expect(changedOnlyByMaintenance(base, withSnapshots(...base.snapshots, snapshot(3, 2, 'replace'), snapshot(4, 3, 'replace')))).toBe(true);
    expect(changedOnlyByMaintenance(base, withSnapshots(snapshot(3, 2, 'replace')))).toBe(true);
  });

  it('accepts the expired loads an expiry remembers: history, not a setting', () => {
    const loads = { ...base.snapshots[0]!, summary: { operation: 'append' as const, 'rat.ingest.file': 'a.csv' } };
    const loaded = withSnapshots(loads, snapshot(2, 1, 'append'));
    const expired = rememberExpiredLoads(loaded, withSnapshots(snapshot(2, 1, 'append')), new Set([1n]));
    expect(expired.properties[EXPIRED_LOADS_PROPERTY]).toBe('{"tip":"1","snapshots":["1"],"latest":[{"snapshot":"1","timestampMs":1700000000001,"summary":{"rat.ingest.file":"a.csv"}}]}');
    expect(changedOnlyByMaintenance(loaded, expired)).toBe(true);
  });

  it('counts new data, a rollback and a changed setting as a change', () => {
    expect(changedOnlyByMaintenance(base, withSnapshots(...base.snapshots, snapshot(3, 2, 'append'), snapshot(4, 3, 'replace')))).toBe(false);
    expect(changedOnlyByMaintenance(base, withSnapshots(...base.snapshots, snapshot(3, 2, 'delete')))).toBe(false);
    expect(changedOnlyByMaintenance(base, withSnapshots(snapshot(1, undefined, 'append')))).toBe(false);
    expect(changedOnlyByMaintenance(base, { ...base, properties: { 'write.parquet.compression-codec': 'gzip' } })).toBe(false);
    expect(changedOnlyByMaintenance(empty, withSnapshots(snapshot(1, undefined, 'append')))).toBe(false);
  });
});
