/**
 * The app's own origin. The renderer is served from `app://chaoscope/…` (a privileged, standard,
 * secure scheme) instead of `file://`, so it gets a real origin: relative URLs, the CSP's `'self'`
 * and the IPC sender check all mean "our bundled files" and nothing else on disk.
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'chaoscope';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** True only for URLs of our origin (`app://chaoscope/...`): not another host on the same scheme. */
export function isAppUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  // `app:` is not a WHATWG special scheme, so `URL.origin` is "null": compare the parts instead.
  return (
    parsed.protocol === `${APP_SCHEME}:` &&
    parsed.host === APP_HOST &&
    parsed.username === '' &&
    parsed.password === ''
  );
}
