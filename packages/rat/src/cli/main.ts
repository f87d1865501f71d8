import { Command, CommanderError } from 'commander';
import { createOutput } from './output.js';
import type { GlobalOptions } from './context.js';
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

/** Runs the CLI and returns the exit code (0 ok, 1 error, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('rat')
    .description('Ratatouille: a self-hosted lakehouse. Iceberg tables, DuckDB SQL, one command.')
    .option('--json', 'print JSON instead of tables')
    .option('--home <dir>', 'platform folder (default: $RAT_HOME or ./.rat)')
    .option('--branch <ref>', 'branch to read and write; a tag or commit id reads only (default: $RAT_BRANCH, else the git branch with RAT_GIT_SYNC on, else main)')
    .exitOverride()
    .showHelpAfterError('(run rat --help for usage)');
  const globals = () => program.opts<GlobalOptions>();
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
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    // The reader went away (rat sql ... | head): not an error of ours.
    if (error instanceof Error && /Broken pipe/.test(error.message)) return 0;
    createOutput({ json: program.opts<GlobalOptions>().json ?? false }).error(error);
    return 1;
  }
}
