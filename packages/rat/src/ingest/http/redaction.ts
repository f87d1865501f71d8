/**
 * Names of headers and query parameters whose values are treated as secrets: any name containing
 * one of these words (`subscription-key`, `license_key`, `Ocp-Apim-Subscription-Key`, `x-auth-user`).
 * A harmless parameter that matches (`sort_key`) is only masked in messages, never changed in requests.
 */
export const SECRET_NAME = /auth|token|secret|passw|key|signature|cookie|session|credential/i;

const MASK = '***';

/** A function that masks each of `secrets` (longest first) wherever it appears in a text. */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of ordered) {
      out = out.replaceAll(secret, MASK);
      // The same secret percent-encoded, as it appears in a query string: URL.searchParams writes it
      // form-encoded (a space as +, ~ ! ' ( ) escaped), which differs from encodeURIComponent's.
      for (const encoded of new Set([encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)])) {
        if (encoded !== secret) out = out.replaceAll(encoded, MASK);
      }
    }
    return out;
  };
}

/** The URL for messages: user info dropped, the values of parameters named like secrets masked. */
export function displayUrl(url: URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  const masked = [...copy.searchParams.keys()].filter((key) => SECRET_NAME.test(key));
  for (const key of masked) copy.searchParams.set(key, MASK);
  return masked.length > 0 ? copy.toString().replaceAll(encodeURIComponent(MASK), MASK) : copy.toString();
}
