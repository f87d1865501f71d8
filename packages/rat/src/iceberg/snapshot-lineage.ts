import type { Snapshot, TableMetadata } from './types.js';

/**
 * Table property naming the load snapshots (an ingest's or a source cursor's commit: summary keys
 * `rat.ingest.*`, `rat.cursor.*`) of the current history that snapshot expiry removed. The file
 * registry and incremental sources ask "is snapshot S in the table's history?" (its rows are still
 * there, its cursor still holds); after expiry S is gone from the metadata, which made an expired
 * load look like one a rollback undid: `--skip-existing` loaded its file again and an incremental
 * source started over, duplicating rows. Only loads are kept (an id each), so the property stays
 * small next to the snapshots expiry removes. JSON: `{"tip": "<id>", "snapshots": ["<id>", ...]}`,
 * where `tip` is the expired parent at which the retained history breaks off: the list applies to
 * a history that reaches that parent (after a rollback to a fork whose own parents expired, it does not).
 */
export const EXPIRED_LOADS_PROPERTY = 'rat.expired-loads';

interface ExpiredLoads {
  tip: string;
  snapshots: string[];
}

/** The current snapshot and its parents, newest first, as far as the metadata holds them, and the parent id where that stops. */
function walk(metadata: TableMetadata): { snapshots: Snapshot[]; missingParent?: bigint } {
  const byId = new Map(metadata.snapshots.map((s) => [s.snapshotId, s]));
  const seen = new Set<bigint>();
  const snapshots: Snapshot[] = [];
  let id = metadata.currentSnapshotId;
  for (let snapshot = id === undefined ? undefined : byId.get(id); snapshot && !seen.has(snapshot.snapshotId); snapshot = id === undefined ? undefined : byId.get(id)) {
    seen.add(snapshot.snapshotId);
    snapshots.push(snapshot);
    id = snapshot.parentSnapshotId;
  }
  return id !== undefined && !byId.has(id) ? { snapshots, missingParent: id } : { snapshots };
}

/** The current snapshot and its parents that the metadata still holds, newest first. */
export function snapshotLineage(metadata: TableMetadata): Snapshot[] {
  return walk(metadata).snapshots;
}

/** Ids (decimal) of the snapshots in the current history: those the metadata holds, and the expired loads of it. */
export function lineageIds(metadata: TableMetadata): Set<string> {
  const { snapshots, missingParent } = walk(metadata);
  const ids = new Set(snapshots.map((s) => s.snapshotId.toString()));
  const expired = expiredLoads(metadata);
  if (expired && missingParent?.toString() === expired.tip) for (const id of expired.snapshots) ids.add(id);
  return ids;
}

function isLoad(snapshot: Snapshot): boolean {
  return Object.keys(snapshot.summary).some((key) => key.startsWith('rat.ingest.') || key.startsWith('rat.cursor.'));
}

function expiredLoads(metadata: TableMetadata): ExpiredLoads | undefined {
  const text = metadata.properties[EXPIRED_LOADS_PROPERTY];
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<ExpiredLoads>;
    if (typeof parsed.tip !== 'string' || !Array.isArray(parsed.snapshots) || !parsed.snapshots.every((s) => typeof s === 'string')) return undefined;
    return { tip: parsed.tip, snapshots: parsed.snapshots };
  } catch {
    // Written by hand or by another tool: no list, as before there was one.
    return undefined;
  }
}

/**
 * `next`, which is `base` without the `expired` snapshots, with the loads of `base`'s current history
 * among them (and any retained ones beyond the break, which the history cannot reach any more)
 * added to EXPIRED_LOADS_PROPERTY. A list that applied to `base`'s history is carried over.
 */
export function rememberExpiredLoads(base: TableMetadata, next: TableMetadata, expired: ReadonlySet<bigint>): TableMetadata {
  const { snapshots, missingParent } = walk(base);
  const breakAt = snapshots.findIndex((s) => expired.has(s.snapshotId));
  if (breakAt < 0) return next;
  const earlier = expiredLoads(base);
  const carried = earlier && missingParent?.toString() === earlier.tip ? earlier.snapshots : [];
  // Oldest first, like the history they continue.
  const added = snapshots.slice(breakAt).filter(isLoad).reverse().map((s) => s.snapshotId.toString());
  const { [EXPIRED_LOADS_PROPERTY]: _previous, ...properties } = next.properties;
  const loads = [...new Set([...carried, ...added])];
  if (loads.length === 0) return { ...next, properties };
  const value: ExpiredLoads = { tip: snapshots[breakAt]!.snapshotId.toString(), snapshots: loads };
  return { ...next, properties: { ...properties, [EXPIRED_LOADS_PROPERTY]: JSON.stringify(value) } };
}
