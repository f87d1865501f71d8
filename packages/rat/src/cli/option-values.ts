import { InvalidArgumentError } from 'commander';

/**
 * Checks a flag's value as commander parses it, so a bad one is a usage error (exit 2) whose message
 * names the flag and the value (`option '--mode <mode>' argument 'bogus' is invalid. Use append,
 * overwrite or merge`), before the lakehouse is opened or any file read.
 */
export function oneOf<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`Use ${listed(allowed)}`);
    return value as T;
  };
}

/** A whole number of at least `min` (`-1` too when `minusOne` says what it means: `-1 = all`). */
export function wholeNumber(min: number, minusOne?: string): (value: string) => number {
  return (value) => {
    const text = value.trim();
    const number = Number(text);
    if (/^-?\d+$/.test(text) && Number.isSafeInteger(number) && (number >= min || (minusOne !== undefined && number === -1))) return number;
    throw new InvalidArgumentError(`Use a whole number of ${min} or more${minusOne === undefined ? '' : `, or -1 (${minusOne})`}`);
  };
}

function listed(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}
