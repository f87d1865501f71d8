import { describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Predicate } from './predicate.js';
import { planScan, type LoadedManifest, type PlannedScan } from './scan-planner.js';
import type {
  DataFile,
  FieldSummary,
  IcebergValue,
  ManifestEntry,
  ManifestFile,
  PartitionSpec,
  PrimitiveType,
  Schema,
  TableMetadata,
} from './types.js';
import { encodeValue } from './values.js';

// ---------------------------------------------------------------------------------------------
// Hand-built tables: metadata plus in-memory manifest lists and manifests.

const schema: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'id', required: false, type: 'long' },
    { id: 2, name: 'n', required: false, type: 'int' },
    { id: 3, name: 'd', required: false, type: 'date' },
    { id: 4, name: 'ts', required: false, type: 'timestamp' },
    { id: 5, name: 'amount', required: false, type: 'decimal(10, 2)' },
    { id: 6, name: 's', required: false, type: 'string' },
    { id: 7, name: 'x', required: false, type: 'double' },
    { id: 8, name: 'flag', required: false, type: 'boolean' },
    { id: 9, name: 'tags', required: false, type: { type: 'list', elementId: 10, elementRequired: false, element: 'string' } },
    {
      id: 11,
      name: 'address',
      required: false,
      type: { type: 'struct', fields: [{ id: 12, name: 'city', required: false, type: 'string' }] },
    },
  ],
};

const unpartitioned: PartitionSpec = { specId: 0, fields: [] };

interface ManifestFixture {
  path: string;
  specId?: number;
  content?: 0 | 1;
  sequenceNumber?: number;
  partitions?: FieldSummary[];
  addedFilesCount?: number;
  existingFilesCount?: number;
  schemaJson?: string;
  entries: ManifestEntry[];
}

interface SnapshotFixture {
  id: bigint;
  sequenceNumber: number;
  schemaId?: number;
  manifests: ManifestFixture[];
}

interface TableFixture {
  formatVersion?: 1 | 2;
  schemas?: Schema[];
  currentSchemaId?: number;
  specs?: PartitionSpec[];
  snapshots: SnapshotFixture[];
  currentSnapshotId?: bigint;
}

function table(fixture: TableFixture) {
  const lists = new Map<string, ManifestFile[]>();
  const manifests = new Map<string, LoadedManifest>();
  const loaded: string[] = [];
  for (const snapshot of fixture.snapshots) {
    const list = snapshot.manifests.map((m): ManifestFile => {
      manifests.set(m.path, {
        entries: m.entries,
        specId: m.specId ?? 0,
        content: m.content === 1 ? 'deletes' : 'data',
        formatVersion: fixture.formatVersion ?? 2,
        ...(m.schemaJson === undefined ? {} : { schemaJson: m.schemaJson }),
      });
      const manifestFile: ManifestFile = {
        manifestPath: m.path,
        manifestLength: 1000,
        partitionSpecId: m.specId ?? 0,
        content: m.content ?? 0,
        sequenceNumber: m.sequenceNumber ?? snapshot.sequenceNumber,
        minSequenceNumber: 0,
        addedSnapshotId: snapshot.id,
        addedFilesCount: m.addedFilesCount ?? m.entries.length,
        existingFilesCount: m.existingFilesCount ?? 0,
        deletedFilesCount: 0,
        addedRowsCount: 0,
        existingRowsCount: 0,
        deletedRowsCount: 0,
      };
      if (m.partitions !== undefined) manifestFile.partitions = m.partitions;
      return manifestFile;
    });
    lists.set(`snap-${snapshot.id}.avro`, list);
  }
  const last = fixture.snapshots.at(-1);
  const metadata: TableMetadata = {
    formatVersion: fixture.formatVersion ?? 2,
    tableUuid: '00000000-0000-0000-0000-000000000000',
    location: 'mem://db/t',
    lastSequenceNumber: last?.sequenceNumber ?? 0,
    lastUpdatedMs: 0,
    lastColumnId: 12,
    schemas: fixture.schemas ?? [schema],
    currentSchemaId: fixture.currentSchemaId ?? 0,
    partitionSpecs: fixture.specs ?? [unpartitioned],
    defaultSpecId: (fixture.specs ?? [unpartitioned]).at(-1)?.specId ?? 0,
    lastPartitionId: 1000,
    properties: {},
    snapshots: fixture.snapshots.map((s) => ({
      snapshotId: s.id,
      sequenceNumber: s.sequenceNumber,
      timestampMs: 0,
      manifestList: `snap-${s.id}.avro`,
      summary: { operation: 'append' as const },
      ...(s.schemaId === undefined ? {} : { schemaId: s.schemaId }),
    })),
    snapshotLog: [],
    metadataLog: [],
    sortOrders: [],
    defaultSortOrderId: 0,
    refs: {},
  };
  const current = fixture.currentSnapshotId ?? last?.id;
  if (current !== undefined) metadata.currentSnapshotId = current;

  const plan = (predicates: Predicate[] = [], snapshotId?: bigint): Promise<PlannedScan> =>
    planScan({
      metadata,
      predicates,
      ...(snapshotId === undefined ? {} : { snapshotId }),
      loadManifestList: async (location) => {
        const list = lists.get(location);
        if (list === undefined) throw new Error(`no manifest list ${location}`);
        return list;
      },
      loadManifest: async (location) => {
        const manifest = manifests.get(location);
        if (manifest === undefined) throw new Error(`no manifest ${location}`);
        loaded.push(location);
        return manifest;
      },
    });
  return { metadata, plan, loaded, lists, manifests };
}

interface ColumnStats {
  type: PrimitiveType;
  lower?: IcebergValue;
  upper?: IcebergValue;
  values?: number;
  nulls?: number;
  nans?: number;
  /** Bounds as written by an engine, e.g. 4-byte ints for a column since promoted to long. */
  boundType?: PrimitiveType;
}

function stats(columns: Record<number, ColumnStats>): Partial<DataFile> {
  const result: Partial<DataFile> = {};
  for (const [key, column] of Object.entries(columns)) {
    const id = Number(key);
    const boundType = column.boundType ?? column.type;
    if (column.lower !== undefined) (result.lowerBounds ??= new Map()).set(id, encodeValue(boundType, column.lower));
    if (column.upper !== undefined) (result.upperBounds ??= new Map()).set(id, encodeValue(boundType, column.upper));
    if (column.values !== undefined) (result.valueCounts ??= new Map()).set(id, column.values);
    if (column.nulls !== undefined) (result.nullValueCounts ??= new Map()).set(id, column.nulls);
    if (column.nans !== undefined) (result.nanValueCounts ??= new Map()).set(id, column.nans);
  }
  return result;
}

function file(path: string, extra: Partial<DataFile> = {}): DataFile {
  return { content: 0, filePath: path, fileFormat: 'PARQUET', partition: {}, recordCount: 10, fileSizeInBytes: 1000, ...extra };
}

function added(dataFile: DataFile, sequenceNumber?: number): ManifestEntry {
  return { status: 1, dataFile, ...(sequenceNumber === undefined ? {} : { sequenceNumber, fileSequenceNumber: sequenceNumber }) };
}

function existing(dataFile: DataFile, sequenceNumber: number): ManifestEntry {
  return { status: 0, dataFile, sequenceNumber, fileSequenceNumber: sequenceNumber };
}

function summary(type: PrimitiveType, lower: IcebergValue, upper: IcebergValue, containsNull = false): FieldSummary {
  const result: FieldSummary = { containsNull };
  if (lower !== null) result.lowerBound = encodeValue(type, lower);
  if (upper !== null) result.upperBound = encodeValue(type, upper);
  return result;
}

function paths(scan: PlannedScan): string[] {
  return scan.tasks.map((task) => task.dataFile.filePath).sort();
}

const eq = (fieldId: number, value: IcebergValue): Predicate => ({ kind: 'compare', op: 'eq', fieldId, value });
const lt = (fieldId: number, value: IcebergValue): Predicate => ({ kind: 'compare', op: 'lt', fieldId, value });
const lte = (fieldId: number, value: IcebergValue): Predicate => ({ kind: 'compare', op: 'lte', fieldId, value });
const gt = (fieldId: number, value: IcebergValue): Predicate => ({ kind: 'compare', op: 'gt', fieldId, value });
const gte = (fieldId: number, value: IcebergValue): Predicate => ({ kind: 'compare', op: 'gte', fieldId, value });
const neq = (fieldId: number, value: IcebergValue): Predicate => ({ kind: 'compare', op: 'neq', fieldId, value });
const isIn = (fieldId: number, values: IcebergValue[]): Predicate => ({ kind: 'in', fieldId, values });
const isNull = (fieldId: number): Predicate => ({ kind: 'isNull', fieldId });
const notNull = (fieldId: number): Predicate => ({ kind: 'notNull', fieldId });
const isNan = (fieldId: number): Predicate => ({ kind: 'isNan', fieldId });

const DAY_MS = 86_400_000;
const days = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;
const micros = (iso: string): bigint => BigInt(Date.parse(`${iso}Z`)) * 1000n;

/** One data manifest over `files` with the given spec, for pruning tests. */
function singleManifestTable(files: DataFile[], specs: PartitionSpec[] = [unpartitioned]) {
  const specId = specs.at(-1)?.specId ?? 0;
  return table({ specs, snapshots: [{ id: 1n, sequenceNumber: 1, manifests: [{ path: 'm1.avro', specId, entries: files.map((f) => added(f)) }] }] });
}

// ---------------------------------------------------------------------------------------------

describe('planScan: snapshots and entries', () => {
  it('plans nothing for a table without a snapshot', async () => {
    const t = table({ snapshots: [] });
    const scan = await t.plan([eq(1, 1n)]);
    expect(scan.tasks).toEqual([]);
    expect(scan.snapshotId).toBeUndefined();
    expect(scan.schema).toBe(schema);
    expect(scan.stats.manifestsTotal).toBe(0);
  });

  it('reads live entries only and inherits data sequence numbers of ADDED entries', async () => {
    const t = table({
      snapshots: [
        {
          id: 7n,
          sequenceNumber: 4,
          manifests: [
            {
              path: 'm1.avro',
              sequenceNumber: 4,
              entries: [added(file('a.parquet')), existing(file('b.parquet'), 2), { status: 2, dataFile: file('gone.parquet'), sequenceNumber: 1 }, added(file('c.parquet'), 3)],
            },
          ],
        },
      ],
    });
    const scan = await t.plan();
    expect(scan.snapshotId).toBe(7n);
    expect(scan.tasks.map((task) => [task.dataFile.filePath, task.dataSequenceNumber, task.specId])).toEqual([
      ['a.parquet', 4, 0],
      ['b.parquet', 2, 0],
      ['c.parquet', 3, 0],
    ]);
    expect(scan.stats).toEqual({
      manifestsTotal: 1,
      manifestsSkipped: 0,
      dataFilesTotal: 3,
      dataFilesSkippedByPartition: 0,
      dataFilesSkippedByBounds: 0,
      dataFilesSelected: 3,
      deleteFilesSelected: 0,
    });
  });

  it('uses data sequence number 0 for v1 tables', async () => {
    const t = table({ formatVersion: 1, snapshots: [{ id: 1n, sequenceNumber: 0, manifests: [{ path: 'm1.avro', entries: [added(file('a.parquet'))] }] }] });
    expect((await t.plan()).tasks[0]?.dataSequenceNumber).toBe(0);
  });

  it('rejects an EXISTING entry without a sequence number', async () => {
    const t = table({ snapshots: [{ id: 1n, sequenceNumber: 2, manifests: [{ path: 'm1.avro', entries: [{ status: 0, dataFile: file('a.parquet') }] }] }] });
    await expect(t.plan()).rejects.toThrow(/manifest m1\.avro: existing entry a\.parquet has no data sequence number/);
  });

  it('skips manifests without live files, without reading them', async () => {
    const t = table({
      snapshots: [
        {
          id: 1n,
          sequenceNumber: 1,
          manifests: [
            { path: 'empty.avro', addedFilesCount: 0, existingFilesCount: 0, entries: [] },
            { path: 'm1.avro', entries: [added(file('a.parquet'))] },
          ],
        },
      ],
    });
    const scan = await t.plan();
    expect(t.loaded).toEqual(['m1.avro']);
    expect(scan.stats.manifestsSkipped).toBe(1);
  });

  it('gives each task the snapshot that added its file: the entry\'s, inherited only for an ADDED entry', async () => {
    const t = table({
      snapshots: [
        {
          id: 2n,
          sequenceNumber: 2,
          manifests: [
            {
              path: 'm1.avro',
              entries: [added(file('a.parquet')), { ...existing(file('b.parquet'), 1), snapshotId: 1n }, existing(file('c.parquet'), 1)],
            },
          ],
        },
      ],
    });
    expect((await t.plan()).tasks.map((task) => [task.dataFile.filePath, task.addedSnapshotId])).toEqual([
      ['a.parquet', 2n],
      ['b.parquet', 1n],
      ['c.parquet', undefined],
    ]);
  });

  it('time travel reads the snapshot manifest list and schema', async () => {
    const oldSchema: Schema = { type: 'struct', schemaId: 0, fields: [{ id: 1, name: 'id', required: false, type: 'int' }] };
    const newSchema: Schema = { ...schema, schemaId: 1 };
    const t = table({
      schemas: [oldSchema, newSchema],
      currentSchemaId: 1,
      snapshots: [
        { id: 10n, sequenceNumber: 1, schemaId: 0, manifests: [{ path: 'm1.avro', entries: [added(file('old.parquet'))] }] },
        { id: 11n, sequenceNumber: 2, schemaId: 1, manifests: [{ path: 'm1.avro', entries: [added(file('old.parquet'))] }, { path: 'm2.avro', entries: [added(file('new.parquet'))] }] },
      ],
    });
    const past = await t.plan([], 10n);
    expect(past.snapshotId).toBe(10n);
    expect(past.schema).toBe(oldSchema);
    expect(paths(past)).toEqual(['old.parquet']);
    const now = await t.plan();
    expect(now.snapshotId).toBe(11n);
    expect(now.schema).toBe(newSchema);
    expect(paths(now)).toEqual(['new.parquet', 'old.parquet']);
    await expect(t.plan([], 99n)).rejects.toThrow(NotFoundError);
    await expect(t.plan([], 99n)).rejects.toThrow('table mem://db/t has no snapshot 99');
  });

  it('time travel prunes with the snapshot schema: a field added later never prunes', async () => {
    const oldSchema: Schema = { type: 'struct', schemaId: 0, fields: [{ id: 1, name: 'id', required: false, type: 'long' }] };
    const t = table({
      schemas: [oldSchema, { ...schema, schemaId: 1 }],
      currentSchemaId: 1,
      snapshots: [{ id: 10n, sequenceNumber: 1, schemaId: 0, manifests: [{ path: 'm1.avro', entries: [added(file('a.parquet', stats({ 2: { type: 'int', lower: 1, upper: 2 } })))] }] }],
    });
    expect(paths(await t.plan([eq(2, 50)], 10n))).toEqual(['a.parquet']);
    expect(paths(await t.plan([eq(2, 50)]))).toEqual([]);
  });

  it('reads manifests with at most 8 requests in flight', async () => {
    const manifests: ManifestFixture[] = Array.from({ length: 30 }, (_, i) => ({ path: `m${i}.avro`, entries: [added(file(`f${i}.parquet`))] }));
    const t = table({ snapshots: [{ id: 1n, sequenceNumber: 1, manifests }] });
    let inFlight = 0;
    let maxInFlight = 0;
    const scan = await planScan({
      metadata: t.metadata,
      predicates: [],
      loadManifestList: async (location) => t.lists.get(location) ?? [],
      loadManifest: async (location) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight -= 1;
        const manifest = t.manifests.get(location);
        if (manifest === undefined) throw new Error(`no manifest ${location}`);
        return manifest;
      },
    });
    expect(scan.tasks.map((task) => task.dataFile.filePath)).toEqual(manifests.map((_, i) => `f${i}.parquet`));
    expect(maxInFlight).toBe(8);
  });

  it('stops at the first manifest that cannot be read', async () => {
    const t = table({ snapshots: [{ id: 1n, sequenceNumber: 1, manifests: [{ path: 'm1.avro', entries: [added(file('a.parquet'))] }] }] });
    const failing = planScan({
      metadata: t.metadata,
      predicates: [],
      loadManifestList: async (location) => t.lists.get(location) ?? [],
      loadManifest: async (location) => {
        throw new Error(`cannot read ${location}`);
      },
    });
    await expect(failing).rejects.toThrow('cannot read m1.avro');
  });
});

describe('planScan: partition pruning', () => {
  const identityS: PartitionSpec = { specId: 1, fields: [{ sourceId: 6, fieldId: 1000, name: 's', transform: 'identity' }] };

  it('prunes identity partitions with every operator', async () => {
    const t = singleManifestTable(
      [file('a.parquet', { partition: { 1000: 'a' } }), file('b.parquet', { partition: { 1000: 'b' } }), file('c.parquet', { partition: { 1000: 'c' } }), file('null.parquet', { partition: { 1000: null } })],
      [unpartitioned, identityS],
    );
    expect(paths(await t.plan([eq(6, 'b')]))).toEqual(['b.parquet']);
    expect(paths(await t.plan([neq(6, 'b')]))).toEqual(['a.parquet', 'c.parquet']);
    expect(paths(await t.plan([lt(6, 'b')]))).toEqual(['a.parquet']);
    expect(paths(await t.plan([lte(6, 'b')]))).toEqual(['a.parquet', 'b.parquet']);
    expect(paths(await t.plan([gt(6, 'b')]))).toEqual(['c.parquet']);
    expect(paths(await t.plan([gte(6, 'b')]))).toEqual(['b.parquet', 'c.parquet']);
    expect(paths(await t.plan([isIn(6, ['a', 'c', null])]))).toEqual(['a.parquet', 'c.parquet']);
    expect(paths(await t.plan([isNull(6)]))).toEqual(['null.parquet']);
    expect(paths(await t.plan([notNull(6)]))).toEqual(['a.parquet', 'b.parquet', 'c.parquet']);
    expect(paths(await t.plan([gt(6, 'a'), lt(6, 'c')]))).toEqual(['b.parquet']);
    const scan = await t.plan([eq(6, 'b')]);
    expect(scan.stats.dataFilesSkippedByPartition).toBe(3);
    expect(scan.stats.dataFilesSelected).toBe(1);
  });

  it('prunes manifests by partition summaries and never prunes one without summaries', async () => {
    const t = table({
      specs: [unpartitioned, identityS],
      snapshots: [
        {
          id: 1n,
          sequenceNumber: 1,
          manifests: [
            { path: 'ab.avro', specId: 1, partitions: [summary('string', 'a', 'b')], entries: [added(file('a.parquet', { partition: { 1000: 'a' } }))] },
            { path: 'cd.avro', specId: 1, partitions: [summary('string', 'c', 'd', true)], entries: [added(file('c.parquet', { partition: { 1000: 'c' } }))] },
            { path: 'nulls.avro', specId: 1, partitions: [summary('string', null, null, true)], entries: [added(file('n.parquet', { partition: { 1000: null } }))] },
            { path: 'unknown.avro', specId: 1, entries: [added(file('u.parquet', { partition: { 1000: 'z' } }))] },
          ],
        },
      ],
    });
    let scan = await t.plan([eq(6, 'c')]);
    expect(t.loaded.sort()).toEqual(['cd.avro', 'unknown.avro']);
    expect(paths(scan)).toEqual(['c.parquet']);
    expect(scan.stats.manifestsSkipped).toBe(2);
    expect(scan.stats.dataFilesTotal).toBe(2);

    t.loaded.length = 0;
    scan = await t.plan([isNull(6)]);
    expect(t.loaded.sort()).toEqual(['cd.avro', 'nulls.avro', 'unknown.avro']);
    expect(paths(scan)).toEqual(['n.parquet']);

    t.loaded.length = 0;
    await t.plan([notNull(6)]);
    expect(t.loaded.sort()).toEqual(['ab.avro', 'cd.avro', 'unknown.avro']);
  });

  it('projects range predicates through day, month, year and hour of a timestamp', async () => {
    const ts = (transform: 'day' | 'month' | 'year' | 'hour'): PartitionSpec => ({ specId: 1, fields: [{ sourceId: 4, fieldId: 1000, name: `ts_${transform}`, transform }] });
    const day = singleManifestTable(
      ['2024-03-01', '2024-03-02', '2024-03-03'].map((d) => file(`${d}.parquet`, { partition: { 1000: days(d) } })),
      [unpartitioned, ts('day')],
    );
    expect(paths(await day.plan([eq(4, micros('2024-03-02T10:00:00'))]))).toEqual(['2024-03-02.parquet']);
    expect(paths(await day.plan([gt(4, micros('2024-03-02T23:59:59'))]))).toEqual(['2024-03-02.parquet', '2024-03-03.parquet']);
    // Inclusive projection of ts < X is day(ts) <= day(X): the file of day(X) itself is kept.
    expect(paths(await day.plan([lt(4, micros('2024-03-02T00:00:00'))]))).toEqual(['2024-03-01.parquet', '2024-03-02.parquet']);
    expect(paths(await day.plan([isIn(4, [micros('2024-03-01T01:00:00'), micros('2024-03-03T01:00:00')])]))).toEqual(['2024-03-01.parquet', '2024-03-03.parquet']);
    // neq cannot be projected through a non-identity transform.
    expect(paths(await day.plan([neq(4, micros('2024-03-02T10:00:00'))]))).toHaveLength(3);

    const month = singleManifestTable(
      [
        file('2024-01.parquet', { partition: { 1000: (2024 - 1970) * 12 } }),
        file('2024-03.parquet', { partition: { 1000: (2024 - 1970) * 12 + 2 } }),
      ],
      [unpartitioned, ts('month')],
    );
    expect(paths(await month.plan([gte(4, micros('2024-02-15T00:00:00'))]))).toEqual(['2024-03.parquet']);

    const year = singleManifestTable(
      [file('2023.parquet', { partition: { 1000: 53 } }), file('2024.parquet', { partition: { 1000: 54 } })],
      [unpartitioned, ts('year')],
    );
    expect(paths(await year.plan([lte(4, micros('2023-12-31T23:59:59'))]))).toEqual(['2023.parquet']);
    // Before 1970 the transforms floor: 1969-12-31 is year -1.
    expect(paths(await year.plan([lt(4, micros('1969-12-31T23:00:00'))]))).toEqual([]);

    const hourOf = (iso: string): number => Date.parse(`${iso}Z`) / 3_600_000;
    const hour = singleManifestTable(
      [file('h10.parquet', { partition: { 1000: hourOf('2024-03-01T10:00:00') } }), file('h11.parquet', { partition: { 1000: hourOf('2024-03-01T11:00:00') } })],
      [unpartitioned, ts('hour')],
    );
    expect(paths(await hour.plan([eq(4, micros('2024-03-01T11:59:59'))]))).toEqual(['h11.parquet']);
  });

  it('projects equality and IN through bucket, and nothing else', async () => {
    const bucket: PartitionSpec = { specId: 1, fields: [{ sourceId: 1, fieldId: 1000, name: 'id_bucket', transform: 'bucket[4]' }] };
    // Spec Appendix B: hash(34L) = 2017239379, and 2017239379 % 4 = 3.
    const t = singleManifestTable([0, 1, 2, 3].map((b) => file(`b${b}.parquet`, { partition: { 1000: b } })), [unpartitioned, bucket]);
    expect(paths(await t.plan([eq(1, 34n)]))).toEqual(['b3.parquet']);
    expect(paths(await t.plan([isIn(1, [34n])]))).toEqual(['b3.parquet']);
    expect(paths(await t.plan([lt(1, 34n)]))).toHaveLength(4);
    expect(paths(await t.plan([gte(1, 34n)]))).toHaveLength(4);
  });

  it('projects predicates through truncate on strings', async () => {
    const truncate: PartitionSpec = { specId: 1, fields: [{ sourceId: 6, fieldId: 1000, name: 's_trunc', transform: 'truncate[2]' }] };
    const t = singleManifestTable(['ab', 'ac', 'b'].map((p) => file(`${p}.parquet`, { partition: { 1000: p } })), [unpartitioned, truncate]);
    expect(paths(await t.plan([eq(6, 'abc')]))).toEqual(['ab.parquet']);
    expect(paths(await t.plan([gte(6, 'ac0')]))).toEqual(['ac.parquet', 'b.parquet']);
    expect(paths(await t.plan([lt(6, 'ab')]))).toEqual(['ab.parquet']);
    expect(paths(await t.plan([isIn(6, ['b', 'bz'])]))).toEqual(['b.parquet']);
  });

  it('prunes with partition summaries of a transformed field', async () => {
    const day: PartitionSpec = { specId: 1, fields: [{ sourceId: 3, fieldId: 1000, name: 'd_day', transform: 'day' }] };
    const t = table({
      specs: [unpartitioned, day],
      snapshots: [
        {
          id: 1n,
          sequenceNumber: 1,
          manifests: [
            { path: 'jan.avro', specId: 1, partitions: [summary('date', days('2024-01-01'), days('2024-01-31'))], entries: [added(file('jan.parquet', { partition: { 1000: days('2024-01-05') } }))] },
            { path: 'feb.avro', specId: 1, partitions: [summary('date', days('2024-02-01'), days('2024-02-29'))], entries: [added(file('feb.parquet', { partition: { 1000: days('2024-02-05') } }))] },
          ],
        },
      ],
    });
    const scan = await t.plan([gte(3, days('2024-02-10'))]);
    expect(t.loaded).toEqual(['feb.avro']);
    expect(paths(scan)).toEqual([]);
    expect(scan.stats).toMatchObject({ manifestsSkipped: 1, dataFilesTotal: 1, dataFilesSkippedByPartition: 1 });
  });

  it('applies the spec each manifest was written with', async () => {
    const bySpec1: PartitionSpec = { specId: 1, fields: [{ sourceId: 6, fieldId: 1000, name: 's', transform: 'identity' }] };
    const bySpec2: PartitionSpec = { specId: 2, fields: [{ sourceId: 2, fieldId: 1001, name: 'n', transform: 'identity' }] };
    const t = table({
      specs: [unpartitioned, bySpec1, bySpec2],
      snapshots: [
        {
          id: 1n,
          sequenceNumber: 1,
          manifests: [
            { path: 'old.avro', specId: 0, entries: [added(file('old.parquet'))] },
            { path: 's.avro', specId: 1, entries: [added(file('s-a.parquet', { partition: { 1000: 'a' } })), added(file('s-b.parquet', { partition: { 1000: 'b' } }))] },
            { path: 'n.avro', specId: 2, entries: [added(file('n-1.parquet', { partition: { 1001: 1 } })), added(file('n-2.parquet', { partition: { 1001: 2 } }))] },
          ],
        },
      ],
    });
    const scan = await t.plan([eq(6, 'a'), eq(2, 1)]);
    expect(paths(scan)).toEqual(['n-1.parquet', 'old.parquet', 's-a.parquet']);
    expect(scan.tasks.find((task) => task.dataFile.filePath === 'n-1.parquet')?.specId).toBe(2);
  });

  it('never prunes with a void partition field', async () => {
    const voided: PartitionSpec = { specId: 1, fields: [{ sourceId: 6, fieldId: 1000, name: 's', transform: 'void' }] };
    const t = singleManifestTable([file('a.parquet', { partition: { 1000: null } })], [unpartitioned, voided]);
    expect(paths(await t.plan([eq(6, 'a'), notNull(6)]))).toEqual(['a.parquet']);
  });
});

describe('planScan: column bounds and counts', () => {
  it('prunes int, long, date and timestamp columns by bounds', async () => {
    const t = singleManifestTable([
      file('low.parquet', stats({ 1: { type: 'long', lower: 1n, upper: 10n }, 2: { type: 'int', lower: -5, upper: 5 }, 3: { type: 'date', lower: days('2024-01-01'), upper: days('2024-01-31') }, 4: { type: 'timestamp', lower: micros('2024-01-01T00:00:00'), upper: micros('2024-01-01T12:00:00') } })),
      file('high.parquet', stats({ 1: { type: 'long', lower: 11n, upper: 20n }, 2: { type: 'int', lower: 6, upper: 100 }, 3: { type: 'date', lower: days('2024-02-01'), upper: days('2024-02-29') }, 4: { type: 'timestamp', lower: micros('2024-01-01T12:00:01'), upper: micros('2024-01-02T00:00:00') } })),
    ]);
    expect(paths(await t.plan([eq(1, 10n)]))).toEqual(['low.parquet']);
    expect(paths(await t.plan([eq(1, 25n)]))).toEqual([]);
    expect(paths(await t.plan([lt(1, 11n)]))).toEqual(['low.parquet']);
    expect(paths(await t.plan([lte(1, 11n)]))).toEqual(['high.parquet', 'low.parquet']);
    expect(paths(await t.plan([gt(1, 10n)]))).toEqual(['high.parquet']);
    expect(paths(await t.plan([gte(1, 10n)]))).toEqual(['high.parquet', 'low.parquet']);
    expect(paths(await t.plan([neq(1, 10n)]))).toEqual(['high.parquet', 'low.parquet']);
    expect(paths(await t.plan([isIn(1, [0n, 30n])]))).toEqual([]);
    expect(paths(await t.plan([isIn(1, [0n, 15n])]))).toEqual(['high.parquet']);
    expect(paths(await t.plan([eq(2, -5)]))).toEqual(['low.parquet']);
    expect(paths(await t.plan([gt(2, 5)]))).toEqual(['high.parquet']);
    expect(paths(await t.plan([gte(3, days('2024-02-01'))]))).toEqual(['high.parquet']);
    expect(paths(await t.plan([lt(3, days('2024-01-01'))]))).toEqual([]);
    expect(paths(await t.plan([eq(4, micros('2024-01-01T12:00:00'))]))).toEqual(['low.parquet']);
    expect(paths(await t.plan([gt(4, micros('2024-01-01T12:00:00'))]))).toEqual(['high.parquet']);
    const scan = await t.plan([eq(1, 25n)]);
    expect(scan.stats).toMatchObject({ dataFilesTotal: 2, dataFilesSkippedByBounds: 2, dataFilesSelected: 0 });
  });

  it('prunes decimal columns by unscaled bounds', async () => {
    const t = singleManifestTable([
      file('cheap.parquet', stats({ 5: { type: 'decimal(10, 2)', lower: 100n, upper: 999n } })),
      file('dear.parquet', stats({ 5: { type: 'decimal(10, 2)', lower: 100_000n, upper: 250_000n } })),
      file('negative.parquet', stats({ 5: { type: 'decimal(10, 2)', lower: -50_000n, upper: -1n } })),
    ]);
    expect(paths(await t.plan([eq(5, 1234n)]))).toEqual([]);
    expect(paths(await t.plan([gte(5, 1000n)]))).toEqual(['dear.parquet']);
    expect(paths(await t.plan([lt(5, 0n)]))).toEqual(['negative.parquet']);
    expect(paths(await t.plan([eq(5, 250_000n)]))).toEqual(['dear.parquet']);
  });

  it('reads 4-byte bounds of an int column promoted to long', async () => {
    const t = singleManifestTable([file('a.parquet', stats({ 1: { type: 'long', boundType: 'int', lower: 1n, upper: 10n } }))]);
    expect(paths(await t.plan([eq(1, 5n)]))).toEqual(['a.parquet']);
    expect(paths(await t.plan([eq(1, 11n)]))).toEqual([]);
  });

  it('prunes strings with lower bounds freely and with upper bounds only when provably above', async () => {
    // The upper bound 'abc' may be the maximum cut to 3 characters (e.g. of 'abcxyz').
    const t = singleManifestTable([file('a.parquet', stats({ 6: { type: 'string', lower: 'abb', upper: 'abc' } }))]);
    expect(paths(await t.plan([eq(6, 'abcd')]))).toEqual(['a.parquet']);
    expect(paths(await t.plan([gt(6, 'abc')]))).toEqual(['a.parquet']);
    expect(paths(await t.plan([gte(6, 'abcz')]))).toEqual(['a.parquet']);
    expect(paths(await t.plan([eq(6, 'abd')]))).toEqual([]);
    expect(paths(await t.plan([gt(6, 'abd')]))).toEqual([]);
    expect(paths(await t.plan([gte(6, 'ac')]))).toEqual([]);
    expect(paths(await t.plan([eq(6, 'aba')]))).toEqual([]);
    expect(paths(await t.plan([lt(6, 'abb')]))).toEqual([]);
    expect(paths(await t.plan([lte(6, 'abb')]))).toEqual(['a.parquet']);
    expect(paths(await t.plan([isIn(6, ['zz', 'abcq'])]))).toEqual(['a.parquet']);
    expect(paths(await t.plan([isIn(6, ['zz', 'aa'])]))).toEqual([]);
  });

  it('treats a string bound cut inside a UTF-8 sequence as absent', async () => {
    const cut = new Uint8Array([0x61, 0xc3]); // 'a' and the first byte of 'é'
    const t = singleManifestTable([file('a.parquet', { lowerBounds: new Map([[6, cut]]), upperBounds: new Map([[6, cut]]) })]);
    expect(paths(await t.plan([eq(6, 'zzz')]))).toEqual(['a.parquet']);
  });

  it('keeps a file on isNull unless its null count is 0, and drops it on notNull only when all values are null', async () => {
    // Mirrors tables/null_stats: a file whose stats say nulls are present must be kept.
    const t = singleManifestTable([
      file('no-nulls.parquet', stats({ 8: { type: 'boolean', lower: false, upper: true, values: 3, nulls: 0 } })),
      file('some-nulls.parquet', stats({ 8: { type: 'boolean', lower: true, upper: true, values: 3, nulls: 2 } })),
      file('all-nulls.parquet', stats({ 8: { type: 'boolean', values: 3, nulls: 3 } })),
      file('no-stats.parquet'),
    ]);
    expect(paths(await t.plan([isNull(8)]))).toEqual(['all-nulls.parquet', 'no-stats.parquet', 'some-nulls.parquet']);
    expect(paths(await t.plan([notNull(8)]))).toEqual(['no-nulls.parquet', 'no-stats.parquet', 'some-nulls.parquet']);
    expect(paths(await t.plan([eq(8, false)]))).toEqual(['no-nulls.parquet', 'no-stats.parquet']);
  });

  it('does not prune a float column on comparisons while NaNs may be present', async () => {
    const t = singleManifestTable([
      file('no-nan.parquet', stats({ 7: { type: 'double', lower: 1, upper: 2, values: 5, nulls: 0, nans: 0 } })),
      file('nan.parquet', stats({ 7: { type: 'double', lower: 1, upper: 2, values: 5, nulls: 0, nans: 2 } })),
      file('nan-unknown.parquet', stats({ 7: { type: 'double', lower: 1, upper: 2, values: 5, nulls: 0 } })),
    ]);
    expect(paths(await t.plan([gt(7, 5)]))).toEqual(['nan-unknown.parquet', 'nan.parquet']);
    expect(paths(await t.plan([eq(7, 1.5)]))).toEqual(['nan-unknown.parquet', 'nan.parquet', 'no-nan.parquet']);
    expect(paths(await t.plan([eq(7, Number.NaN)]))).toHaveLength(3);
    expect(paths(await t.plan([isNan(7)]))).toEqual(['nan-unknown.parquet', 'nan.parquet']);
  });

  it('treats -0.0 and 0.0 as equal when pruning floats', async () => {
    const t = singleManifestTable([file('zero.parquet', stats({ 7: { type: 'double', lower: -0, upper: -0, nans: 0 } }))]);
    expect(paths(await t.plan([eq(7, 0)]))).toEqual(['zero.parquet']);
    expect(paths(await t.plan([gte(7, 0)]))).toEqual(['zero.parquet']);
    expect(paths(await t.plan([lt(7, 0)]))).toEqual([]);
  });

  it('never prunes on missing stats, unknown fields, list elements or uuid bounds', async () => {
    const withStats = stats({ 10: { type: 'string', lower: 'a', upper: 'b', values: 2, nulls: 0 }, 12: { type: 'string', lower: 'a', upper: 'b', values: 2, nulls: 0 } });
    const t = singleManifestTable([file('no-stats.parquet'), file('nested.parquet', withStats)]);
    expect(paths(await t.plan([eq(1, 5n), isNull(2), notNull(3), gt(4, 0n)]))).toEqual(['nested.parquet', 'no-stats.parquet']);
    // Field 99 is not in the schema: never prunes, whatever its literal.
    expect(paths(await t.plan([eq(99, 'x'), isNull(99)]))).toEqual(['nested.parquet', 'no-stats.parquet']);
    // Field 10 is a list element: its counts describe elements, not rows.
    expect(paths(await t.plan([eq(10, 'z'), isNull(10)]))).toEqual(['nested.parquet', 'no-stats.parquet']);
    // Field 12 is inside a struct: it prunes.
    expect(paths(await t.plan([eq(12, 'z')]))).toEqual(['no-stats.parquet']);

    const uuidSchema: Schema = { type: 'struct', schemaId: 0, fields: [{ id: 1, name: 'u', required: false, type: 'uuid' }] };
    const u = table({
      schemas: [uuidSchema],
      snapshots: [{ id: 1n, sequenceNumber: 1, manifests: [{ path: 'm.avro', entries: [added(file('u.parquet', stats({ 1: { type: 'uuid', lower: '00000000-0000-0000-0000-000000000001', upper: '00000000-0000-0000-0000-000000000002' } })))] }] }],
    });
    expect(paths(await u.plan([eq(1, 'ffffffff-0000-0000-0000-000000000000')]))).toEqual(['u.parquet']);
  });

  it('rejects literals that do not have the column value form', async () => {
    const t = singleManifestTable([file('a.parquet')]);
    await expect(t.plan([eq(1, 5)])).rejects.toThrow(ValidationError);
    await expect(t.plan([eq(1, 5)])).rejects.toThrow('predicate field 1 = 5 has a number literal 5, which is not a long value');
    await expect(t.plan([isIn(3, ['2024-01-01'])])).rejects.toThrow(/not a date value/);
    await expect(t.plan([eq(6, null)])).rejects.toThrow(/compares with NULL/);
  });
});

describe('planScan: delete files', () => {
  function deleteFile(path: string, content: 1 | 2, extra: Partial<DataFile> = {}): DataFile {
    return file(path, { content, ...(content === 2 ? { equalityIds: [1] } : {}), ...extra });
  }

  const pathBounds = (lower: string, upper: string): Partial<DataFile> => ({
    lowerBounds: new Map([[2147483546, encodeValue('string', lower)]]),
    upperBounds: new Map([[2147483546, encodeValue('string', upper)]]),
  });

  it('applies position deletes with sequence >= and equality deletes with sequence > the data', async () => {
    const t = table({
      snapshots: [
        {
          id: 1n,
          sequenceNumber: 3,
          manifests: [
            { path: 'data.avro', entries: [existing(file('d.parquet'), 2)] },
            {
              path: 'deletes.avro',
              content: 1,
              entries: [
                existing(deleteFile('pos-1.parquet', 1), 1),
                existing(deleteFile('pos-2.parquet', 1), 2),
                existing(deleteFile('eq-2.parquet', 2), 2),
                added(deleteFile('eq-3.parquet', 2)),
                { status: 2, dataFile: deleteFile('eq-gone.parquet', 2), sequenceNumber: 3 },
              ],
            },
          ],
        },
      ],
    });
    const scan = await t.plan();
    expect(scan.tasks).toHaveLength(1);
    const task = scan.tasks[0];
    expect(task?.positionDeletes.map((f) => f.filePath)).toEqual(['pos-2.parquet']);
    expect(task?.equalityDeletes.map((d) => [d.file.filePath, d.sequenceNumber])).toEqual([['eq-3.parquet', 3]]);
    expect(scan.stats.deleteFilesSelected).toBe(2);
    expect(scan.stats.dataFilesSelected).toBe(1);
  });

  it('narrows position deletes by their file_path bounds', async () => {
    const t = table({
      snapshots: [
        {
          id: 1n,
          sequenceNumber: 2,
          manifests: [
            { path: 'data.avro', entries: [existing(file('s3://b/t/data/a.parquet'), 1), existing(file('s3://b/t/data/b.parquet'), 1), existing(file('s3://b/t/data/c.parquet'), 1)] },
            {
              path: 'deletes.avro',
              content: 1,
              entries: [
                added(deleteFile('exact-b.parquet', 1, pathBounds('s3://b/t/data/b.parquet', 's3://b/t/data/b.parquet'))),
                added(deleteFile('range-a-b.parquet', 1, pathBounds('s3://b/t/data/a.parquet', 's3://b/t/data/b.parquet'))),
                // A cut upper bound: a prefix of the real maximum path, so it must not exclude c.
                added(deleteFile('cut.parquet', 1, pathBounds('s3://b/t/data/c.parquet', 's3://b/t/data/'))),
                added(deleteFile('no-bounds.parquet', 1)),
              ],
            },
          ],
        },
      ],
    });
    const scan = await t.plan();
    const byPath = Object.fromEntries(scan.tasks.map((task) => [task.dataFile.filePath, task.positionDeletes.map((f) => f.filePath).sort()]));
    expect(byPath).toEqual({
      's3://b/t/data/a.parquet': ['no-bounds.parquet', 'range-a-b.parquet'],
      's3://b/t/data/b.parquet': ['exact-b.parquet', 'no-bounds.parquet', 'range-a-b.parquet'],
      's3://b/t/data/c.parquet': ['cut.parquet', 'no-bounds.parquet'],
    });
  });

  it('scopes deletes by partition, with global equality deletes from an unpartitioned spec', async () => {
    const byS: PartitionSpec = { specId: 1, fields: [{ sourceId: 6, fieldId: 1000, name: 's', transform: 'identity' }] };
    const byN: PartitionSpec = { specId: 2, fields: [{ sourceId: 2, fieldId: 1001, name: 'n', transform: 'identity' }] };
    const t = table({
      specs: [unpartitioned, byS, byN],
      snapshots: [
        {
          id: 1n,
          sequenceNumber: 5,
          manifests: [
            { path: 'data-0.avro', specId: 0, entries: [existing(file('u.parquet'), 1)] },
            { path: 'data-1.avro', specId: 1, entries: [existing(file('a.parquet', { partition: { 1000: 'a' } }), 1), existing(file('b.parquet', { partition: { 1000: 'b' } }), 1)] },
            { path: 'data-2.avro', specId: 2, entries: [existing(file('n1.parquet', { partition: { 1001: 1 } }), 1)] },
            { path: 'global.avro', specId: 0, content: 1, entries: [existing(deleteFile('eq-global.parquet', 2), 2)] },
            {
              path: 'scoped.avro',
              specId: 1,
              content: 1,
              entries: [
                existing(deleteFile('eq-a.parquet', 2, { partition: { 1000: 'a' } }), 3),
                existing(deleteFile('pos-b.parquet', 1, { partition: { 1000: 'b' } }), 3),
                // Partition value 'b' at field 1000, but of another spec than n1: never applies there.
              ],
            },
            { path: 'scoped-n.avro', specId: 2, content: 1, entries: [existing(deleteFile('eq-n2.parquet', 2, { partition: { 1001: 2 } }), 3)] },
          ],
        },
      ],
    });
    const scan = await t.plan();
    const deletes = Object.fromEntries(
      scan.tasks.map((task) => [task.dataFile.filePath, [...task.positionDeletes.map((f) => f.filePath), ...task.equalityDeletes.map((d) => d.file.filePath)].sort()]),
    );
    expect(deletes).toEqual({
      'u.parquet': ['eq-global.parquet'],
      'a.parquet': ['eq-a.parquet', 'eq-global.parquet'],
      'b.parquet': ['eq-global.parquet', 'pos-b.parquet'],
      'n1.parquet': ['eq-global.parquet'],
    });
    expect(scan.stats.deleteFilesSelected).toBe(3);
  });

  it('attaches a position delete naming one data file exactly, even from another partition spec', async () => {
    const byS: PartitionSpec = { specId: 1, fields: [{ sourceId: 6, fieldId: 1000, name: 's', transform: 'identity' }] };
    const t = table({
      specs: [unpartitioned, byS],
      snapshots: [
        {
          id: 1n,
          sequenceNumber: 2,
          manifests: [
            { path: 'data.avro', specId: 0, entries: [existing(file('old.parquet'), 1)] },
            { path: 'deletes.avro', specId: 1, content: 1, entries: [added(deleteFile('pos.parquet', 1, { partition: { 1000: 'a' }, ...pathBounds('old.parquet', 'old.parquet') }))] },
          ],
        },
      ],
    });
    expect((await t.plan()).tasks[0]?.positionDeletes.map((f) => f.filePath)).toEqual(['pos.parquet']);
  });

  it('never prunes data files or delete files because of deletes or predicates', async () => {
    const t = table({
      snapshots: [
        {
          id: 1n,
          sequenceNumber: 2,
          manifests: [
            { path: 'data.avro', entries: [existing(file('d.parquet', stats({ 1: { type: 'long', lower: 1n, upper: 100n } })), 1)] },
            // The delete only touches ids 1..4; a scan for id = 50 still gets it, because the
            // planned file may be rewritten whole by copy-on-write DML.
            { path: 'deletes.avro', content: 1, partitions: [], entries: [added(deleteFile('eq.parquet', 2, stats({ 1: { type: 'long', lower: 1n, upper: 4n } })))] },
          ],
        },
      ],
    });
    const scan = await t.plan([eq(1, 50n)]);
    expect(scan.tasks.map((task) => task.equalityDeletes.map((d) => d.file.filePath))).toEqual([['eq.parquet']]);
  });

  it('rejects a data manifest holding delete files', async () => {
    const t = table({ snapshots: [{ id: 1n, sequenceNumber: 1, manifests: [{ path: 'data.avro', entries: [added(deleteFile('eq.parquet', 2))] }] }] });
    await expect(t.plan()).rejects.toThrow('data manifest data.avro lists delete file eq.parquet (content 2)');
  });
});
