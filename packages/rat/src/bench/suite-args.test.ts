import { describe, expect, it } from 'vitest';
import { selectSuites } from './suite-args.js';

const SUITES = ['query', 'commit', 'branch'];

describe('selectSuites', () => {
  it('runs every suite in registry order by default and with --suite all, passing the other flags on', () => {
    expect(selectSuites(['--rounds', '31', '--json'], SUITES)).toEqual({ suites: SUITES, rest: ['--rounds', '31', '--json'] });
    expect(selectSuites(['--suite', 'all'], SUITES)).toEqual({ suites: SUITES, rest: [] });
  });

  it('takes --suite NAME and --suite=NAME anywhere on the line', () => {
    expect(selectSuites(['--no-write', '--suite', 'commit', '--rounds', '5'], SUITES)).toEqual({ suites: ['commit'], rest: ['--no-write', '--rounds', '5'] });
    expect(selectSuites(['--suite=branch'], SUITES)).toEqual({ suites: ['branch'], rest: [] });
  });

  it('names the suites there are when the name is unknown or missing, and refuses two', () => {
    expect(() => selectSuites(['--suite', 'ingest'], SUITES)).toThrow('unknown suite "ingest": choose one of query, commit, branch, all');
    expect(() => selectSuites(['--suite'], SUITES)).toThrow('--suite needs a value: query, commit, branch, all');
    expect(() => selectSuites(['--suite', '--json'], SUITES)).toThrow('--suite needs a value');
    expect(() => selectSuites(['--suite', 'query', '--suite=commit'], SUITES)).toThrow('--suite given twice ("query" and "commit")');
  });
});
