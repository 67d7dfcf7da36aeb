/** What a secret prints as: in --print-config and in errors that name a URL. */
export const HIDDEN = '(hidden)';

/**
 * The URL with its password hidden; without one, the value as it is. A value that is no URL (it may be a URL with a typo, and
 * still hold a password) has whatever follows `//user:` up to its last `@` hidden.
 */
export function hidePassword(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/^([^/]*\/\/[^/:@]*:).*@/, `$1${HIDDEN}@`);
  }
  if (!parsed.password) return url;
  parsed.password = HIDDEN;
  // URL writes a bare origin with a "/": keep the value's own form, so a caller can append a path.
  const shown = parsed.toString();
  const slashAdded = parsed.pathname === '/' && !url.replace(/[?#].*$/, '').endsWith('/');
  return slashAdded ? shown.replace(/\/(?=[?#]|$)/, '') : shown;
}
