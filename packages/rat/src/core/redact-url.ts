/**
 * Removes any password from a URL-looking text (for messages that quote what the user typed): all
 * between `scheme://user:` and the last `@` before a space or quote, so a password holding `/`, `?`
 * or `#` (which end a URL's authority, and so make it invalid) is removed whole.
 */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s"]*):[^\s"]*@/gi, '$1:***@');
}
