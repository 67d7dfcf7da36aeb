/** What a secret prints as: in --print-config and in errors that name a URL. */
export const HIDDEN = '(hidden)';

/** The URL with its password (if any) hidden. */
export function hidePassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = HIDDEN;
  return parsed.toString();
}
