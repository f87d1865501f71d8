import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactUrl } from './database-url.js';
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

  it('resolves SQLite paths to absolute ones', () => {
    expect(parseDatabaseUrl('sqlite:///var/data/shop.db', {})).toMatchObject({ dialect: 'sqlite', path: '/var/data/shop.db', display: 'sqlite:/var/data/shop.db' });
    expect(parseDatabaseUrl('sqlite:data/shop.db', {}).path).toBe(`${process.cwd()}/data/shop.db`);
  });

  it('refuses what it cannot read, without echoing the password', () => {
    expect(() => parseDatabaseUrl('postgres://app:secret@db', {})).toThrow('database URL "postgres://app:***@db": it names no database');
    expect(() => parseDatabaseUrl('mongodb://db/x', {})).toThrow('use postgres://user@host:5432/db, mysql://user@host:3306/db (or mariadb://) or sqlite:path/to/file.db');
    expect(() => parseDatabaseUrl('sqlite:', {})).toThrow('a SQLite URL needs a file path');
    expect(redactUrl('see mysql://a:b@h/d and postgres://c@h/e')).toBe('see mysql://a:***@h/d and postgres://c@h/e');
  });

  it('splits source table names into parts, honouring double quotes', () => {
    expect(tableParts('public.orders')).toEqual(['public', 'orders']);
    expect(tableParts('"Odd.Schema"."My ""Table"""')).toEqual(['Odd.Schema', 'My "Table"']);
    expect(() => tableParts('a..b')).toThrow('source table "a..b" is not a table name');
  });
});
