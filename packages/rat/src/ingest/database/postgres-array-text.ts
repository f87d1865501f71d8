import { ValidationError } from '../../core/errors.js';

/** An array's elements as PostgreSQL's text forms (null for NULL), nested for a multidimensional array. */
export type ArrayElements = (string | null | ArrayElements)[];

/**
 * Splits PostgreSQL's text form of an array (`{1,NULL,"a \"b\""}`, `{{1,2},{3,4}}`, with an optional
 * `[0:1]=` bounds prefix) into its elements' text forms, so each element is converted by its own
 * type's reader (a date stays the date it is, a numeric keeps its digits).
 * https://www.postgresql.org/docs/current/arrays.html#ARRAYS-IO
 */
export function parseArrayText(text: string, delimiter = ','): ArrayElements {
  let at = text.startsWith('[') ? text.indexOf('=') + 1 : 0;
  const fail = (what: string) => new ValidationError('INVALID_ARGUMENT', `PostgreSQL array ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text)}: ${what} at character ${at + 1}`);
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const quoted = (): string => {
    let value = '';
    for (at++; at < text.length && text[at] !== '"'; at++) value += text[at] === '\\' ? text[++at] : text[at];
    if (at >= text.length) throw fail('an unterminated quoted element');
    at++;
    return value;
  };
  const unquoted = (): string | null => {
    const start = at;
    while (at < text.length && text[at] !== delimiter && text[at] !== '}') at++;
    const value = text.slice(start, at).trim();
    return value.toUpperCase() === 'NULL' ? null : value;
  };
  const list = (): ArrayElements => {
    if (text[at] !== '{') throw fail('expected "{"');
    at++;
    const out: ArrayElements = [];
    skipSpace();
    if (text[at] === '}') {
      at++;
      return out;
    }
    for (;;) {
      skipSpace();
      out.push(text[at] === '{' ? list() : text[at] === '"' ? quoted() : unquoted());
      skipSpace();
      if (text[at] === '}') {
        at++;
        return out;
      }
      if (text[at] !== delimiter) throw fail(`expected "${delimiter}" or "}"`);
      at++;
    }
  };
  skipSpace();
  const elements = list();
  skipSpace();
  if (at !== text.length) throw fail('unexpected text after the array');
  return elements;
}
