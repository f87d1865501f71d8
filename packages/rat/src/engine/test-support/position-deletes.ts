import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedTable } from '../../catalog/catalog.js';
import { newUuid } from '../../core/ids.js';
import type { DataFile, Schema } from '../../iceberg/types.js';
import { type DuckDb, quoteString } from '../duckdb.js';
import type { Lakehouse } from '../lakehouse.js';
import { dataFileFromParquet } from '../parquet-stats.js';

/** Spec "Position Delete Files": file_path (id 2147483546) and pos (id 2147483545). */
const DELETE_SCHEMA: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 2147483546, name: 'file_path', required: true, type: 'string' },
    { id: 2147483545, name: 'pos', required: true, type: 'long' },
  ],
};

/**
 * Commits a position delete file, written as another engine would (sorted by file and position),
 * that deletes the rows at `targets` (a data file's location as the manifest holds it, and a row
 * position in it) from `base`. Returns the delete file.
 */
export async function commitPositionDeletes(rat: Lakehouse, db: DuckDb, base: LoadedTable, targets: readonly { location: string; pos: number }[]): Promise<DataFile> {
  const staging = await rat.store.stagingDir();
  try {
    const localPath = join(staging, 'position-delete.parquet');
    const values = targets.map((t) => `(${quoteString(t.location)}, CAST(${t.pos} AS BIGINT))`).join(', ');
    await db.run(
      `COPY (SELECT file_path, pos FROM (VALUES ${values}) AS t(file_path, pos) ORDER BY file_path, pos) TO ${quoteString(localPath)}
       (FORMAT parquet, FIELD_IDS {file_path: 2147483546, pos: 2147483545})`,
    );
    const key = `${rat.store.keyOf(base.metadata.location)!}/data/${newUuid()}-deletes.parquet`;
    await rat.store.putFile(key, localPath);
    const deleteFile = await dataFileFromParquet(db, {
      localPath,
      filePath: rat.store.uri(key),
      fileSizeInBytes: (await stat(localPath)).size,
      schema: DELETE_SCHEMA,
      partition: {},
      content: 1,
    });
    await rat.executor.writer.commitChange(base, { operation: 'delete', addedDataFiles: [], addedDeleteFiles: [deleteFile] });
    return deleteFile;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
