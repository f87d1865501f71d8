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

/** The records of each page of one endpoint; `where` names the page in errors. */
export type RecordsSelector = (body: unknown, where: string) => unknown[];

/**
 * Selects each page's records. With a configured `path`, as `selectRecords` does. Without, the place
 * page 1 had its records in (the body when an array, else its first array field) is where every
 * later page must have them: taking the first array field again would read an error page's
 * `errors: [...]` as records. A later page that has null there has no records (the end of the
 * pages); one without that field, or with something else there, fails naming it.
 */
export function createRecordsSelector(path: string | undefined): RecordsSelector {
  if (path !== undefined) return (body, where) => selectRecords(body, path, where);
  let found: string | undefined;
  return (body, where) => {
    // An empty body (204 No Content) has no records, wherever page 1 had them.
    if (body === null) return [];
    if (found === undefined) {
      const records = selectRecords(body, undefined, where);
      found = defaultRecordsPath(body, where);
      return records;
    }
    const value = valueAtPath(body, found);
    if (Array.isArray(value)) return value;
    refuseErrorBody(body, where);
    if (value === null) return [];
    const field = found === '$' ? 'the body' : `"${found}"`;
    const problem = value === undefined ? `has no ${field} field` : `holds ${show(value).slice(0, 80)} in ${field}`;
    throw new ExternalError(
      'SOURCE_HTTP_ERROR',
      `${where}: the response ${problem}, where page 1 had its records (an array)${fieldsHint(body)}; set records: <dotted.path> if the API puts them elsewhere on some pages`,
    );
  };
}

/**
 * The records of one response body; an empty body has none. With a `path`: the array there (null
 * means no records; an object is one record). Without: the body when it is an array, else the
 * top-level array field that defaultRecordsPath picks. A body without records but with an `error` or
 * `errors` field (an API reporting a failure with status 200) fails with it. `where` names the
 * request in errors.
 */
export function selectRecords(body: unknown, path: string | undefined, where: string): unknown[] {
  // An empty body (204 No Content) has no records, with a path or without.
  if (body === null) return [];
  if (path !== undefined) {
    const found = valueAtPath(body, path);
    if (Array.isArray(found)) return found;
    if (found === null || found === undefined) refuseErrorBody(body, where);
    if (found === null) return [];
    if (found !== undefined && typeof found === 'object') return [found];
    throw new ExternalError('SOURCE_HTTP_ERROR', `${where}: records "${path}" ${found === undefined ? 'is not in the response' : `holds ${show(found)}, not records`}${fieldsHint(body)}`);
  }
  if (Array.isArray(body)) return body;
  const field = defaultRecordsPath(body, where);
  if (field === undefined) refuseErrorBody(body, where);
  if (field === undefined) throw new ExternalError('SOURCE_HTTP_ERROR', `${where}: no records array in the response${fieldsHint(body)}; set records: <dotted.path> ("$" for the whole body as one record)`);
  return (body as Record<string, unknown[]>)[field]!;
}

/** Top-level arrays that APIs send beside the records (Cloudflare's `{"success":true,"errors":[],"messages":[],"result":[...]}`). */
const NOTICES = new Set(['errors', 'error', 'messages', 'warnings']);

/**
 * Where the records are when no `records` path is set: `$` for an array body; else the one top-level
 * array field other than `errors`, `messages` and `warnings`; of several, the one holding objects
 * (the others empty or lists of scalars). Several holding objects (JSON:API's `data` and `included`),
 * or several lists of scalars, fail naming them: taking the first in document order once read an
 * empty `errors: []` as the records and loaded nothing. When all of them are empty the first is
 * taken (there are no records either way, and an empty page ends the pages). Undefined when there is none.
 */
function defaultRecordsPath(body: unknown, where: string): string | undefined {
  if (Array.isArray(body)) return '$';
  if (body === null || typeof body !== 'object') return undefined;
  const fields = body as Record<string, unknown>;
  const arrays = Object.keys(fields).filter((key) => Array.isArray(fields[key]) && !NOTICES.has(key.toLowerCase()));
  if (arrays.length <= 1) return arrays[0];
  const holdsObjects = (key: string) => (fields[key] as unknown[]).some((item) => item !== null && typeof item === 'object' && !Array.isArray(item));
  const withObjects = arrays.filter(holdsObjects);
  if (withObjects.length === 1) return withObjects[0];
  if (withObjects.length === 0 && arrays.every((key) => (fields[key] as unknown[]).length === 0)) return arrays[0];
  const candidates = withObjects.length > 1 ? withObjects : arrays;
  throw new ExternalError(
    'SOURCE_HTTP_ERROR',
    `${where}: several top-level fields hold ${withObjects.length > 1 ? 'arrays of objects' : 'arrays'} (${candidates.join(', ')}), so which holds the records is not clear; set records: <dotted.path> to the one that does (records: ${candidates[0]})`,
  );
}

/** Fails on a body carrying a non-empty top-level `error` or `errors` (GraphQL, JSON:API and many REST APIs report failures so, some with status 200). */
function refuseErrorBody(body: unknown, where: string): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  const fields = body as Record<string, unknown>;
  for (const name of ['errors', 'error']) {
    const value = fields[name];
    const empty = value === undefined || value === null || value === false || value === '' || (Array.isArray(value) && value.length === 0);
    if (empty) continue;
    const text = show(value);
    throw new ExternalError(
      'SOURCE_HTTP_ERROR',
      `${where}: the response has no records but ${name}: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}; the API reported a failure (a quota, a bad parameter?): fix it and run again`,
    );
  }
}

/**
 * Why a record cannot become a row, or undefined: it is not an object, or a number in it is beyond
 * a double's range (JSON.parse reads 1e400 as Infinity). Checked where the page and the position
 * are known, to name them; the row spool would refuse it naming only how many rows came before.
 */
export function recordProblem(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return `is not an object of field values but ${Array.isArray(record) ? 'an array' : record === null ? 'null' : typeof record}; point records: at an array of objects`;
  }
  for (const [name, value] of Object.entries(record)) {
    if (holdsNonFinite(value)) return `has a number beyond the range of a double in field ${JSON.stringify(name)} (such as 1e400, read as Infinity), which cannot be stored`;
  }
  return undefined;
}

function holdsNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value).some(holdsNonFinite);
}

function fieldsHint(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ` (the body is ${Array.isArray(body) ? 'an array' : show(body).slice(0, 80)})`;
  const keys = Object.keys(body);
  return ` (its top-level fields: ${keys.length > 0 ? keys.slice(0, 12).join(', ') : 'none'})`;
}

function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'empty';
}
