import { ValidationError } from '../core/errors.js';

export interface TableIdent {
  namespace: string;
  name: string;
}

const NAME = /^[a-z_][a-z0-9_]{0,127}$/;

/** Namespace and table names are lower-case SQL identifiers, so `ns.t` needs no quoting anywhere. */
export function validateName(kind: 'namespace' | 'table' | 'column', value: string): string {
  const normalized = value.toLowerCase();
  if (!NAME.test(normalized)) {
    throw new ValidationError(
      'INVALID_IDENTIFIER',
      `invalid ${kind} name "${value}": use letters, digits and underscores, starting with a letter or underscore (at most 128)`,
    );
  }
  return normalized;
}

export function parseTableIdent(text: string): TableIdent {
  const parts = text.split('.');
  if (parts.length !== 2) {
    throw new ValidationError('INVALID_IDENTIFIER', `invalid table name "${text}": expected namespace.table, e.g. bronze.orders`);
  }
  return { namespace: validateName('namespace', parts[0]!), name: validateName('table', parts[1]!) };
}

export function formatIdent(ident: TableIdent): string {
  return `${ident.namespace}.${ident.name}`;
}

/** The suffix of the quarantine table ingestion keeps beside a table for its bad rows (`bronze.sales__rejects`). */
export const REJECTS_SUFFIX = '__rejects';

/**
 * `ns.t__rejects` for `ns.t`, and `ns.t` for `ns.t__rejects`: a table and its quarantine hold a
 * load's rows between them (a replay moves rows from one to the other), so a merge settles them as one.
 */
export function quarantinePartner(table: string): string {
  return table.endsWith(REJECTS_SUFFIX) ? table.slice(0, -REJECTS_SUFFIX.length) : `${table}${REJECTS_SUFFIX}`;
}
