export { DEFAULT_CHUNK_SIZE, DEFAULT_READ_TIMEOUT_MS, ingestDatabase, sourceName, type DatabaseReadProgress, type DatabaseReport, type DatabaseSourceOptions } from './ingest-database.js';
export { redactUrl } from '../../core/redact-url.js';
export { parseDatabaseUrl, type DatabaseDialect, type DatabaseLocation } from './database-url.js';
