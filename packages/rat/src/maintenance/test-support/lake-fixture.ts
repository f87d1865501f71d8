import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Lakehouse, openLakehouse } from '../../engine/lakehouse.js';
import { catalogOptions } from '../../catalog/test-support/test-catalog.js';

/** Throwaway RAT_HOMEs with lakehouses on any ref; `cleanup` closes them all and removes the folders. */
export function createLakeFixture(): { home(): Promise<string>; open(home: string, branch?: string): Promise<Lakehouse>; close(lake: Lakehouse): Promise<void>; cleanup(): Promise<void> } {
  const homes: string[] = [];
  const lakes: Lakehouse[] = [];
  return {
    async home() {
      const home = await mkdtemp(path.join(os.tmpdir(), 'rat-maintain-'));
      homes.push(home);
      return home;
    },
    async open(home, branch) {
      const lake = await openLakehouse({ home, threads: 1, env: { RAT_GIT_SYNC: '0' }, ...catalogOptions(home), ...(branch ? { branch } : {}) });
      lakes.push(lake);
      return lake;
    },
    async close(lake) {
      const index = lakes.indexOf(lake);
      if (index >= 0) lakes.splice(index, 1);
      await lake.close();
    },
    async cleanup() {
      for (const lake of lakes.splice(0)) await lake.close();
      for (const home of homes.splice(0)) await rm(home, { recursive: true, force: true });
    },
  };
}

/** Every row of a table, sorted, as JSON text (stable to compare). */
export async function rowsOf(lake: Lakehouse, table: string): Promise<string[]> {
  const rows = await lake.query(`SELECT * FROM ${table}`);
  return rows.map((r) => JSON.stringify(r)).sort();
}
