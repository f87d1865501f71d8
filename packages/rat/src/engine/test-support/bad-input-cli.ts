import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Json } from '@duckdb/node-api';
import { expect } from 'vitest';
import type { RatError } from '../../core/errors.js';
import type { Lakehouse } from '../lakehouse.js';
import { catalogEnv } from '../../catalog/test-support/test-catalog.js';

/** Shared by the bad-input suites: the built CLI, its one-line errors, and what a failed command must leave unchanged. */

export const BIN = fileURLToPath(new URL('../../../bin/rat.js', import.meta.url));
export const BUILT_CLI = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI, with RAT_* variables removed so the lakehouse is the local one under `home`. */
export function cli(home: string, args: string[]): Promise<CliRun> {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('RAT_'))), ...catalogEnv(home) };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--home', home, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Exit code 1 and exactly one `rat: CODE: message` line on stderr that contains every `mention`. */
export function expectOneLineError(run: CliRun, expected: { code?: string; mentions: string[] }): void {
  expect(run.code, `exit code; stderr: ${run.stderr}`).toBe(1);
  expect(run.stderr.endsWith('\n'), `stderr ends with a newline: ${JSON.stringify(run.stderr)}`).toBe(true);
  const lines = run.stderr.slice(0, -1).split('\n');
  expect(lines, 'stderr lines').toHaveLength(1);
  const match = /^rat: ([A-Z_]+): (.+)$/.exec(lines[0]!);
  expect(match, `stderr format: ${lines[0]}`).not.toBeNull();
  if (expected.code) expect(match![1]).toBe(expected.code);
  for (const mention of expected.mentions) expect(lines[0]).toContain(mention);
  expect(run.stdout).toBe('');
}

/** Every file under a directory with its size, so any new, removed or rewritten file shows. */
export async function fileTree(root: string): Promise<Record<string, number>> {
  const tree: Record<string, number> = {};
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else tree[path.relative(root, full)] = (await stat(full)).size;
    }
  }
  await walk(root);
  return tree;
}

export interface TableState {
  metadataLocation: string;
  snapshots: string[];
  currentSnapshotId: string | undefined;
  schema: string;
  rows: Record<string, Json>[];
}

export async function tableState(lake: Lakehouse, table: string): Promise<TableState> {
  const described = await lake.describeTable(table);
  return {
    metadataLocation: described.metadataLocation,
    snapshots: (await lake.snapshots(table)).map((s) => String(s.snapshotId)),
    currentSnapshotId: described.currentSnapshotId === undefined ? undefined : String(described.currentSnapshotId),
    schema: JSON.stringify(described.schema),
    rows: await lake.query(`SELECT * FROM ${table} ORDER BY ALL`),
  };
}

export async function rejection(run: Promise<unknown>): Promise<RatError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e as RatError,
  );
  if (!error) throw new Error('expected a failure');
  return error;
}

