import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import type { TableDescription } from '../../engine/lakehouse.js';
import type { IcebergType } from '../../iceberg/types.js';
import { tableCursors } from '../../ingest/index.js';
import { type GlobalOptions, withLakehouse } from '../context.js';
import type { Output } from '../output.js';

export function registerTable(program: Command, globals: () => GlobalOptions): void {
  const table = program.command('table').description('inspect and adopt tables');
  table
    .command('show')
    .description('schema with field ids, partition spec, snapshots, metadata location, file counts')
    .argument('<table>', 'namespace.table')
    .action(async (name: string) => {
      await withLakehouse(globals(), async (rat, out) => {
        const description = await rat.describeTable(name);
        const cursors = tableCursors(await rat.loadTable(name)).map(({ source, cursor }) => ({ source, field: cursor.field, value: cursor.value }));
        printDescription(out, description, cursors);
      });
    });
  table
    .command('register')
    .description('adopt an existing Iceberg table written by another engine, in place (no copy)')
    .argument('<table>', 'namespace.table to register it as')
    .argument('<metadata-location>', 'its metadata JSON file: a path, file:// or s3:// URI')
    .option('--map-path <from=to...>', 'rewrite location prefixes found in the metadata (for tables moved from elsewhere)')
    .action(async (name: string, location: string, options: { mapPath?: string[] }) => {
      const pathMap = (options.mapPath ?? []).map((entry) => {
        const at = entry.indexOf('=');
        if (at <= 0) throw new ValidationError('INVALID_ARGUMENT', `--map-path "${entry}" must look like from=to, e.g. data/persistent/=/srv/tables/`);
        return { from: entry.slice(0, at), to: entry.slice(at + 1) };
      });
      await withLakehouse(globals(), async (rat, out) => printDescription(out, await rat.registerTable(name, location, { pathMap })));
    });
}

/** An incremental source's cursor as `rat table show` lists it. */
interface CursorRow {
  source: string;
  field: string;
  value: string | number;
}

function printDescription(out: Output, d: TableDescription, cursors: CursorRow[] = []): void {
  if (out.json) {
    out.value(cursors.length > 0 ? { ...d, sourceCursors: cursors } : d);
    return;
  }
  out.line(`table:            ${d.name}`);
  out.line(`location:         ${d.location}`);
  out.line(`metadata:         ${d.metadataLocation}`);
  out.line(`format version:   ${d.formatVersion}`);
  out.line(`current snapshot: ${d.currentSnapshotId ?? '(none)'}`);
  out.line(`snapshots:        ${d.snapshotCount}`);
  out.line(`data files:       ${d.dataFileCount}  delete files: ${d.deleteFileCount}  records: ${recordsText(d)}`);
  out.line(`schema (id ${d.schema.schemaId}):`);
  out.table(
    ['field_id', 'name', 'type', 'required'],
    d.schema.fields.map((f) => [f.id, f.name, typeText(f.type), f.required]),
  );
  out.line(`partition spec (id ${d.partitionSpec.specId}): ${d.partitionSpec.fields.length === 0 ? 'unpartitioned' : ''}`);
  if (d.partitionSpec.fields.length > 0) {
    out.table(
      ['field_id', 'name', 'transform', 'source_id'],
      d.partitionSpec.fields.map((f) => [f.fieldId, f.name, f.transform, f.sourceId]),
    );
  }
  if (cursors.length > 0) {
    // Each is the table property rat.cursor.<source>: unset it to start that source over.
    out.line('source cursors (the next incremental run reads from these):');
    out.table(
      ['source', 'field', 'value'],
      cursors.map((c) => [c.source, c.field, c.value]),
    );
  }
}

/** The rows the table reads as; with delete files, also what its data files hold before them. */
function recordsText(d: TableDescription): string {
  if (d.deleteFileCount === 0) return String(d.rowCount ?? d.recordCount);
  const files = `${d.recordCount} in data files, before delete files`;
  return d.rowCount === undefined ? `unknown (${files}; the table cannot be read)` : `${d.rowCount} (${files})`;
}

function typeText(type: IcebergType): string {
  if (typeof type === 'string') return type;
  switch (type.type) {
    case 'struct':
      return `struct<${type.fields.map((f) => `${f.id}:${f.name}: ${typeText(f.type)}`).join(', ')}>`;
    case 'list':
      return `list<${type.elementId}: ${typeText(type.element)}>`;
    case 'map':
      return `map<${type.keyId}: ${typeText(type.key)}, ${type.valueId}: ${typeText(type.value)}>`;
  }
}
