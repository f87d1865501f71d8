import { ValidationError } from '../core/errors.js';
import { UsageError } from './usage-error.js';

/**
 * Commander's parser for `--key`: each value may list several columns split by commas (`--key a,b`,
 * as rat's own advice writes a composite key), beside the variadic `--key a b` and a repeated `--key`.
 * A column name holds no comma: safe names and `--keep-names` allow none.
 */
export function keyColumns(value: string, previous: string[] | undefined): string[] {
  const columns = value.split(',').map((column) => column.trim());
  return [...(previous ?? []), ...columns.filter((column) => column !== '')];
}

/**
 * Commander's parser for `--partition-by`: a value may list several fields as PARTITIONED BY writes
 * them (`"month(day), bucket(16, id)"`), split at the commas outside parentheses.
 */
export function partitionFields(value: string, previous: string[] | undefined): string[] {
  const fields: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    const char = value[i];
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (i === value.length || (char === ',' && depth === 0)) {
      fields.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  return [...(previous ?? []), ...fields.filter((field) => field !== '')];
}

/**
 * `name=value` flags (`--type amount=DECIMAL(12,2)`, `--rename "Order Date=ordered_on"`) as an
 * object. A name given twice with two values is refused as a usage error (exit 2): which one was
 * meant cannot be told, and the last would win without a word.
 */
export function flagPairs(values: readonly string[] | undefined, flag: string, shape = 'name=value'): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const entry of values ?? []) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new ValidationError('INVALID_ARGUMENT', `${flag} "${entry}" must look like ${shape}`);
    const name = entry.slice(0, at).trim();
    const value = entry.slice(at + 1).trim();
    if (Object.hasOwn(pairs, name) && pairs[name] !== value) {
      throw new UsageError(`${flag} names "${name}" twice, as ${name}=${pairs[name]} and ${name}=${value}: give it once`);
    }
    pairs[name] = value;
  }
  return pairs;
}
