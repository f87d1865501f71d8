import { ValidationError } from '../core/errors.js';

/** The branch every catalog starts with; it cannot be deleted. */
export const MAIN_BRANCH = 'main';

const REF_NAME = /^[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}$/;

/**
 * Branch and tag names follow git's rules, narrowed: letters, digits, `-`, `_`, `.`, `/`; no `..`,
 * `//` or `@{`; no leading or trailing `/` or `.`; no `.lock` suffix; at most 128 characters.
 */
export function validateRefName(kind: 'branch' | 'tag', name: string): string {
  const problem = !REF_NAME.test(name)
    ? 'use letters, digits and - _ . /, starting with a letter, digit or _ (at most 128)'
    : name.includes('..') || name.includes('//')
      ? 'it must not contain ".." or "//"'
      : name.endsWith('/') || name.endsWith('.') || name.includes('/.') || name.endsWith('.lock')
        ? 'it must not end with "/", "." or ".lock", nor have a part starting with "."'
        : undefined;
  if (problem) throw new ValidationError('REF_INVALID', `invalid ${kind} name "${name}": ${problem}`);
  return name;
}
