import { resolve } from 'node:path';

/** Settings every part of the platform reads, resolved once from env and overrides. */
export interface ResolvedConfig {
  /** RAT_HOME: the folder holding the metadata DB, the local warehouse, landing zone and caches. */
  readonly home: string;
  /** SQLite file of the metadata DB. */
  readonly databasePath: string;
}

export interface UserConfig {
  home?: string;
}

export function resolveConfig(user: UserConfig = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const home = resolve(user.home ?? env.RAT_HOME ?? '.rat');
  return { home, databasePath: resolve(home, 'rat.db') };
}
