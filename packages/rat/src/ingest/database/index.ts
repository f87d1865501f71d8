export { DEFAULT_CHUNK_SIZE, ingestDatabase, sourceName, type DatabaseReadProgress, type DatabaseReport, type DatabaseSourceOptions } from './ingest-database.js';
export { parseDatabaseUrl, redactUrl, type DatabaseDialect, type DatabaseLocation } from './database-url.js';
