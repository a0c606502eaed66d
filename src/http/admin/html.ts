/**
 * Server-rendered HTML for the staff pages. Residents' words end up on these pages, so escaping
 * is the default: the `html` template escapes every value it is given, and only markup built by
 * `html` itself or wrapped with `raw()` goes through as is.
 */
import type { Response } from 'express';

/** Markup that is already safe to put in a page: made by `html`, or vouched for with `raw`. */
export class SafeHtml {
  constructor(readonly value: string) {}

  /** The markup, so a SafeHtml can be sent or concatenated as a string. */
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/**
 * Escapes text for HTML element content and quoted attribute values: & < > " ' and the backtick
 * (which old browsers took as an attribute quote). null and undefined become empty text.
 */
export function escapeHtml(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[&<>"'`]/g, (char) => ENTITIES[char] ?? char);
}

/**
 * Marks markup as trusted, so `html` does not escape it. Only for markup the code itself wrote
 * (never anything from a request or the store): it is the one way around escaping.
 */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * The template tag for pages: html`<p>${text}</p>` escapes each interpolated value. A SafeHtml
 * (a nested html`` or raw()) goes in as is; an array is rendered item by item and joined, so
 * `${items.map((i) => html`<li>${i}</li>`)}` works; null, undefined and false render nothing,
 * so `${cond && html`...`}` works too. Interpolate only into element content or quoted
 * attribute values: escaping cannot make an unquoted attribute, a URL's scheme, an event
 * handler or a <script> safe.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === false) return '';
  return escapeHtml(value);
}

/**
 * The Content-Security-Policy of every staff page: scripts and styles only from this origin
 * (plus inline styles), no framing, forms post only here. A page that slips an unescaped value
 * still cannot run injected script. `imgSources` adds image hosts: a page with a map adds the
 * tile server of MAP_TILES_URL, and no other page loads anything from another site.
 */
export function staffPageCsp(imgSources: readonly string[] = []): string {
  const img = ["'self'", 'data:', ...imgSources].join(' ');
  return `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src ${img}; frame-ancestors 'none'; form-action 'self'`;
}

/** The CSP of staff pages that load nothing from elsewhere (all but the map pages with tiles). */
export const STAFF_PAGE_CSP = staffPageCsp();

/**
 * Sends a staff page with the security headers all staff pages share: the CSP, no framing
 * (clickjacking), no Referer to other sites, and no caching (pages show residents' data, and a
 * shared computer's back button must not bring them back after logout).
 */
export function sendStaffPage(res: Response, page: SafeHtml, status = 200, options: { imgSources?: readonly string[] } = {}): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': staffPageCsp(options.imgSources),
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'same-origin',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    })
    .send(page.value);
}
