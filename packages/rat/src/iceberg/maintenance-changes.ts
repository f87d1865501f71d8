import { serializeTableMetadata, snapshotById } from './metadata.js';
import { EXPIRED_LOADS_PROPERTY } from './snapshot-lineage.js';
import type { TableMetadata } from './types.js';

/**
 * The metadata a reader sees apart from snapshots and their history: schemas, partition specs,
 * sort orders, properties and the table's own Iceberg refs other than `main` (which follows the
 * current snapshot). Two versions with the same text here read alike at the same snapshot.
 */
function settingsText(meta: TableMetadata): string {
  const { main: _main, ...refs } = meta.refs;
  // Snapshot expiry writes this list (history, not a setting).
  const { [EXPIRED_LOADS_PROPERTY]: _expired, ...properties } = meta.properties;
  return serializeTableMetadata({ ...meta, lastSequenceNumber: 0, lastUpdatedMs: 0, currentSnapshotId: undefined, refs, properties, snapshots: [], snapshotLog: [], metadataLog: [] });
}

/**
 * Whether `later` differs from `base` only by maintenance: the same settings, and either the same
 * current snapshot (older snapshots may have expired) or a current snapshot reached from `base`'s
 * through `replace` snapshots only. A `replace` rewrites files without changing data (spec
 * "Snapshots": "used to compact data files"); the parent id a snapshot records survives the expiry
 * of that parent, so the chain can be followed after expiry too. Anything else, including a
 * rollback, counts as a change.
 */
export function changedOnlyByMaintenance(base: TableMetadata, later: TableMetadata): boolean {
  if (settingsText(base) !== settingsText(later)) return false;
  let id = later.currentSnapshotId;
  // A snapshot's parent chain cannot be longer than the snapshots there are; the bound stops a cycle in hand-made metadata.
  for (let steps = 0; id !== base.currentSnapshotId; steps++) {
    if (id === undefined || steps > later.snapshots.length) return false;
    const snapshot = snapshotById(later, id);
    if (snapshot?.summary.operation !== 'replace') return false;
    id = snapshot.parentSnapshotId;
  }
  return true;
}
