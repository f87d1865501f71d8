import { createRequire } from 'node:module';
import type mysql from 'mysql2';
import type pg from 'pg';

const require = createRequire(import.meta.url);

/**
 * Database drivers, loaded on first use: most `rat` commands never connect to PostgreSQL or MySQL,
 * and loading both drivers cost every command about 0.1 s of its start. Both are CommonJS, so they
 * load synchronously where a connection is made.
 */
export function loadPg(): typeof pg {
  return require('pg') as typeof pg;
}

export function loadMysql(): typeof mysql {
  return require('mysql2') as typeof mysql;
}
