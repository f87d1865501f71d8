import { readFile, writeFile } from 'node:fs/promises';

/** The comment lines around the generated part of one suite's section of BENCHMARKS.md. */
export function sectionMarkers(suite: string): { begin: string; end: string } {
  return {
    begin: `<!-- bench:${suite}:begin -- written by \`npm run bench -- --suite ${suite}\`; edit outside these markers -->`,
    end: `<!-- bench:${suite}:end -->`,
  };
}

/**
 * `text` with the generated part of `suite` replaced by `body`, everything else unchanged. The begin
 * marker is matched by its prefix (its explanation may be reworded); a missing section is appended
 * at the end, and a begin marker without its end marker is an error rather than a guess.
 */
export function replaceSection(text: string, suite: string, body: string): string {
  const { begin, end } = sectionMarkers(suite);
  const generated = `${begin}\n${body.endsWith('\n') ? body : `${body}\n`}${end}`;
  const beginAt = text.indexOf(`<!-- bench:${suite}:begin`);
  if (beginAt < 0) return `${text.trimEnd()}${text.trim() === '' ? '' : '\n\n'}${generated}\n`;
  const endAt = text.indexOf(end, beginAt);
  if (endAt < 0) throw new Error(`BENCHMARKS.md has the begin marker of the ${suite} section but not its end marker "${end}": fix the file by hand`);
  return `${text.slice(0, beginAt)}${generated}${text.slice(endAt + end.length)}`;
}

/** Refreshes one suite's generated section of the file at `path` (creating the file if needed). */
export async function writeSection(path: string, suite: string, body: string): Promise<void> {
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '# Benchmarks\n';
    throw error;
  });
  await writeFile(path, replaceSection(existing, suite, body));
}
