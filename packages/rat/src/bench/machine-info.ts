import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  /** Logical cores the process may use. */
  cores: number;
  memoryBytes: number;
  os: string;
  node: string;
  duckdb: string;
}

/** The machine a benchmark ran on; `duckdbVersion` comes from the engine itself (pragma_version). */
export async function machineInfo(duckdbVersion: string): Promise<MachineInfo> {
  return {
    cpuModel: (await cpuModelFromProc()) ?? cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    os: `${platform()} ${release()}`,
    node: process.version,
    duckdb: duckdbVersion,
  };
}

/** `model name` of /proc/cpuinfo (Linux); os.cpus() can report a generic name inside VMs. */
async function cpuModelFromProc(): Promise<string | undefined> {
  const text = await readFile('/proc/cpuinfo', 'utf8').catch(() => undefined);
  const match = text === undefined ? null : /^model name\s*:\s*(.+)$/m.exec(text);
  return match?.[1]?.trim();
}
