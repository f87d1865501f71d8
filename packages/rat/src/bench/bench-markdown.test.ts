import { describe, expect, it } from 'vitest';
import { replaceSection, sectionMarkers } from './bench-markdown.js';

const { begin, end } = sectionMarkers('commit');

describe('replaceSection', () => {
  it('replaces only the generated part of its own suite, keeping the prose and the other sections', () => {
    const text = [
      '# Benchmarks',
      '',
      '<!-- bench:begin -- query suite -->',
      'query figures',
      '<!-- bench:end -->',
      '',
      '## Commit latency',
      'What is measured.',
      '',
      '<!-- bench:commit:begin -- older wording of the marker -->',
      'old figures',
      end,
      '',
      '<!-- bench:branch:begin -->',
      'branch figures',
      '<!-- bench:branch:end -->',
      '',
    ].join('\n');
    const next = replaceSection(text, 'commit', 'new figures\n');
    expect(next).toBe(text.replace('<!-- bench:commit:begin -- older wording of the marker -->\nold figures', `${begin}\nnew figures`));
    expect(replaceSection(next, 'commit', 'new figures\n')).toBe(next);
  });

  it('appends a missing section at the end, and adds the final newline of a body without one', () => {
    expect(replaceSection('# Benchmarks\n\ntext\n', 'commit', 'figures')).toBe(`# Benchmarks\n\ntext\n\n${begin}\nfigures\n${end}\n`);
    expect(replaceSection('', 'commit', 'figures\n')).toBe(`${begin}\nfigures\n${end}\n`);
  });

  it('does not take another suite whose name starts the same for its own', () => {
    const text = `<!-- bench:commit-x:begin -->\nx\n<!-- bench:commit-x:end -->\n`;
    expect(replaceSection(text, 'commit', 'y\n')).toBe(`${text}\n${begin}\ny\n${end}\n`);
  });

  it('refuses a begin marker without its end marker instead of cutting the rest of the file', () => {
    expect(() => replaceSection(`${begin}\nfigures\n## Notes\n`, 'commit', 'new\n')).toThrow(/end marker "<!-- bench:commit:end -->"/);
  });
});
