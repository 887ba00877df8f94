import { createHash } from 'node:crypto';

/**
 * The few HTML pages people see: the login form, the logout confirmation, and errors. One inline
 * stylesheet allowed by its hash; no scripts, no external resources.
 */
const STYLE = `
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--text:#1b1d21;--muted:#5d6470;--line:#d5d9e0;--accent:#3355d6;--accent-text:#fff;--error-bg:#fdecec;--error:#a32020}
@media (prefers-color-scheme:dark){:root{--bg:#15171b;--card:#1f2228;--text:#e7e9ee;--muted:#9aa2ae;--line:#353a43;--accent:#6f8cff;--accent-text:#0d0f14;--error-bg:#3a1d1f;--error:#ffb3b3}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--text);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{width:100%;max-width:360px;margin:24px;padding:32px 28px;background:var(--card);border:1px solid var(--line);border-radius:12px}
h1{margin:0 0 4px;font-size:1.35rem;font-weight:600}
p{margin:0 0 20px;color:var(--muted)}
label{display:block;margin:14px 0 6px;font-weight:500}
input{width:100%;padding:10px 12px;font:inherit;color:inherit;background:transparent;border:1px solid var(--line);border-radius:8px}
input:focus{outline:2px solid var(--accent);outline-offset:1px;border-color:var(--accent)}
button{width:100%;margin-top:22px;padding:11px;font:inherit;font-weight:600;color:var(--accent-text);background:var(--accent);border:0;border-radius:8px;cursor:pointer}
button.secondary{margin-top:10px;color:var(--text);background:transparent;border:1px solid var(--line)}
.error{margin:0 0 16px;padding:10px 12px;color:var(--error);background:var(--error-bg);border-radius:8px}
.brand{margin:0 0 18px;font-size:.8rem;font-weight:700;letter-spacing:.12em;text-transform:uppercase;color:var(--accent)}
small{display:block;margin-top:18px;color:var(--muted)}
code{font-size:.9em}
`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/**
 * No form-action directive: browsers apply it to the redirect that follows a form post, and that
 * redirect goes to the client's loopback address.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; base-uri 'none'; frame-ancestors 'none'`,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Chaoscope</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="brand">Chaoscope</div>
${body}
</main>
</body>
</html>`;
}

export interface LoginPageOptions {
  /** Where the form posts: the interaction's own URL path. */
  readonly action: string;
  readonly clientName: string;
  readonly login?: string;
  readonly error?: string;
}

export function loginPage(options: LoginPageOptions): string {
  const error = options.error ? `<div class="error" role="alert">${escapeHtml(options.error)}</div>` : '';
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to ${escapeHtml(options.clientName)}</p>
${error}<form method="post" action="${escapeHtml(options.action)}" autocomplete="on">
<label for="login">Handle</label>
<input id="login" name="login" type="text" value="${escapeHtml(options.login ?? '')}" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="64" required${options.login ? '' : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" maxlength="1024" required${options.login ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>
<small>No account yet? Sign up with <code>POST /api/accounts</code>.</small>`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}

/** oidc-provider hands over its own form (hidden xsrf and state fields); the buttons submit it. */
export function logoutPage(form: string, host: string): string {
  return layout(
    'Sign out',
    `<h1>Sign out?</h1>
<p>You are signed in at ${escapeHtml(host)}.</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>`,
  );
}
