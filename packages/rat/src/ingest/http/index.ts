export { defineApiSource, resolveApiConfig } from './api-config.js';
export type { ApiAuth, ApiEndpointConfig, ApiIncremental, ApiIngestOptions, ApiPagination, ApiRetry, ApiSourceConfig, ResolvedApiEndpoint, ResolvedApiSource } from './api-config.js';
export { loadApiConfig } from './config-loader.js';
export { ingestApi, type ApiEndpointReport, type ApiIngestReport, type ApiProgress, type IngestApiOptions } from './api-source.js';
export { HttpSourceError, type RetryEvent } from './http-client.js';
