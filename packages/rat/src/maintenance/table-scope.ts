import type { Catalog, LoadedTable } from '../catalog/catalog.js';
import type { PathMap } from '../catalog/file-io.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import type { ObjectStore } from '../storage/object-store.js';

/** One table as one branch holds it: what expire and compaction work on. */
export interface BranchTable {
  branch: string;
  ident: TableIdent;
}

/**
 * Every (branch, table) pair, optionally restricted to the tables named in `only` (`ns.t`). Tags
 * are left out: they are immutable, so nothing can be committed to them.
 */
export async function branchTables(catalog: Catalog, only?: readonly string[]): Promise<BranchTable[]> {
  const wanted = only && only.length > 0 ? new Set(only) : undefined;
  const out: BranchTable[] = [];
  for (const ref of await catalog.refs.list()) {
    if (ref.type !== 'branch') continue;
    for (const pointer of (await catalog.refs.pointers(ref.name)).values()) {
      if (wanted && !wanted.has(formatIdent(pointer.ident))) continue;
      out.push({ branch: ref.name, ident: pointer.ident });
    }
  }
  out.sort((a, b) => (a.branch === b.branch ? (formatIdent(a.ident) < formatIdent(b.ident) ? -1 : 1) : a.branch < b.branch ? -1 : 1));
  return out;
}

/** Every table pointer of every ref (branch or tag), loaded. */
export async function tablesOfAllRefs(catalog: Catalog): Promise<{ ref: string; table: LoadedTable }[]> {
  const out: { ref: string; table: LoadedTable }[] = [];
  for (const ref of await catalog.refs.list()) {
    for (const pointer of (await catalog.refs.pointers(ref.name)).values()) {
      const pathMap = JSON.parse(pointer.pathMap) as PathMap[];
      const metadata = await catalog.readMetadata(pointer.metadataLocation, pathMap);
      out.push({ ref: ref.name, table: { ident: pointer.ident, metadataLocation: pointer.metadataLocation, metadata, pathMap } });
    }
  }
  return out;
}

/** The store key a location refers to after the table's path map, or undefined when it lies outside the store. */
export function storeKeyOf(store: ObjectStore, location: string, pathMap: readonly PathMap[] = []): string | undefined {
  let mapped = location;
  for (const entry of pathMap) {
    if (mapped.startsWith(entry.from)) {
      mapped = entry.to + mapped.slice(entry.from.length);
      break;
    }
  }
  return store.keyOf(mapped);
}
