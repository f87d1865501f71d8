import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeError, ValidationError } from '../../core/errors.js';
import { type ApiSourceConfig, resolveApiConfig, type ResolvedApiSource } from './api-config.js';

/**
 * Reads an API source config: YAML (`.yaml`, `.yml`) or JSON with `${ENV_VAR}` substitution in
 * string values (`${VAR:-fallback}` for a default, `$${` for a literal `${`), or a JavaScript module
 * (`.js`, `.mjs`, e.g. compiled from TypeScript) whose default export is the config. Returns it
 * validated, with the defaults applied; problems name the file and the field.
 */
export async function loadApiConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedApiSource> {
  const absolute = resolve(path);
  const extension = extname(absolute).toLowerCase();
  let raw: unknown;
  if (extension === '.yaml' || extension === '.yml' || extension === '.json') {
    const text = await readText(absolute, path);
    try {
      // yaml loads only for a YAML config: every other command would pay for it at start.
      raw = extension === '.json' ? JSON.parse(text) : (await import('yaml')).parse(text);
    } catch (error) {
      throw new ValidationError('CONFIG_INVALID', `${path}: not valid ${extension === '.json' ? 'JSON' : 'YAML'}: ${describeError(error)}`, { cause: error });
    }
    raw = substituteEnv(raw, env, path);
  } else if (extension === '.js' || extension === '.mjs') {
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
    } catch (error) {
      throw new ValidationError('CONFIG_INVALID', `${path}: cannot load the module: ${describeError(error)}`, { cause: error });
    }
    raw = typeof module.default === 'function' ? await (module.default as () => unknown)() : module.default;
    if (raw === undefined) throw new ValidationError('CONFIG_INVALID', `${path}: the module has no default export; use export default defineApiSource({ name, baseUrl, endpoints })`);
  } else if (extension === '.ts' || extension === '.mts') {
    throw new ValidationError('CONFIG_INVALID', `${path}: Node.js 20 cannot load TypeScript; compile it (npx tsc) and pass the .js file, or write the config as .yaml`);
  } else {
    throw new ValidationError('CONFIG_INVALID', `${path}: unknown config file type "${extension || '(none)'}"; use .yaml, .yml, .json, .js or .mjs`);
  }
  return resolveApiConfig(raw as ApiSourceConfig, path);
}

async function readText(absolute: string, path: string): Promise<string> {
  try {
    return await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ValidationError('CONFIG_INVALID', code === 'ENOENT' ? `${path}: no such config file (looked in ${absolute})` : `${path}: cannot read the config file: ${describeError(error)}`, { cause: error });
  }
}

/** Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed config; a missing variable names the field. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, origin: string, at = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$(\$?)\{([^}]*)\}/g, (whole, escaped: string, inner: string) => {
      if (escaped) return whole.slice(1);
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(inner);
      if (!match) throw new ValidationError('CONFIG_INVALID', `${origin}: ${at || 'a value'}: "\${${inner}}" is not a variable reference; use \${NAME} or \${NAME:-default} (or $\${...} for a literal)`);
      const found = env[match[1]!];
      if (found !== undefined && found !== '') return found;
      if (match[2] !== undefined) return match[2];
      throw new ValidationError('CONFIG_INVALID', `${origin}: ${at || 'a value'}: environment variable ${match[1]} is not set; export it, or write \${${match[1]}:-default}`);
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, origin, `${at}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, origin, at ? `${at}.${key}` : key)]));
  }
  return value;
}
