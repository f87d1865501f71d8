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
 * `latest` keeps the `rat.ingest.*` summary of the newest expired load of each kind (mode, and
 * whether a replay): which load the table's rows come from, once no retained snapshot says it (an
 * overwrite followed by SQL edits only), is still known.
 */
export const EXPIRED_LOADS_PROPERTY = 'rat.expired-loads';

/** What the history keeps of an expired load: when it committed and its `rat.ingest.*` summary. */
export interface LoadRecord {
  snapshotId: bigint;
  timestampMs: number;
  summary: Record<string, string>;
}

interface StoredLoad {
  snapshot: string;
  timestampMs: number;
  summary: Record<string, string>;
}

interface ExpiredLoads {
  tip: string;
  snapshots: string[];
  latest?: StoredLoad[];
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

/**
 * The current history, newest first: the snapshots the metadata holds, then what expiry kept of the
 * newest expired load of each kind (see EXPIRED_LOADS_PROPERTY).
 */
export function loadHistory(metadata: TableMetadata): LoadRecord[] {
  const { snapshots, missingParent } = walk(metadata);
  const expired = expiredLoads(metadata);
  if (!expired?.latest || missingParent?.toString() !== expired.tip) return snapshots;
  const kept = expired.latest.map((load) => ({ snapshotId: BigInt(load.snapshot), timestampMs: load.timestampMs, summary: load.summary }));
  return [...snapshots, ...kept.sort((a, b) => b.timestampMs - a.timestampMs)];
}

/** The kind of load a snapshot is, of which expiry keeps the newest: its mode (a group commit is an append), and whether a replay. */
function loadKind(summary: Record<string, string>): string {
  return `${summary['rat.ingest.mode'] ?? 'append'}${summary['rat.ingest.replay'] !== undefined ? ' replay' : ''}`;
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
    const latest = Array.isArray(parsed.latest) ? parsed.latest.filter((l) => typeof l?.snapshot === 'string' && /^-?\d+$/.test(l.snapshot) && typeof l.timestampMs === 'number' && typeof l.summary === 'object' && l.summary !== null) : [];
    return { tip: parsed.tip, snapshots: parsed.snapshots, latest };
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
  const carried = earlier && missingParent?.toString() === earlier.tip ? earlier : undefined;
  // Oldest first, like the history they continue.
  const expiredLoadSnapshots = snapshots.slice(breakAt).filter(isLoad).reverse();
  const { [EXPIRED_LOADS_PROPERTY]: _previous, ...properties } = next.properties;
  const loads = [...new Set([...(carried?.snapshots ?? []), ...expiredLoadSnapshots.map((s) => s.snapshotId.toString())])];
  if (loads.length === 0) return { ...next, properties };
  // Newer loads come later and replace an older one of their kind.
  const latest = new Map<string, StoredLoad>();
  const newlyExpired = expiredLoadSnapshots.map(storedLoad).filter((load) => Object.keys(load.summary).length > 0);
  for (const load of [...(carried?.latest ?? []), ...newlyExpired]) latest.set(loadKind(load.summary), load);
  const value: ExpiredLoads = { tip: snapshots[breakAt]!.snapshotId.toString(), snapshots: loads, latest: [...latest.values()] };
  return { ...next, properties: { ...properties, [EXPIRED_LOADS_PROPERTY]: JSON.stringify(value) } };
}

function storedLoad(snapshot: Snapshot): StoredLoad {
  const summary = Object.fromEntries(Object.entries(snapshot.summary).filter(([key]) => key.startsWith('rat.ingest.')));
  return { snapshot: snapshot.snapshotId.toString(), timestampMs: snapshot.timestampMs, summary };
}
