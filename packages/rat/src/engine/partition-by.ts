import { NotFoundError, ValidationError } from '../core/errors.js';
import type { NewPartitionField } from '../iceberg/metadata.js';
import { parseTransform } from '../iceberg/transforms.js';
import type { Schema } from '../iceberg/types.js';

/**
 * Partition fields of a table the ingest creates, in the spelling `CREATE TABLE ... PARTITIONED BY`
 * takes: col, year(col), month(col), day(col), hour(col), bucket(N, col), truncate(W, col).
 */
export function parsePartitionBy(items: string[], schema: Schema, table: string): NewPartitionField[] {
  return items.map((item) => {
    const match = /^\s*(?:(\w+)\s*\(\s*(?:(\d+)\s*,\s*)?("[^"]+"|\w+)\s*(?:,\s*(\d+)\s*)?\)|("[^"]+"|\w+))\s*$/.exec(item);
    if (!match) throw new ValidationError('INVALID_PARTITION', `cannot parse partition "${item}" of ${table}; use col, year(col), month(col), day(col), hour(col), bucket(N, col), truncate(W, col)`);
    const column = (match[3] ?? match[5])!.replace(/^"|"$/g, '');
    const field = schema.fields.find((f) => f.name.toLowerCase() === column.toLowerCase());
    if (!field) throw new NotFoundError('COLUMN_NOT_FOUND', `cannot partition ${table} by "${column}": no such column (columns: ${schema.fields.map((f) => f.name).join(', ')})`);
    const fn = (match[1] ?? 'identity').toLowerCase();
    const width = match[2] ?? match[4];
    const aliases: Record<string, string> = { years: 'year', months: 'month', days: 'day', hours: 'hour', date: 'day' };
    const base = aliases[fn] ?? fn;
    const transform = parseTransform(base === 'bucket' || base === 'truncate' ? `${base}[${width ?? ''}]` : base);
    const suffix = base === 'identity' ? '' : base === 'truncate' ? '_trunc' : `_${base}`;
    return { sourceId: field.id, name: `${field.name}${suffix}`, transform };
  });
}
