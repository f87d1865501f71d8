import { afterEach, describe, expect, it } from 'vitest';
import { parseTableIdent } from '../catalog/identifiers.js';
import { expirableSnapshots, expireSnapshots, snapshotsHeldByRefs } from './expire-snapshots.js';
import { removeOrphanFiles } from './orphan-files.js';
import { createLakeFixture, rowsOf } from './test-support/lake-fixture.js';

const fixture = createLakeFixture();
afterEach(() => fixture.cleanup());

const t = parseTableIdent('bronze.t');
const later = () => Date.now() + 60_000;

async function tableWithInserts(count: number) {
  const home = await fixture.home();
  const lake = await fixture.open(home);
  await lake.sql('CREATE TABLE bronze.t (id BIGINT, v VARCHAR)');
  for (let i = 1; i <= count; i++) await lake.sql(`INSERT INTO bronze.t VALUES (${i}, 'v${i}')`);
  return { home, lake };
}

describe('expireSnapshots', () => {
  it('keeps snapshots younger than the retention and expires older ones, never the current', async () => {
    const { lake } = await tableWithInserts(3);
    const before = await lake.snapshots('bronze.t');
    expect(before).toHaveLength(3);

    const held = (await snapshotsHeldByRefs(lake.catalog)).get('bronze.t')!;
    const young = await expireSnapshots(lake.catalog, 'main', t, held, { retainMs: 3_600_000 });
    expect(young.expiredSnapshotIds).toEqual([]);
    expect(await lake.snapshots('bronze.t')).toHaveLength(3);

    const old = await expireSnapshots(lake.catalog, 'main', t, held, { retainMs: 0, nowMs: later() });
    expect(old.expiredSnapshotIds).toEqual([before[0]!.snapshotId, before[1]!.snapshotId]);
    const after = await lake.snapshots('bronze.t');
    expect(after.map((s) => s.snapshotId)).toEqual([before[2]!.snapshotId]);
    expect(after[0]!.current).toBe(true);
    expect(await rowsOf(lake, 'bronze.t')).toHaveLength(3);
  });

  it('keeps the newest N snapshots whatever their age', async () => {
    const { lake } = await tableWithInserts(4);
    const before = await lake.snapshots('bronze.t');
    const result = await expireSnapshots(lake.catalog, 'main', t, new Set(), { retainMs: 0, retainLast: 2, nowMs: later() });
    expect(result.expiredSnapshotIds).toEqual([before[0]!.snapshotId, before[1]!.snapshotId]);
    expect((await lake.snapshots('bronze.t')).map((s) => s.snapshotId)).toEqual([before[2]!.snapshotId, before[3]!.snapshotId]);
  });

  it('changes nothing on a dry run', async () => {
    const { lake } = await tableWithInserts(3);
    const location = (await lake.loadTable('bronze.t')).metadataLocation;
    const result = await expireSnapshots(lake.catalog, 'main', t, new Set(), { retainMs: 0, nowMs: later(), dryRun: true });
    expect(result.expiredSnapshotIds).toHaveLength(2);
    expect((await lake.loadTable('bronze.t')).metadataLocation).toBe(location);
  });

  it('keeps a snapshot only a tag or another branch references, and its rows stay readable after orphan removal', async () => {
    const { home, lake } = await tableWithInserts(1);
    await lake.catalog.refs.create('tag', 'v1');
    await lake.sql("INSERT INTO bronze.t VALUES (2, 'v2')");
    await lake.catalog.refs.create('branch', 'dev');
    await lake.sql("INSERT INTO bronze.t VALUES (3, 'v3')");
    await lake.sql("INSERT INTO bronze.t VALUES (4, 'v4')");
    const [s1, s2, s3, s4] = await lake.snapshots('bronze.t');

    const held = (await snapshotsHeldByRefs(lake.catalog)).get('bronze.t')!;
    expect([...held].sort()).toEqual([s1!.snapshotId, s2!.snapshotId, s4!.snapshotId].sort());
    const result = await expireSnapshots(lake.catalog, 'main', t, held, { retainMs: 0, nowMs: later() });
    expect(result.expiredSnapshotIds).toEqual([s3!.snapshotId]);
    expect((await lake.snapshots('bronze.t')).map((s) => s.snapshotId)).toEqual([s1!.snapshotId, s2!.snapshotId, s4!.snapshotId]);

    await expireSnapshots(lake.catalog, 'dev', t, held, { retainMs: 0, nowMs: later() });
    const removed = await removeOrphanFiles(lake.catalog, { graceMs: 0 });
    expect(removed.removed.length).toBeGreaterThan(0);
    expect(await rowsOf(await fixture.open(home, 'v1'), 'bronze.t')).toEqual([JSON.stringify({ id: 1, v: 'v1' })]);
    expect(await rowsOf(await fixture.open(home, 'dev'), 'bronze.t')).toHaveLength(2);
    expect(await rowsOf(lake, 'bronze.t')).toHaveLength(4);
  });

  it('holds snapshots Iceberg refs of the table metadata name', async () => {
    const { lake } = await tableWithInserts(3);
    const table = await lake.loadTable('bronze.t');
    const [s1] = table.metadata.snapshots;
    const metadata = { ...table.metadata, refs: { ...table.metadata.refs, audit: { snapshotId: s1!.snapshotId, type: 'tag' as const } } };
    expect(expirableSnapshots(metadata, new Set(), { retainMs: 0, retainLast: 1, nowMs: later() })).toEqual([table.metadata.snapshots[1]!.snapshotId]);
  });
});
