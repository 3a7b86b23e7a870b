/**
 * Connection URLs (postgres://, redis://, rediss://) are printed and stored only with the password masked:
 * `postgres://user:***@host/db`. Query parameters (sslmode, schema) are kept; they carry no secret.
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    // not parseable as a URL: mask anything between "//user:" and "@" by hand
    return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
  }
}

/** The URL without its password (what a job or a stored spec may carry; the password comes from the environment). */
export function stripPassword(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1@');
  }
}

/** Mask every connection URL inside a text (an error message from a driver may quote one). */
export function maskUrlsIn(text: string): string {
  return text.replace(/\b(postgres(?:ql)?|rediss?):\/\/[^\s'"]+/g, (m) => maskUrl(m));
}
