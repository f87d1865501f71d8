import { ValidationError } from '../core/errors.js';
import { FLAG_SPELLING, type OptionSpelling } from './option-spelling.js';
import { InputFileError } from './input-file-error.js';

/** One source column and the table column it becomes. `position` is 1-based in the source. */
export interface ColumnMapping {
  source: string;
  name: string;
  position: number;
}

export const LINEAGE_COLUMNS = ['_source_file', '_ingested_at'] as const;

/**
 * How the columns rat adds to a file's rows while it reads them start (`__rat_line`, staged-file.ts):
 * a column of the file named so would be dropped, or replaced by the row's line. Safe names never
 * start so (they lose leading underscores); --keep-names and --rename could.
 */
const INTERNAL_PREFIX = '__rat_';

const PLAIN_NAME = /^[a-z_][a-z0-9_]*$/;
const MAX_NAME = 128;

/**
 * A lower snake_case SQL name that needs no quoting in DuckDB: Latin letters lose their accents
 * (`Café` -> `cafe`), camelCase is split, letters and digits of other scripts are kept as they are,
 * lower-cased (`Имя клиента` -> `имя_клиента`, `名前` -> `名前`), anything else becomes `_`; a
 * leading digit gets `_`, a reserved keyword gets a trailing `_` (`select` -> `select_`). A name with
 * no letter or digit at all becomes `column_<position>`.
 */
export function safeColumnName(raw: string, position: number, reserved: ReadonlySet<string>): string {
  let name = raw
    .normalize('NFC')
    .replace(/\p{Script=Latin}+/gu, (latin) => latin.normalize('NFKD'))
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]/gu, (ch) => (KEPT_LETTER.test(ch) ? ch : '_'))
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '') name = `column_${position}`;
  if (/^\p{N}/u.test(name)) name = `_${name}`;
  if (reserved.has(name)) name = `${name}_`;
  return name.slice(0, MAX_NAME);
}

/** A letter, digit or mark of a script other than Latin (whose other letters, `ß`, `ø`, become `_`, as they always have). */
const KEPT_LETTER = /^(?!\p{Script=Latin})[\p{L}\p{N}\p{M}]$/u;

/**
 * Maps source column names to table column names: explicit renames first, then safe names (or, with
 * safe names off, a check that each name already is one). Two columns ending with the same name, or
 * one taking a lineage column's name, fail with both positions named.
 */
export function mapColumnNames(
  file: string,
  sourceNames: string[],
  options: { rename: Record<string, string>; safeNames: boolean; lineage: boolean; spelling?: OptionSpelling; tableNames?: boolean; optionalRenames?: readonly string[] },
  reserved: ReadonlySet<string>,
): ColumnMapping[] {
  const spelling = options.spelling ?? FLAG_SPELLING;
  const renames = renamesOf(file, sourceNames, options.rename, spelling, options.optionalRenames ?? []);
  const mappings = sourceNames.map((source, index) => {
    const position = index + 1;
    const renamed = renames[index];
    let name: string;
    if (renamed !== undefined) {
      name = renamed.toLowerCase();
      if (!PLAIN_NAME.test(name) || name.length > MAX_NAME) {
        throw new ValidationError('INVALID_IDENTIFIER', `rename of "${source}" to "${renamed}": use letters, digits and underscores, starting with a letter or underscore`);
      }
    } else if (options.tableNames && PLAIN_NAME.test(source)) {
      name = source;
    } else if (options.safeNames) {
      name = safeColumnName(source, position, reserved);
    } else {
      name = source;
      if (!PLAIN_NAME.test(source) || reserved.has(source)) {
        const why = source.trim() === '' ? 'is empty' : reserved.has(source.toLowerCase()) ? 'is a reserved SQL keyword' : 'is not a plain lower-case SQL name';
        throw new InputFileError(
          'INGEST_FILE_INVALID',
          file,
          { column: position },
          `column name ${JSON.stringify(source)} ${why}; let rat rename it (${spelling.safeNamesOn}) or rename it: ${spelling.rename(source, 'new_name')}`,
        );
      }
    }
    return { source, name, position };
  });
  const byName = new Map<string, ColumnMapping>();
  const taken = new Set(mappings.map((m) => m.name));
  if (options.safeNames) nameCaseVariants(mappings.filter((m) => renames[m.position - 1] === undefined), taken);
  for (const mapping of mappings) {
    let clash = byName.get(mapping.name);
    // Names that differ only in case (JSON keys `Name`, `name`) are distinct columns: the later one gets `_2`, as repeated header names do.
    if (clash && options.safeNames && renames[mapping.position - 1] === undefined && isCaseVariant(clash.source, mapping.source)) {
      mapping.name = uniqueName(mapping.name, taken);
      clash = byName.get(mapping.name);
    }
    if (clash) {
      const same = clash.source === mapping.source;
      throw new InputFileError(
        'INGEST_FILE_INVALID',
        file,
        { column: mapping.position },
        same
          ? `column name ${JSON.stringify(mapping.source)} appears twice (columns ${clash.position} and ${mapping.position}); rename one in the file, or read it without a header (--no-header) and name the columns`
          : `columns ${clash.position} (${JSON.stringify(clash.source)}) and ${mapping.position} (${JSON.stringify(mapping.source)}) both become "${mapping.name}"; rename one: ${spelling.rename(mapping.source, 'other_name')}`,
      );
    }
    if (options.lineage && (LINEAGE_COLUMNS as readonly string[]).includes(mapping.name)) {
      throw new InputFileError('INGEST_FILE_INVALID', file, { column: mapping.position }, `column "${mapping.source}" would take the lineage column name "${mapping.name}"; rename it or turn lineage off (${spelling.lineageOff})`);
    }
    if (mapping.name.startsWith(INTERNAL_PREFIX)) {
      throw new InputFileError(
        'INGEST_FILE_INVALID',
        file,
        { column: mapping.position },
        `column "${mapping.source}" would be named "${mapping.name}", and names starting with ${INTERNAL_PREFIX} are those of the columns rat adds while it reads a file (a row's line, its file); rename it: ${spelling.rename(mapping.source, 'new_name')}`,
      );
    }
    byName.set(mapping.name, mapping);
  }
  return mappings;
}

/**
 * The --rename target of each source column (undefined: none). A key names the column spelled
 * exactly so; failing that, the one column not named exactly by another key whose name differs only
 * in case or surrounding spaces (`Name` and `name` can both be columns: the exact spelling picks one).
 * A key that names no column is refused, unless it is `optional` (one a replay kept from its ingest: left out).
 */
function renamesOf(file: string, sourceNames: string[], rename: Record<string, string>, spelling: OptionSpelling, optional: readonly string[]): (string | undefined)[] {
  const loose = (name: string) => name.trim().toLowerCase();
  const entries = Object.entries(rename);
  const targets = new Array<string | undefined>(sourceNames.length);
  const exact = new Set<number>();
  for (const [from, to] of entries) {
    const at = sourceNames.indexOf(from);
    if (at >= 0) {
      targets[at] = to;
      exact.add(at);
    }
  }
  for (const [from, to] of entries) {
    if (sourceNames.includes(from)) continue;
    const near = sourceNames.flatMap((source, i) => (!exact.has(i) && loose(source) === loose(from) ? [i] : []));
    if (near.length > 1) {
      throw new ValidationError('INVALID_IDENTIFIER', `${file}: ${spelling.renames} names column "${from}", which matches ${near.map((i) => `"${sourceNames[i]}"`).join(' and ')} only ignoring case; spell it as one of them exactly`);
    }
    if (near.length === 0 && optional.includes(from)) continue;
    if (near.length === 0) throw new ValidationError('COLUMN_NOT_FOUND', `${file}: ${spelling.renames} names column "${from}", which the file does not have (columns: ${sourceNames.join(', ')})`);
    targets[near[0]!] = to;
  }
  return targets;
}

/**
 * Columns whose names differ only in case (`Name`, `name`) are distinct columns, and which one keeps
 * the name must not depend on their order in the file, or a later file with the two the other way
 * round would swap their values: the spelling that is the name itself (`name`) keeps it, then the
 * others in the order of their spellings (`NAME` before `Name`), each with `_2`, `_3`, ...
 */
function nameCaseVariants(mappings: ColumnMapping[], taken: Set<string>): void {
  const groups = new Map<string, ColumnMapping[]>();
  for (const mapping of mappings) groups.set(mapping.name, [...(groups.get(mapping.name) ?? []), mapping]);
  for (const group of groups.values()) {
    const spellings = new Set(group.map((m) => m.source));
    // A name spelled twice the same way is refused by the caller, naming both columns.
    if (group.length < 2 || spellings.size !== group.length || !group.every((m) => m.source.toLowerCase() === group[0]!.source.toLowerCase())) continue;
    const rank = (m: ColumnMapping) => (m.source === m.name ? 0 : 1);
    const ordered = [...group].sort((a, b) => rank(a) - rank(b) || (a.source < b.source ? -1 : 1));
    for (const mapping of ordered.slice(1)) mapping.name = uniqueName(mapping.name, taken);
  }
}

function isCaseVariant(a: string, b: string): boolean {
  return a !== b && a.toLowerCase() === b.toLowerCase();
}

/**
 * A file's own column names as columns: an empty one becomes `column_<n>`, one spelled exactly as an
 * earlier one gets `_2`, `_3` (by position: nothing else tells them apart), skipping the names the
 * file itself has: with columns `id, id, id_2`, the file's `id_2` keeps its name, where another file
 * brings it too, and the second `id` is `id_3`. Names alike but for case stay as they are, for
 * mapColumnNames to tell apart by their spelling, as it does for every format.
 */
export function uniqueColumnNames(names: readonly string[]): string[] {
  const spelled = new Set(names);
  const used = new Set<string>();
  return names.map((name, k) => {
    if (name !== '' && !used.has(name)) {
      used.add(name);
      return name;
    }
    const base = name === '' ? `column_${k + 1}` : name;
    let unique = base;
    for (let n = 2; used.has(unique) || spelled.has(unique); n++) unique = `${base}_${n}`;
    used.add(unique);
    return unique;
  });
}

/**
 * `base`, or `base_2`, `base_3`, ... when taken; the name returned is then taken in `used`. Names
 * are taken ignoring case, as SQL names are (`Name` takes `name`): `used` holds them lower-cased.
 */
export function uniqueName(base: string, used: Set<string>): string {
  let name = base;
  for (let n = 2; used.has(name.toLowerCase()); n++) name = `${base}_${n}`;
  used.add(name.toLowerCase());
  return name;
}
