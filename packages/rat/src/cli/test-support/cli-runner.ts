import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { catalogEnv } from '../../catalog/test-support/test-catalog.js';

export const bin = resolve(import.meta.dirname, '../../../bin/rat.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: number;
}

/**
 * Runs the built CLI on `home` (its catalog on the dialect under test), optionally in another working
 * directory; stdout is counted line by line and only its head is kept, so huge outputs stay cheap here.
 * The data branch does not follow the checkout's git branch (RAT_GIT_SYNC=0) unless `env` says so:
 * a test run from a feature branch would otherwise work on a data branch of that name.
 */
export function rat(home: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, '--home', home, ...args], { env: { ...process.env, RAT_GIT_SYNC: '0', ...catalogEnv(home), ...env }, ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    let lines = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) lines++;
      if (stdout.length < 100_000) stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr, lines }));
  });
}
