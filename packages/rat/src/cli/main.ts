import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ValidationError } from '../core/errors.js';
import { createOutput } from './output.js';
import { isInterrupted } from './interrupt.js';
import type { GlobalOptions } from './context.js';
import { exitCodeOf } from './failures.js';
import { reportInterruptionAsJson } from './interrupt.js';
import { UsageError } from './usage-error.js';
import { registerBranch } from './commands/branch.js';
import { registerDemo } from './commands/demo.js';
import { registerDiff } from './commands/diff.js';
import { registerLog } from './commands/log.js';
import { registerTag } from './commands/tag.js';
import { registerIngest } from './commands/ingest.js';
import { registerIngestApi } from './commands/ingest-api.js';
import { registerIngestDb } from './commands/ingest-db.js';
import { registerLanding } from './commands/landing.js';
import { registerMaintain } from './commands/maintain.js';
import { registerSnapshots } from './commands/snapshots.js';
import { registerSql } from './commands/sql.js';
import { registerTable } from './commands/table.js';
import { registerTables } from './commands/tables.js';
import { registerUpload } from './commands/upload.js';

/** The installed package's version (dist/cli/main.js sits two folders below its package.json). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Runs the CLI and returns the exit code (0 ok, 1 error, 2 usage, 3 some items of a batch failed while others went through). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  const json = () => program.opts<GlobalOptions>().json ?? false;
  program
    .name('rat')
    .description('Ratatouille: a self-hosted lakehouse. Iceberg tables, DuckDB SQL, one command.')
    .version(packageVersion(), '-V, --version', 'print the version of rat')
    .option('--json', 'print JSON instead of tables')
    .option('--home <dir>', 'platform folder (default: $RAT_HOME or ./.rat)')
    .option('--branch <ref>', 'branch to read and write; a tag or commit id reads only (default: $RAT_BRANCH, else the git branch with RAT_GIT_SYNC on, else main)')
    .exitOverride()
    .showHelpAfterError('(run rat --help for usage)')
    // With --json, a usage error is the JSON error object every other error is (printed below), not
    // commander's text; subcommands take this from the program when they are added.
    .configureOutput({ outputError: (text, write) => (json() ? undefined : write(text)), writeErr: (text) => (json() ? undefined : process.stderr.write(text)) });
  const globals = () => program.opts<GlobalOptions>();
  program.hook('preAction', () => reportInterruptionAsJson(json()));
  registerSql(program, globals);
  registerTables(program, globals);
  registerTable(program, globals);
  registerSnapshots(program, globals);
  registerUpload(program, globals);
  registerLanding(program, globals);
  registerIngest(program, globals);
  registerIngestApi(program, globals);
  registerIngestDb(program, globals);
  registerBranch(program, globals);
  registerTag(program, globals);
  registerLog(program, globals);
  registerDiff(program, globals);
  registerMaintain(program, globals);
  registerDemo(program, globals);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      // `rat` alone prints the help, whose error says only "(outputHelp)".
      const problem = error.code === 'commander.help' ? 'no command given' : error.message.replace(/^error: /, '');
      if (json()) createOutput({ json: true }).error(new ValidationError('INVALID_ARGUMENT', `${problem} (run rat --help for usage)`));
      return 2;
    }
    // The reader went away (rat sql ... | head): not an error of ours.
    if (error instanceof Error && /Broken pipe/.test(error.message)) return 0;
    // The interrupt handler exits with its own code and message once its cleanup is done.
    if (isInterrupted()) return 1;
    createOutput({ json: json() }).error(error);
    return error instanceof UsageError ? 2 : exitCodeOf(error);
  }
}
