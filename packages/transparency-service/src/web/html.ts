/**
 * HTML for the web view: every interpolated value is escaped unless it is markup built here (Html).
 * Strings from statements (iss, sub, payloads, diagnostic text) only ever reach a page through esc().
 */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Part = Html | string | number | undefined | null | false | readonly Part[];

function render(p: Part): string {
  if (p === undefined || p === null || p === false) return '';
  if (p instanceof Html) return p.value;
  if (Array.isArray(p)) return p.map(render).join('');
  return esc(p);
}

/** html`<p>${text}</p>`: interpolations are escaped; nested html`` and arrays of them are not. */
export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0]!;
  parts.forEach((p, i) => (out += render(p) + strings[i + 1]!));
  return new Html(out);
}

/**
 * No script may run on these pages, no asset may come from elsewhere, and no page may be framed:
 * the only resources are this origin's stylesheet and inline SVG.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export const STYLESHEET = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafbfc}
header{background:#24292f;color:#fff;padding:.7em 1.2em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:1em 1.2em;max-width:72em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f1f3f5;padding:.8em;overflow:auto;white-space:pre-wrap;word-break:break-all}
.hash{font:12px ui-monospace,monospace;word-break:break-all}.muted{color:#57606a}
form input[type=text]{width:40em;max-width:80%;padding:.3em}
.path li{margin:.2em 0}.notfound{border-left:4px solid #cf222e;padding-left:.8em}
`;

export function page(title: string, body: Html): string {
  return `<!doctype html>
${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title><link rel="stylesheet" href="/log/style.css"><link rel="icon" href="data:,"></head>
<body><header><a href="/log">Transparency log</a><form method="get" action="/log/search"><input type="text" name="q" placeholder="entry id, subject sha256, or issuer" aria-label="search"> <button type="submit">Search</button></form></header>
<main>${body}</main></body></html>`.value}`;
}
