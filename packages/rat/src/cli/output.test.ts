import { describe, expect, it } from 'vitest';
import { createOutput, fitLine } from './output.js';
import { createProgressReporter, progressText } from './progress-reporter.js';

/** What the terminal shows of progress writes: each \r starts the row again, \x1b[K clears the rest of it. */
function progressWrites(options: { columns: number; dumb?: boolean }): { writes: string[]; progress(text: string, done?: boolean): void } {
  const writes: string[] = [];
  const out = createOutput({ json: false, write: () => undefined, writeError: (text) => writes.push(text), terminal: true, ...options });
  return { writes, progress: (text, done) => out.progress(text, done) };
}

describe('progress lines in a terminal', () => {
  const file = '/tmp/s14/r5/data/exports/2026/november/big-customer-export.ndjson';
  const event = { file, phase: 'inferring', bytesDone: 0, bytesTotal: 119.5 * 1024 * 1024, indeterminate: true } as const;

  it('fit the terminal width (a wrapped line leaves its first rows behind), shortening the path in its middle', () => {
    const text = progressText(event, 2_000);
    expect(text.length).toBeGreaterThan(120);
    const terminal = progressWrites({ columns: 80 });
    terminal.progress(text);
    const [write] = terminal.writes;
    expect(write!.startsWith('\r\x1b[K')).toBe(true);
    const line = write!.slice('\r\x1b[K'.length);
    expect(line.length).toBeLessThanOrEqual(79);
    expect(line).toMatch(/^inferring the column types of \/tmp\/s14.*….*-export\.ndjson {2}119\.5 MiB {2}2s so far$/);
  });

  it('leave a line that fits as it is', () => {
    const terminal = progressWrites({ columns: 200 });
    terminal.progress(progressText(event, 2_000), true);
    expect(terminal.writes).toEqual([`\r\x1b[K${progressText(event, 2_000)}\n`]);
  });

  it('write no escape codes for TERM=dumb, overwriting the longer line before with spaces', () => {
    const terminal = progressWrites({ columns: 80, dumb: true });
    terminal.progress('reading a.csv  10.0 MiB / 20.0 MiB  50%');
    terminal.progress('reading a.csv  done', true);
    expect(terminal.writes).toEqual(['\rreading a.csv  10.0 MiB / 20.0 MiB  50%', `\rreading a.csv  done${' '.repeat(20)}\n`]);
    expect(terminal.writes.join('')).not.toContain('\x1b');
  });

  it('cut the end of a line whose words are all short, or too short to shorten further', () => {
    expect(fitLine('a b c d e f g h i j', 10)).toBe('a b c d e…');
    expect(fitLine('reading sqlite:./data/src.db#orders  1,000,000 rows  ETA 4s', 40)).toBe('reading sqlite….db#orders  1,000,000 ro…');
  });
});

describe('the progress reporter in a terminal', () => {
  it('rewrites the line at most five times a second, however often events come (an upload reports every chunk)', async () => {
    const lines: { text: string; done: boolean }[] = [];
    const out = { ...createOutput({ json: false, write: () => undefined, terminal: true, columns: 120 }), progress: (text: string, done = false) => lines.push({ text, done }) };
    const reporter = createProgressReporter(out, true);
    const total = 1_000_000;
    const started = Date.now();
    let events = 0;
    // Events every millisecond or so for 1.6 s: the first second is quiet (short steps print nothing).
    while (Date.now() - started < 1_600) {
      reporter.report({ file: 'big.csv', phase: 'uploading', bytesDone: Math.min(total - 1, ++events * 100), bytesTotal: total });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    reporter.report({ file: 'big.csv', phase: 'uploading', bytesDone: total, bytesTotal: total });
    reporter.end();
    expect(events).toBeGreaterThan(100);
    const updates = lines.filter((l) => !l.done);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.length, `${updates.length} rewrites in ${Date.now() - started - 1_000} ms after the quiet second`).toBeLessThanOrEqual(5);
    expect(lines.at(-1)).toMatchObject({ text: expect.stringMatching(/^uploading big\.csv .* done in \d+s$/), done: true });
  });
});

describe('the progress reporter, for two steps of a file under one phase', () => {
  it('times the second from its own start when the bytes go back (an Excel sheet parsed, then its rows read), so its share never goes back', async () => {
    const lines: string[] = [];
    const out = { ...createOutput({ json: false, write: () => undefined, terminal: true, columns: 120 }), progress: (text: string) => lines.push(text) };
    const reporter = createProgressReporter(out, true);
    const total = 10 * 1024 * 1024;
    const at = (share: number) => reporter.report({ file: 'big.xlsx', phase: 'reading', bytesDone: Math.round(total * share), bytesTotal: total });
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    at(0.1);
    await wait(1_100);
    at(0.995);
    await wait(300);
    at(0.05);
    await wait(1_100);
    at(0.6);
    const shares = lines.filter((text) => text !== '').map((text) => /(\d+)%/.exec(text)![1]);
    expect(shares).toEqual(['99', '60']);
  });
});

describe('the progress reporter, for a batch of files', () => {
  const batch = (filesDone: number, rowsDone: number, done = false) => ({ file: 'bronze.sales', phase: 'batch', bytesDone: done ? 300 : filesDone, bytesTotal: 300, filesDone, filesTotal: 300, rowsDone }) as const;
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("takes the ETA from the files done after the first, whose time holds the table's creation", () => {
    const event = (filesDone: number) => ({ file: 'bronze.sales', phase: 'batch', bytesDone: filesDone, bytesTotal: 200, filesDone, filesTotal: 200 }) as const;
    const first = { elapsedMs: 1_700, files: 1 };
    // After the first file alone: no rate to go by yet (from it, 199 files would take 5m38s).
    expect(progressText(event(1), 1_700, first)).toBe('file 2 of 200 into bronze.sales  0.6 files/s  ETA ?');
    // 50 files in the second since: 149 to go at 50 a second.
    expect(progressText(event(51), 2_700, first)).toBe('file 52 of 200 into bronze.sales  18.9 files/s  ETA 3s');
    expect(progressText(event(51), 2_700)).toBe('file 52 of 200 into bronze.sales  18.9 files/s  ETA 8s');
  });

  it('prints plain lines of files done, rows, rate and ETA, then the end, when not in a terminal', async () => {
    const lines: { text: string; done: boolean }[] = [];
    const out = { ...createOutput({ json: false, write: () => undefined, terminal: false }), progress: (text: string, done = false) => lines.push({ text, done }) };
    const reporter = createProgressReporter(out, false);
    reporter.report(batch(0, 0));
    await wait(1_100);
    reporter.report(batch(119, 45_000));
    // A file's short step between files of the batch prints nothing, and the next batch event comes within the plain interval.
    reporter.report({ file: 'f120.csv', phase: 'reading', bytesDone: 10, bytesTotal: 10 });
    reporter.report(batch(120, 45_500));
    reporter.report(batch(300, 90_000, true));
    reporter.end();
    expect(lines.map((l) => l.text.replace(/\d+\.\d files\/s {2}ETA \S+/, 'RATE ETA').replace(/done in \d+s/, 'done in N'))).toEqual([
      'file 120 of 300 into bronze.sales  45,000 rows  RATE ETA',
      '300 files into bronze.sales  90,000 rows  done in N',
    ]);
    expect(lines.map((l) => l.done)).toEqual([false, true]);
  });

  it("in a terminal, gives way to a file's step line and comes back after it; a short batch prints nothing", async () => {
    const lines: { text: string; done: boolean }[] = [];
    const out = { ...createOutput({ json: false, write: () => undefined, terminal: true, columns: 120 }), progress: (text: string, done = false) => lines.push({ text, done }) };
    const reporter = createProgressReporter(out, true);
    reporter.report(batch(0, 0));
    await wait(1_100);
    reporter.report(batch(1, 10));
    reporter.report({ file: 'big.csv', phase: 'reading', bytesDone: 0, bytesTotal: 100 });
    await wait(1_100);
    reporter.report({ file: 'big.csv', phase: 'reading', bytesDone: 100, bytesTotal: 100 });
    reporter.report(batch(2, 20));
    reporter.report(batch(300, 90_000, true));
    expect(lines.map((l) => [l.text.split('  ')[0], l.done])).toEqual([
      ['file 2 of 300 into bronze.sales', false],
      ['reading big.csv', true],
      ['file 3 of 300 into bronze.sales', false],
      ['300 files into bronze.sales', true],
    ]);

    const short: string[] = [];
    const quiet = createProgressReporter({ ...out, progress: (text: string) => short.push(text) }, true);
    quiet.report(batch(0, 0));
    quiet.report(batch(300, 90_000, true));
    expect(short).toEqual([]);
  });
});

describe('progress lines of a database source', () => {
  it("tell the rows read, typed and then written, and no size of rat's scratch copy of them", () => {
    const source = 'sqlite:/data/src.db#orders';
    const typing = { file: source, phase: 'typing', bytesDone: 0, bytesTotal: 85_563_392, indeterminate: true, rowsDone: 0, rowsTotal: 1_000_000 } as const;
    expect(progressText(typing, 7_000)).toBe('typing the 1,000,000 rows read from sqlite:/data/src.db#orders  7s so far');
    expect(progressText({ ...typing, bytesDone: typing.bytesTotal, rowsDone: 1_000_000 }, 9_000)).toBe('typing the 1,000,000 rows read from sqlite:/data/src.db#orders  done in 9s');
    const writing = { file: source, phase: 'writing', bytesDone: 42_781_696, bytesTotal: 85_563_392, rowsDone: 500_000, rowsTotal: 1_000_000 } as const;
    expect(progressText(writing, 2_000)).toBe('writing sqlite:/data/src.db#orders  500,000 / 1,000,000 rows  50%  250,000 rows/s  ETA 2s');
  });
});

describe('progress lines of a compressed read', () => {
  it('say the rows read ahead are being parsed while the compressed bytes stand still, so the line does not look stuck', () => {
    const event = { file: 'c1g.csv.gz', phase: 'reading', bytesDone: 278_816_358, bytesTotal: 292_028_416, compressed: true } as const;
    expect(progressText(event, 74_000)).toBe('reading c1g.csv.gz  265.9 MiB of 278.5 MiB compressed read  1m14s so far');
    expect(progressText({ ...event, readAhead: true }, 90_000)).toBe('reading c1g.csv.gz  265.9 MiB of 278.5 MiB compressed read, parsing the rows read ahead  1m30s so far');
    expect(progressText({ ...event, bytesDone: event.bytesTotal, readAhead: true }, 101_000)).toBe('reading c1g.csv.gz  278.5 MiB of 278.5 MiB compressed read  done in 1m41s');
  });
});

describe('progress lines of a CSV sniff', () => {
  it('say the type inference reads the sample rows, not every record', () => {
    const event = { file: 'wide.csv', phase: 'inferring', bytesDone: 0, bytesTotal: 161_407_553, indeterminate: true, sampled: true } as const;
    expect(progressText(event, 32_000)).toBe('inferring the column types of wide.csv  153.9 MiB  32s so far (reads the sample rows; DuckDB reports no share done)');
  });
});

describe('streamed tables for people', () => {
  async function streamed(columns: string[], rows: (string | number | null)[][]): Promise<string[]> {
    let text = '';
    const out = createOutput({ json: false, write: (chunk) => void (text += chunk), writeError: () => undefined, terminal: false });
    async function* batches() {
      for (let i = 0; i < rows.length; i += 100) yield rows.slice(i, i + 100);
    }
    await out.stream(columns, batches());
    return text.trimEnd().split('\n');
  }

  it('widen a column for a value wider than the first rows instead of cutting it: ids past 999 stay whole', async () => {
    const lines = await streamed(
      ['id', 'label'],
      Array.from({ length: 1_200 }, (_, i) => [i, `row ${i}`]),
    );
    expect(lines.slice(0, 3)).toEqual(['id  | label', '----+--------', '0   | row 0']);
    expect(lines[2 + 999]).toBe('999 | row 999');
    expect(lines[2 + 1000]).toBe('1000 | row 1000');
    expect(lines[2 + 1199]).toBe('1199 | row 1199');
    expect(lines.join('\n')).not.toContain('…');
    expect(lines.at(-1)).toBe('(1200 rows)');
  });

  it('still cut a value wider than 60 columns, marking the cut', async () => {
    const long = 'x'.repeat(80);
    const wide = '日本'.repeat(40);
    const lines = await streamed(['v'], [...Array.from({ length: 250 }, () => ['a']), [long], [wide]]);
    expect(lines[2 + 250]).toBe(`${'x'.repeat(59)}…`);
    expect(lines[2 + 251]).toBe(`${'日本'.repeat(14)}日…`);
  });
});
