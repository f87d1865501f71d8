import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { NotFoundError } from '../core/errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { globBase, globToRegExp, hasGlob } from './glob-pattern.js';
import type { SourceFile } from './ingest-file.js';
import type { PinnedFile, SourcePins } from './source-pins.js';

export const LANDING_PREFIX = 'landing/';

/** Where a folder's files may have gone: with this, a landing folder that holds nothing now is not taken for a typo. */
export interface SourceContext {
  /** Whether files under this landing prefix were ingested before (into the batch's target): they were moved away since. */
  ingestedFrom?(prefix: string): Promise<boolean>;
  /** Where each file is pinned for its ingest (source-pins.ts): its hash and its rows are then of the same bytes. */
  pins?: SourcePins;
}

/**
 * The files a source spec names, in a stable order: `landing/...` is a key, a folder prefix (`landing/sales/`)
 * or a glob in the object store; anything else is a local file, folder (recursive) or glob. Hidden files
 * (`.name`) in folders are left out.
 *
 * A path or key that exists as given is that file or folder, glob characters and all (`a[1].csv`);
 * only a spec that does not is a glob. What must exist is the folder: a folder, or the folder a glob
 * lists, that holds no (matching) file is an empty batch, but one that does not exist is a
 * STORAGE_NOT_FOUND error naming what the nearest folder holds: a typo must not "succeed" with 0 files.
 * A landing folder exists while it holds any object (a hidden `.keep` too), or once files from it were
 * ingested (`SourceContext.ingestedFrom`): a scheduled batch over a folder emptied after each ingest.
 */
export async function resolveSources(store: ObjectStore, spec: string, context: SourceContext = {}): Promise<SourceFile[]> {
  if (spec.startsWith(LANDING_PREFIX)) return landingSources(store, spec, context);
  return localSources(spec, context);
}

/** A source read through `pins` when given: each `localPath()` pins the file anew, and `unchanged()` checks the latest pin. */
function sourceFile(display: string, path: () => Promise<string>, pins: SourcePins | undefined): SourceFile {
  if (!pins) return { display, localPath: path };
  let pinned: PinnedFile | undefined;
  return {
    display,
    async localPath() {
      pinned = await pins.pin(await path(), display);
      return pinned.path;
    },
    unchanged: async () => pinned?.unchanged(),
  };
}

async function landingSources(store: ObjectStore, spec: string, context: SourceContext): Promise<SourceFile[]> {
  // Another writer may have replaced a landing file since this machine cached it.
  const fromKey = (key: string): SourceFile => sourceFile(key, () => store.localPath(key, { revalidate: true }), context.pins);
  if (!spec.endsWith('/') && (await store.head(spec))) return [fromKey(spec)];
  const folder = spec.endsWith('/') ? spec : `${spec}/`;
  const inFolder = await keysUnder(store, folder);
  if (inFolder.length > 0) return inFolder.filter((key) => !passedOverInFolders(key)).map(fromKey);
  if (!hasGlob(spec)) {
    if (await context.ingestedFrom?.(folder)) return [];
    throw await landingNotFound(store, spec);
  }
  const base = globBase(spec);
  const keys = await keysUnder(store, base);
  if (keys.length === 0 && !(await context.ingestedFrom?.(base))) throw await landingNotFound(store, spec);
  const pattern = globToRegExp(spec);
  return keys.filter((key) => pattern.test(key)).map(fromKey);
}

async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(prefix)) keys.push(object.key);
  return keys;
}

async function localSources(spec: string, context: SourceContext): Promise<SourceFile[]> {
  const fromPath = (path: string): SourceFile => sourceFile(path, async () => path, context.pins);
  const path = resolve(spec);
  const info = await stat(path).catch(() => undefined);
  if (info) return info.isDirectory() ? (await walk(path)).filter((f) => !isDocumentation(f)).map(fromPath) : [fromPath(path)];
  if (!hasGlob(spec)) throw await localNotFound(spec, path);
  const absolute = path.split(sep).join('/');
  const base = globBase(absolute) || '/';
  if (!(await stat(base).catch(() => undefined))?.isDirectory()) throw await localNotFound(spec, base);
  const pattern = globToRegExp(absolute);
  // Hidden files too, as a landing glob matches them: a glob that matches a hidden name reads it.
  return (await walk(base, true)).filter((f) => pattern.test(f.split(sep).join('/'))).map(fromPath);
}

/** Names shown of what the nearest existing folder holds. */
const SHOWN_NAMES = 10;

/** A landing spec that names nothing: says what the nearest landing folder above it holds. */
export async function landingNotFound(store: ObjectStore, spec: string): Promise<NotFoundError> {
  const what = hasGlob(spec) ? `nothing in the landing zone matches ${spec}` : `no landing file or folder ${spec}`;
  for (let folder = parentFolder(spec); folder.startsWith(LANDING_PREFIX); folder = parentFolder(folder)) {
    const names = new Set<string>();
    for await (const object of store.list(folder)) {
      const rest = object.key.slice(folder.length);
      const slash = rest.indexOf('/');
      if (!rest.startsWith('.')) names.add(slash < 0 ? rest : rest.slice(0, slash + 1));
      if (names.size > SHOWN_NAMES) break;
    }
    if (names.size > 0) return new NotFoundError('STORAGE_NOT_FOUND', `${what}; ${folder} holds ${listNames([...names])} (list them with: rat landing ${folder})`);
  }
  return new NotFoundError('STORAGE_NOT_FOUND', `${what}; the landing zone is empty (put files there with: rat upload <file...> landing/<folder>/)`);
}

/** A local spec that names nothing: says what the nearest existing folder above `missing` holds. */
async function localNotFound(spec: string, missing: string): Promise<NotFoundError> {
  const absent = missing.replace(/(.)\/$/, '$1');
  const what = hasGlob(spec) ? `nothing matches ${spec}: no such folder ${absent}` : `no such file or folder: ${spec}`;
  for (let folder = dirname(absent); ; folder = dirname(folder)) {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => undefined);
    if (entries) {
      const names = entries.filter((e) => !e.name.startsWith('.')).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
      return new NotFoundError('STORAGE_NOT_FOUND', `${what}; ${folder} holds ${names.length === 0 ? 'nothing' : listNames(names.sort())}`);
    }
    if (folder === dirname(folder)) return new NotFoundError('STORAGE_NOT_FOUND', what);
  }
}

/** `landing/a/b/` and `landing/a/b.csv` -> `landing/a/`; a glob's parent is above its first glob character. */
function parentFolder(spec: string): string {
  const glob = spec.search(/[*?[{]/);
  const upTo = (glob < 0 ? spec : spec.slice(0, glob)).replace(/\/$/, '');
  return upTo.slice(0, upTo.lastIndexOf('/') + 1);
}

function listNames(names: string[]): string {
  return names.length > SHOWN_NAMES ? `${names.slice(0, SHOWN_NAMES).join(', ')}, ...` : names.join(', ');
}

/**
 * Files a folder of data holds beside the data, which a folder's ingest leaves out (named, or
 * matched by a glob, they are read like any file): a README.txt read as CSV would give the table a
 * column named after its first line.
 */
const DOCUMENTATION = /^(readme|license|licence|notice|changelog|authors|contributing)([._-].*)?$|\.(md|markdown|rst|html?|pdf|png|jpe?g|gif|svg)$/i;

export function isDocumentation(path: string): boolean {
  return DOCUMENTATION.test(path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1));
}

/** A landing key an ingest of its folder passes over: hidden (a name or folder starting with `.`, a `.keep`) or documentation. */
export function passedOverInFolders(key: string): boolean {
  return key.split('/').some((part) => part.startsWith('.')) || isDocumentation(key);
}

/**
 * Every file under a folder, sorted; names starting with `.` (files and folders) only with `hidden`.
 * A symbolic link counts as what it points to, as `cp -rL`
 * copies it: a link to a file is that file, a link to a folder is walked in turn (once: a link back
 * to a folder the walk is inside is a loop, not followed). A link that points nowhere is listed as
 * the file it names, so reading it fails naming it instead of the folder's file being left out unseen.
 */
export async function walk(dir: string, hidden = false, inside: ReadonlySet<string> = new Set()): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const within = new Set(inside).add(await realpath(dir).catch(() => dir));
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!hidden && entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const target = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
    if (target === undefined) files.push(path);
    else if (target.isDirectory()) {
      if (!within.has(await realpath(path).catch(() => path))) files.push(...(await walk(path, hidden, within)));
    } else if (target.isFile()) files.push(path);
  }
  return files;
}

export function relativeTo(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}
