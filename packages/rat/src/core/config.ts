import { resolve } from 'node:path';
import { ValidationError } from './errors.js';
import { redactUrl } from './redact-url.js';

/** Where the metadata DB lives: the embedded SQLite file, or a PostgreSQL server. */
export type DatabaseConfig = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

/** Settings every part of the platform reads, resolved once from env and overrides. */
export interface ResolvedConfig {
  /** RAT_HOME: the folder holding the metadata DB, the local warehouse, landing zone and caches. */
  readonly home: string;
  /** The metadata DB: PostgreSQL when RAT_DATABASE_URL is set, else SQLite `<home>/rat.db`. */
  readonly database: DatabaseConfig;
}

export interface UserConfig {
  home?: string;
  /** A `postgres://` URL for the metadata DB (overrides RAT_DATABASE_URL). */
  databaseUrl?: string;
}

export function resolveConfig(user: UserConfig = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const home = resolve(user.home ?? env.RAT_HOME ?? '.rat');
  const url = user.databaseUrl || env.RAT_DATABASE_URL;
  if (!url) return { home, database: { kind: 'sqlite', path: resolve(home, 'rat.db') } };
  if (!isPostgresUrl(url)) {
    throw new ValidationError(
      'CONFIG_INVALID',
      `RAT_DATABASE_URL "${redactUrl(url)}" is not a PostgreSQL URL: use postgres://user:password@host:5432/database, or leave it unset for the SQLite file ${resolve(home, 'rat.db')}`,
    );
  }
  describePostgresUrl(url);
  return { home, database: { kind: 'postgres', url } };
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** A `postgres://` or `postgresql://` URL is PostgreSQL; anything else is a SQLite file path. */
export function databaseConfigFromString(value: string): DatabaseConfig {
  return isPostgresUrl(value) ? { kind: 'postgres', url: value } : { kind: 'sqlite', path: resolve(value) };
}

/** `user@host:port/database` of a PostgreSQL URL, for messages: never the password. */
export function describePostgresUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ValidationError('CONFIG_INVALID', `RAT_DATABASE_URL "${redactUrl(url)}" is not a valid URL: use postgres://user:password@host:5432/database`, {
      cause: error,
    });
  }
  // libpq's form for a unix socket directory: postgres://user@/db?host=/var/run/postgresql
  const host = parsed.searchParams.get('host') || parsed.hostname || 'localhost';
  const port = parsed.searchParams.get('port') || parsed.port || '5432';
  const user = decodeURIComponent(parsed.username);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const schema = postgresSchemaOf(url);
  return `${user ? `${user}@` : ''}${host}:${port}${database ? `/${database}` : ''}${schema ? ` (schema ${schema})` : ''}`;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The PostgreSQL schema a URL's `?schema=` names for rat's tables (several rat installations can
 * share one database, each in its own schema), or undefined for the server's default search path.
 */
export function postgresSchemaOf(url: string): string | undefined {
  let schema: string | null;
  try {
    schema = new URL(url).searchParams.get('schema');
  } catch {
    return undefined;
  }
  if (schema === null) return undefined;
  if (!SCHEMA_NAME.test(schema)) {
    throw new ValidationError(
      'CONFIG_INVALID',
      `RAT_DATABASE_URL "${redactUrl(url)}": schema "${schema}" is not a plain lower-case SQL name; use letters, digits and _ (e.g. ?schema=rat_prod)`,
    );
  }
  return schema;
}

/** The URL without rat's own `schema` parameter, as the PostgreSQL driver takes it. */
export function postgresDriverUrl(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('schema')) return url;
  parsed.searchParams.delete('schema');
  return parsed.href;
}
