import { ValidationError } from '../core/errors.js';

/**
 * Refuses the keys of `options` that `known` does not hold. From TypeScript a misspelt option is a
 * compile error; from JavaScript (a plain Node script, a .mjs API config) it would be ignored without
 * a word: `skipExsting: true` loads the file a second time. `what` names the options (`ingest`), and
 * each unknown key gets the known one it is nearest to, if any is near.
 */
export function refuseUnknownKeys(what: string, options: object, known: readonly string[]): void {
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  const named = unknown.map((key) => {
    const near = nearest(key, known);
    return near === undefined ? JSON.stringify(key) : `${JSON.stringify(key)} (did you mean ${near}?)`;
  });
  throw new ValidationError(
    'INVALID_ARGUMENT',
    `unknown ${what} option${unknown.length === 1 ? '' : 's'} ${named.join(', ')}: nothing was done; the ${what} options are ${known.join(', ')}`,
  );
}

/** The known key a misspelling is nearest to: at most a third of its letters off (case aside), else none. */
function nearest(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= Math.max(1, Math.floor(name.length / 3)) && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Letters inserted, deleted, replaced or swapped with their neighbour to turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i]![j] = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i]![j] = Math.min(rows[i]![j]!, rows[i - 2]![j - 2]! + 1);
    }
  }
  return rows[a.length]![b.length]!;
}
