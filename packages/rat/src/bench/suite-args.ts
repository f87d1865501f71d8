import { ValidationError } from '../core/errors.js';

/**
 * Splits `--suite NAME` (or `--suite=NAME`) off the command line: the names of the suites to run,
 * in registry order for `all` (the default), and the remaining arguments, which each suite parses
 * itself.
 */
export function selectSuites(argv: readonly string[], available: readonly string[]): { suites: string[]; rest: string[] } {
  const rest: string[] = [];
  let chosen: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let value: string | undefined;
    if (arg === '--suite') {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new ValidationError('INVALID_ARGUMENT', `--suite needs a value: ${[...available, 'all'].join(', ')}`);
    } else if (arg.startsWith('--suite=')) {
      value = arg.slice('--suite='.length);
    } else {
      rest.push(arg);
      continue;
    }
    if (chosen !== undefined) throw new ValidationError('INVALID_ARGUMENT', `--suite given twice ("${chosen}" and "${value}"): run one suite, or all`);
    chosen = value;
  }
  const name = chosen ?? 'all';
  if (name === 'all') return { suites: [...available], rest };
  if (!available.includes(name)) throw new ValidationError('INVALID_ARGUMENT', `unknown suite "${name}": choose one of ${[...available, 'all'].join(', ')}`);
  return { suites: [name], rest };
}
