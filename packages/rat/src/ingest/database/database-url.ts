import { resolve } from 'node:path';
import { ValidationError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact-url.js';

export type DatabaseDialect = 'postgres' | 'mysql' | 'sqlite';

/** Where a database source lives, parsed once from its URL; `display` never holds the password. */
export interface DatabaseLocation {
  dialect: DatabaseDialect;
  /** The URL without password and query parameters, default port filled in: `postgres://rat@db:5432/shop`. */
  display: string;
  /** For the network dialects: the URL to connect with (the password from the environment added when the URL has none). */
  connectUrl?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** SQLite: the absolute path of the database file. */
  path?: string;
  /**
   * MySQL: TLS as the URL's `ssl` or `sslmode` asks (PostgreSQL's driver reads its URL's parameters
   * itself): `required` encrypts, `verified` also checks the server's certificate and name.
   */
  tls?: 'required' | 'verified';
}

const DEFAULT_PORTS: Record<Exclude<DatabaseDialect, 'sqlite'>, number> = { postgres: 5432, mysql: 3306 };

/**
 * Parses `postgres://` / `postgresql://`, `mysql://` / `mariadb://` and `sqlite:<path>` URLs. The
 * password may stay out of the URL: RAT_SOURCE_PASSWORD wins, then the URL's, then the client's own
 * convention (PGPASSWORD, MYSQL_PWD).
 */
export function parseDatabaseUrl(url: string, env: NodeJS.ProcessEnv = process.env): DatabaseLocation {
  const scheme = /^([a-z]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'sqlite3') {
    const rest = url.slice(scheme.length + 1).replace(/^\/\/(?=\/)/, '');
    if (rest === '' || rest === '//') throw invalid(url, 'a SQLite URL needs a file path, e.g. sqlite:./shop.db or sqlite:///var/data/shop.db');
    const path = resolve(decodePart(url, 'path', rest.replace(/[?#].*$/, ''), true));
    return { dialect: 'sqlite', display: `sqlite:${path}`, path };
  }
  const dialect: DatabaseDialect | undefined = scheme === 'postgres' || scheme === 'postgresql' ? 'postgres' : scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : undefined;
  if (!dialect) throw invalid(url, 'use postgres://user@host:5432/db, mysql://user@host:3306/db (or mariadb://) or sqlite:path/to/file.db');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw invalid(url, 'it is not a valid URL; e.g. postgres://user@host:5432/db (put the password in RAT_SOURCE_PASSWORD, not the URL, or write its / ? # @ : % as %2F %3F %23 %40 %3A %25)', error);
  }
  if (parsed.hostname === '') throw invalid(url, 'it names no host, e.g. postgres://user@db.example.com:5432/shop');
  const database = decodePart(url, 'database name', parsed.pathname.replace(/^\//, ''), true);
  if (database === '' || database.includes('/')) throw invalid(url, 'it names no database (or more than one path segment), e.g. postgres://user@host:5432/shop');
  const user = parsed.username ? decodePart(url, 'user name', parsed.username, true) : undefined;
  const port = parsed.port ? Number(parsed.port) : DEFAULT_PORTS[dialect];
  const envPassword = dialect === 'postgres' ? env.PGPASSWORD : env.MYSQL_PWD;
  const password = env.RAT_SOURCE_PASSWORD || (parsed.password ? decodePart(url, 'password', parsed.password, false) : undefined) || envPassword || undefined;
  const connect = new URL(url);
  if (password !== undefined) connect.password = encodeURIComponent(password);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const display = `${dialect}://${user ? `${encodeURIComponent(user)}@` : ''}${parsed.hostname}:${port}/${encodeURIComponent(database)}`;
  const tls = dialect === 'mysql' ? mysqlTls(url, parsed.searchParams) : undefined;
  return { dialect, display, connectUrl: connect.href, host, port, database, ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}), ...(tls ? { tls } : {}) };
}

/** MySQL's `--ssl-mode` values and libpq's, which users write in URLs alike, by what rat does with them. */
const MYSQL_SSL_MODES: Record<string, DatabaseLocation['tls'] | 'none' | 'preferred'> = {
  disabled: 'none',
  disable: 'none',
  preferred: 'preferred',
  prefer: 'preferred',
  required: 'required',
  require: 'required',
  verify_ca: 'verified',
  'verify-ca': 'verified',
  verify_identity: 'verified',
  'verify-full': 'verified',
};

/**
 * The TLS a MySQL URL asks for (`?sslmode=REQUIRED`, `?ssl=true`). Its other parameters are refused
 * rather than ignored: the driver here takes no options from the URL, and a TLS request dropped in
 * silence would send the password and the rows in clear text.
 */
function mysqlTls(url: string, params: URLSearchParams): DatabaseLocation['tls'] {
  let tls: DatabaseLocation['tls'];
  for (const [name, value] of params) {
    const key = name.toLowerCase().replaceAll('-', '_');
    let mode: DatabaseLocation['tls'] | 'none' | 'preferred' | undefined;
    if (key === 'ssl_mode' || key === 'sslmode') mode = MYSQL_SSL_MODES[value.toLowerCase()];
    else if (key === 'ssl') mode = /^(true|1)$/i.test(value) ? 'required' : /^(false|0)$/i.test(value) ? 'none' : undefined;
    else throw invalid(url, `its parameter ${JSON.stringify(name)} is not one rat reads from a MySQL URL (only sslmode, e.g. ?sslmode=REQUIRED or ?sslmode=VERIFY_IDENTITY, and ssl=true)`);
    if (mode === undefined) throw invalid(url, `${name}=${value} is not a TLS mode: use sslmode=DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY, or ssl=true / ssl=false`);
    if (mode === 'preferred') throw invalid(url, `${name}=${value} would fall back to an unencrypted connection, which rat does not do: use sslmode=REQUIRED (TLS or fail) or sslmode=DISABLED`);
    tls = mode === 'none' ? undefined : mode;
  }
  return tls;
}

/** A %-encoded part of the URL, decoded; `shown` false keeps its text out of the error (a password). */
function decodePart(url: string, part: string, text: string, shown: boolean): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    throw invalid(url, `its ${part}${shown ? ` ${JSON.stringify(text)}` : ''} has a % not followed by two hex digits: write a % itself as %25`, error);
  }
}

function invalid(url: string, hint: string, cause?: unknown): ValidationError {
  return new ValidationError('INVALID_ARGUMENT', `database URL ${JSON.stringify(redactUrl(url))}: ${hint}`, cause === undefined ? undefined : { cause });
}
