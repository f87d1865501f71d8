import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../core/redact-url.js';
import { parseDatabaseUrl } from './database-url.js';
import { tableParts } from './source-sql.js';

describe('database URLs', () => {
  it('drops the password and query parameters from the display name and fills in the default port', () => {
    const pg = parseDatabaseUrl('postgresql://app:p%40ss@db.internal/shop?sslmode=require', {});
    expect(pg).toMatchObject({ dialect: 'postgres', display: 'postgres://app@db.internal:5432/shop', host: 'db.internal', port: 5432, user: 'app', password: 'p@ss', database: 'shop' });
    expect(parseDatabaseUrl('mariadb://app@[::1]:3307/crm', {})).toMatchObject({ dialect: 'mysql', display: 'mysql://app@[::1]:3307/crm', host: '::1', port: 3307 });
  });

  it('takes the password from RAT_SOURCE_PASSWORD first, then the URL, then PGPASSWORD / MYSQL_PWD', () => {
    expect(parseDatabaseUrl('postgres://app@db/shop', { PGPASSWORD: 'pg' }).password).toBe('pg');
    expect(parseDatabaseUrl('postgres://app:url@db/shop', { PGPASSWORD: 'pg' }).password).toBe('url');
    expect(parseDatabaseUrl('postgres://app:url@db/shop', { RAT_SOURCE_PASSWORD: 'rat' }).password).toBe('rat');
    const mysql = parseDatabaseUrl('mysql://app@db/crm', { MYSQL_PWD: 'my secret' });
    expect(mysql.password).toBe('my secret');
    expect(new URL(mysql.connectUrl!).password).toBe('my%20secret');
    expect(mysql.display).toBe('mysql://app@db:3306/crm');
  });

  it("reads a MySQL URL's TLS mode, and refuses a parameter it would otherwise ignore (a TLS request dropped in silence would go in clear text)", () => {
    expect(parseDatabaseUrl('mysql://app@db/crm?sslmode=REQUIRED', {}).tls).toBe('required');
    expect(parseDatabaseUrl('mysql://app@db/crm?ssl-mode=verify_identity', {}).tls).toBe('verified');
    expect(parseDatabaseUrl('mariadb://app@db/crm?sslmode=verify-ca', {}).tls).toBe('verified');
    expect(parseDatabaseUrl('mysql://app@db/crm?ssl=true', {}).tls).toBe('required');
    expect(parseDatabaseUrl('mysql://app@db/crm?sslmode=DISABLED', {}).tls).toBeUndefined();
    expect(parseDatabaseUrl('mysql://app@db/crm', {}).tls).toBeUndefined();
    expect(() => parseDatabaseUrl('mysql://app:pw@db/crm?sslmode=PREFERRED', {})).toThrow(
      'database URL "mysql://app:***@db/crm?sslmode=PREFERRED": sslmode=PREFERRED would fall back to an unencrypted connection, which rat does not do: use sslmode=REQUIRED (TLS or fail) or sslmode=DISABLED',
    );
    expect(() => parseDatabaseUrl('mysql://app@db/crm?sslmode=yes', {})).toThrow('sslmode=yes is not a TLS mode');
    expect(() => parseDatabaseUrl('mysql://app@db/crm?useSSL=true', {})).toThrow('its parameter "useSSL" is not one rat reads from a MySQL URL (only sslmode');
    // PostgreSQL's driver reads its URL's parameters itself.
    expect(parseDatabaseUrl('postgres://app@db/shop?sslmode=require&application_name=x', {}).tls).toBeUndefined();
  });

  it('resolves SQLite paths to absolute ones', () => {
    expect(parseDatabaseUrl('sqlite:///var/data/shop.db', {})).toMatchObject({ dialect: 'sqlite', path: '/var/data/shop.db', display: 'sqlite:/var/data/shop.db' });
    expect(parseDatabaseUrl('sqlite:data/shop.db', {}).path).toBe(`${process.cwd()}/data/shop.db`);
  });

  it('refuses what it cannot read, without echoing the password', () => {
    expect(() => parseDatabaseUrl('postgres://app:secret@db', {})).toThrow('database URL "postgres://app:***@db": it names no database');
    expect(() => parseDatabaseUrl('mongodb://db/x', {})).toThrow('use postgres://user@host:5432/db, mysql://user@host:3306/db (or mariadb://) or sqlite:path/to/file.db');
    expect(() => parseDatabaseUrl('sqlite:', {})).toThrow('a SQLite URL needs a file path');
    expect(redactUrl('see mysql://a:b@h/d and postgres://c@h/e')).toBe('see mysql://a:***@h/d and postgres://c@h/e');
    // A password holding `/` makes the URL invalid, and must not be echoed either; a bad %-escape is named, not a crash.
    expect(() => parseDatabaseUrl('postgres://app:Tops3cret/42@db.internal:5432/shop', {})).toThrow('database URL "postgres://app:***@db.internal:5432/shop": it is not a valid URL');
    expect(redactUrl('"postgres://app:a/b?c#d@db/x" then mysql://u:p@h/d')).toBe('"postgres://app:***@db/x" then mysql://u:***@h/d');
    const badEscape = (url: string) => {
      try {
        parseDatabaseUrl(url, {});
      } catch (error) {
        return [(error as { code?: string }).code, (error as Error).message];
      }
      return [];
    };
    expect(badEscape('postgres://postgres:Pw%zz@db/shop')).toEqual(['INVALID_ARGUMENT', 'database URL "postgres://postgres:***@db/shop": its password has a % not followed by two hex digits: write a % itself as %25']);
    expect(badEscape('postgres://ad%min@db/shop')).toEqual(['INVALID_ARGUMENT', 'database URL "postgres://ad%min@db/shop": its user name "ad%min" has a % not followed by two hex digits: write a % itself as %25']);
    expect(badEscape('mysql://app@db/sh%op')[1]).toContain('its database name "sh%op" has a % not followed by two hex digits');
    expect(badEscape('sqlite:./a%zz.db')[1]).toContain('its path "./a%zz.db" has a %');
  });

  it('splits source table names into parts, honouring double quotes', () => {
    expect(tableParts('public.orders')).toEqual(['public', 'orders']);
    expect(tableParts('"Odd.Schema"."My ""Table"""')).toEqual(['Odd.Schema', 'My "Table"']);
    expect(() => tableParts('a..b')).toThrow('source table "a..b" is not a table name');
  });
});
