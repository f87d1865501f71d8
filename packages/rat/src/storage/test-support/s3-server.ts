import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A real s3rver on 127.0.0.1, with one empty bucket, for integration tests. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`; use path-style addressing. */
  endpoint: string;
  bucket: string;
  region: string;
  /** s3rver checks signatures against its one built-in account. */
  accessKeyId: string;
  secretAccessKey: string;
  /** SIGSTOP: the kernel still accepts connections, but nothing answers them (a hung server). */
  suspend(): void;
  resume(): void;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./s3-server-process.mjs', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/**
 * Starts s3rver in a child process (it needs `--openssl-legacy-provider` on Node 20, which a
 * vitest worker cannot give itself) on a free port, storing into a fresh temp directory.
 */
export async function startS3Server(options: { bucket?: string } = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? 'rat-test';
  const directory = await mkdtemp(path.join(os.tmpdir(), 'rat-s3rver-'));
  const child = spawn(process.execPath, [SCRIPT, directory, bucket], {
    env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(
        () => reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`)),
        START_TIMEOUT_MS,
      );
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const newline = stdout.indexOf('\n');
        if (newline === -1) return;
        clearTimeout(timer);
        try {
          resolve((JSON.parse(stdout.slice(0, newline)) as { port: number }).port);
        } catch (error) {
          reject(new Error(`s3rver printed ${JSON.stringify(stdout)} instead of its port`, { cause: error }));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited before listening (code ${code}, signal ${signal}): ${stderr.trim()}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    suspend: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async stop() {
      child.kill('SIGCONT');
      // Closing stdin asks the child to close the server; SIGKILL only if it does not.
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        if (child.exitCode === null && child.signalCode === null) await exited;
      } finally {
        clearTimeout(timer);
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}
