import { ExternalError } from '../../core/errors.js';

/** The value at a dotted path (`data.items`, `meta.next_cursor`; `$` is the value itself); undefined when a step is missing. */
export function valueAtPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  let current = value;
  for (const step of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Array.isArray(current) && /^\d+$/.test(step) ? current[Number(step)] : (current as Record<string, unknown>)[step];
  }
  return current;
}

/**
 * The records of one response body. With a `path`: the array there (null means no records; an object
 * is one record). Without: the body when it is an array, else its first field, in document order,
 * whose value is an array; an empty body has none. `where` names the request in errors.
 */
export function selectRecords(body: unknown, path: string | undefined, where: string): unknown[] {
  if (path !== undefined) {
    const found = valueAtPath(body, path);
    if (Array.isArray(found)) return found;
    if (found === null) return [];
    if (found !== undefined && typeof found === 'object') return [found];
    throw new ExternalError('SOURCE_HTTP_ERROR', `${where}: records "${path}" ${found === undefined ? 'is not in the response' : `holds ${show(found)}, not records`}${fieldsHint(body)}`);
  }
  if (Array.isArray(body)) return body;
  // An empty body (204 No Content) has no records.
  if (body === null) return [];
  if (body !== null && typeof body === 'object') {
    for (const value of Object.values(body)) if (Array.isArray(value)) return value;
  }
  throw new ExternalError('SOURCE_HTTP_ERROR', `${where}: no records array in the response${fieldsHint(body)}; set records: <dotted.path> ("$" for the whole body as one record)`);
}

function fieldsHint(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ` (the body is ${Array.isArray(body) ? 'an array' : show(body).slice(0, 80)})`;
  const keys = Object.keys(body);
  return ` (its top-level fields: ${keys.length > 0 ? keys.slice(0, 12).join(', ') : 'none'})`;
}

function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'empty';
}
