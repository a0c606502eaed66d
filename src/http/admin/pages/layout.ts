/**
 * The frame every dashboard page shares: the navigation, who is signed in, the log-out button,
 * the stylesheet, flash messages and the small pieces forms need (the CSRF field, error lists).
 *
 * The staff pages are in English for now: they are for city staff, not residents, so their
 * words are not in `locales/` (which holds what residents read, in every language the city
 * supports). Every value goes through the escaping `html` tag; `raw` is used only for markup
 * this file writes itself.
 */
import type { Response } from 'express';
import { z } from 'zod';
import type { StaffActor } from '../actor.js';
import { html, raw, sendStaffPage, type SafeHtml } from '../html.js';
import { formatCityTime } from '../../../domain/city-time.js';
import { CATEGORIES } from '../../../domain/vocabulary.js';

/** The areas of the dashboard, as the navigation names them. */
export type Section =
  'home' | 'impact' | 'reports' | 'duplicates' | 'map' | 'ideas' | 'roles' | 'checkin' | 'broadcasts' | 'handoffs' | 'open311' | 'audit' | 'ballots';

/** What the frame of a page needs. */
export interface PageFrame {
  /** The page's own title (the city's name is added). */
  title: string;
  section: Section;
  actor: StaffActor;
  cityName: string;
  /** A message at the top: a fixed text chosen by code, never text from the request. */
  flash?: Flash;
  /** Scripts of this page, as paths under /admin/assets/ (the CSP allows only same-origin files). */
  scripts?: readonly string[];
  /** Stylesheets of this page besides the inline one, as paths under /admin/assets/ (a map's). */
  styles?: readonly string[];
  /**
   * Settings this page's scripts read, as `<meta name content>` (no inline script may carry
   * them): code-chosen names, values escaped like everything else.
   */
  meta?: Readonly<Record<string, string>>;
  /** Image hosts this page may load besides its own (a map's tile server), added to its CSP. */
  imgSources?: readonly string[];
}

/** A message shown at the top of a page. */
export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

const NAV: readonly { section: Section; href: string; label: string; adminOnly?: boolean }[] = [
  { section: 'home', href: '/admin', label: 'Home' },
  { section: 'impact', href: '/admin/impact', label: 'Impact' },
  { section: 'reports', href: '/admin/reports', label: 'Reports' },
  { section: 'duplicates', href: '/admin/duplicates', label: 'Duplicates' },
  { section: 'map', href: '/admin/map', label: 'Map' },
  { section: 'ideas', href: '/admin/ideas', label: 'Ideas' },
  { section: 'roles', href: '/admin/roles', label: 'Volunteer roles' },
  { section: 'checkin', href: '/admin/checkin', label: 'Check-in' },
  { section: 'broadcasts', href: '/admin/broadcasts', label: 'Broadcasts' },
  { section: 'ballots', href: '/admin/ballots', label: 'Ballots' },
  { section: 'handoffs', href: '/admin/handoffs', label: 'Inbox' },
  { section: 'open311', href: '/admin/open311', label: 'Open311', adminOnly: true },
  { section: 'audit', href: '/admin/audit', label: 'Audit log', adminOnly: true },
];

// The stylesheet is inline (the CSP allows inline styles, not inline scripts): one request per
// page, and nothing in it depends on data. It goes in through `raw`: a <style> element's text is
// not HTML, so escaped quotes would break its selectors.
const STYLES = `
  :root { --ink: #1a1a1a; --muted: #5c6370; --line: #d8dde3; --bg: #f6f7f9; --accent: #0b5cab; --ok: #1a7f37; --warn: #9a6700; --bad: #b42318; }
  * { box-sizing: border-box; }
  body { margin: 0; font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: var(--ink); background: var(--bg); line-height: 1.45; }
  a { color: var(--accent); }
  header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem; padding: 0.6rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
  header.top .brand { font-weight: 700; margin-right: auto; }
  nav.main ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; list-style: none; margin: 0; padding: 0; }
  nav.main a { text-decoration: none; padding: 0.25rem 0; border-bottom: 2px solid transparent; }
  nav.main a[aria-current='page'] { border-bottom-color: var(--accent); font-weight: 600; color: var(--ink); }
  .who { color: var(--muted); font-size: 0.9rem; display: flex; align-items: center; gap: 0.75rem; }
  .who form { margin: 0; }
  main { max-width: 72rem; margin: 0 auto; padding: 1.25rem 1.5rem 3rem; }
  h1 { font-size: 1.5rem; margin: 0.25rem 0 1rem; }
  h2 { font-size: 1.15rem; margin: 1.75rem 0 0.75rem; }
  section.card, .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; font-size: 0.93rem; }
  th, td { text-align: left; padding: 0.45rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
  th { background: #eef1f4; font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .muted { color: var(--muted); }
  .flash { padding: 0.7rem 1rem; border-radius: 4px; margin-bottom: 1rem; }
  .flash.ok { background: #e9f7ef; border: 1px solid #a6dcb8; }
  .flash.error { background: #fdecea; border: 1px solid #f5c2c0; }
  .errors { background: #fdecea; border: 1px solid #f5c2c0; padding: 0.6rem 1rem 0.6rem 2rem; border-radius: 4px; }
  form.stack label { display: block; font-weight: 600; margin-top: 0.8rem; }
  form.stack .hint { font-weight: 400; color: var(--muted); font-size: 0.88rem; }
  input[type=text], input[type=number], input[type=datetime-local], input[type=date], select, textarea { font: inherit; padding: 0.4rem 0.5rem; border: 1px solid #b9c0c8; border-radius: 4px; max-width: 100%; }
  form.stack input[type=text], form.stack textarea, form.stack select { width: 100%; }
  textarea { min-height: 5rem; }
  fieldset { border: 1px solid var(--line); border-radius: 4px; margin-top: 0.8rem; }
  fieldset label { display: inline-block !important; font-weight: 400 !important; margin-right: 1rem; }
  button, .button { font: inherit; padding: 0.45rem 1rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
  button.secondary, .button.secondary { background: #fff; color: var(--accent); }
  button.danger { background: var(--bad); border-color: var(--bad); }
  form.inline { display: inline-block; margin: 0 0.25rem 0.25rem 0; }
  button.link { background: none; border: none; color: var(--accent); padding: 0; text-decoration: underline; }
  .actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin-top: 1rem; align-items: center; }
  .actions form { margin: 0; }
  form.filters { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem 1rem; margin-bottom: 1rem; }
  form.filters label { display: flex; flex-direction: column; font-size: 0.85rem; font-weight: 600; }
  form.filters input[type=number] { width: 6rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem; }
  .chart-narrow { max-width: 30rem; margin-bottom: 1rem; }
  figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem 1rem; }
  figure.chart figcaption { font-weight: 600; margin-bottom: 0.4rem; }
  figure.chart svg { width: 100%; height: auto; display: block; }
  figure.chart .bar { fill: var(--accent); }
  figure.chart .bar.secondary { fill: #8fb3dc; }
  figure.chart .track { fill: #eef1f4; }
  figure.chart text { font-size: 13px; fill: var(--ink); }
  dl.numbers { display: grid; grid-template-columns: auto auto; gap: 0.1rem 1rem; margin: 0.5rem 0 0; font-size: 0.88rem; }
  dl.numbers dt { color: var(--muted); }
  dl.numbers dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
  .big { font-size: 2rem; font-weight: 700; }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1.25rem; margin: 0; }
  dl.facts dt { font-weight: 600; }
  dl.facts dd { margin: 0; overflow-wrap: anywhere; }
  .card h2:first-child { margin-top: 0; }
  table + .card, table + section.card { margin-top: 1.5rem; }
  .badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; font-size: 0.8rem; background: #eef1f4; }
  .badge.open, .badge.scheduled, .badge.sending, .badge.new { background: #fff4d6; }
  .badge.fixed, .badge.done, .badge.accepted, .badge.confirmed { background: #e9f7ef; }
  .badge.closed, .badge.cancelled, .badge.not_planned { background: #eceff3; }
  .badge.reopened { background: #fde2e1; }
  ol.transcript { padding-left: 3rem; }
  .transcript li { margin-bottom: 0.35rem; }
  .transcript .in { color: var(--ink); }
  .transcript .out { color: var(--muted); }
  .transcript .staff { color: var(--accent); }
  .count { display: inline-block; min-width: 1.4rem; padding: 0 0.4rem; border-radius: 999px; background: var(--bad); color: #fff; font-size: 0.8rem; text-align: center; }
  /* On a phone a wide table scrolls sideways in its own box, rather than breaking every word ("Resid-ent") to fit. */
  @media (max-width: 40rem) {
    table { display: block; overflow-x: auto; }
    th, td { overflow-wrap: break-word; }
    th { white-space: nowrap; }
  }
  img.photo { max-width: 20rem; max-height: 20rem; border: 1px solid var(--line); border-radius: 4px; }
  ul.queues { display: flex; flex-wrap: wrap; gap: 0.25rem 1.25rem; list-style: none; margin: 0 0 0.75rem; padding: 0; }
  ul.queues a[aria-current='page'] { font-weight: 600; color: var(--ink); text-decoration: none; border-bottom: 2px solid var(--accent); }
  ul.queues li:last-child { margin-left: auto; }
  form.filters label.check { flex-direction: row; align-items: center; gap: 0.35rem; }
  form.filters input[type=search] { font: inherit; padding: 0.4rem 0.5rem; border: 1px solid #b9c0c8; border-radius: 4px; width: 18rem; max-width: 100%; }
  .badge.overdue { background: #fdecea; color: var(--bad); font-weight: 600; }
  tr.overdue td:first-child { border-left: 3px solid var(--bad); }
  tr.internal { background: #fffbea; }
  .badge.internal { background: #fff4d6; }
  .notice { background: #fff4d6; border: 1px solid #f0d58c; padding: 0.6rem 1rem; border-radius: 4px; }
  p.hint { font-size: 0.88rem; margin-top: -0.5rem; }
  ul.shifts { list-style: none; margin: 0; padding: 0; }
  ul.shifts details summary { cursor: pointer; margin-top: 0.75rem; color: var(--accent); }
  .shift-head { margin-top: 0; }
  /* Check-in is used on a phone at the door: one column, tap targets at least 48 px high. */
  ul.checkin-list { list-style: none; margin: 0 0 1rem; padding: 0; }
  a.tap-card { display: flex; flex-direction: column; gap: 0.2rem; padding: 1rem; margin-bottom: 0.75rem; min-height: 3rem; background: #fff; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; color: var(--ink); }
  a.tap-card strong { color: var(--accent); font-size: 1.1rem; }
  .volunteer .who-line { margin: 0 0 0.5rem; overflow-wrap: anywhere; }
  .tap-row { display: grid; grid-template-columns: 1fr 1fr; gap: 0.5rem; }
  .tap-row form { margin: 0; }
  .tap-row button, form.tap button { width: 100%; min-height: 3rem; font-size: 1.05rem; }
  .hours-row { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; margin-top: 0.75rem; }
  .hours-row label { font-weight: 600; }
  .hours-row input[type=number] { width: 6rem; min-height: 3rem; font-size: 1.05rem; }
  .hours-row button { min-height: 3rem; }
  form.tap textarea { width: 100%; }
  /* Tables of figures (the impact page): numbers on one line, headers broken between words only, the table scrolling in its box when too wide. */
  .table-scroll { overflow-x: auto; }
  table.figures th { overflow-wrap: normal; }
  table.figures td.num { white-space: nowrap; }
  table.figures td:first-child { min-width: 11rem; }
  table.figures .outcome { min-width: 9rem; }
`;

/** The whole page: the frame around a page's own content. */
export function layout(frame: PageFrame, content: SafeHtml): SafeHtml {
  const { actor } = frame;
  const nav = NAV.filter((item) => !item.adminOnly || actor.role === 'admin');
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>${frame.title} - ${frame.cityName} CivicLine staff</title>
        <style>
          ${raw(STYLES)}
        </style>
        ${Object.entries(frame.meta ?? {}).map(([name, content]) => html`<meta name="${name}" content="${content}" />`)}
        ${(frame.styles ?? []).map((href) => html`<link rel="stylesheet" href="${href}" />`)}
        ${(frame.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
      </head>
      <body>
        <header class="top">
          <span class="brand">${frame.cityName} CivicLine</span>
          <nav class="main" aria-label="Dashboard">
            <ul>
              ${nav.map(
                (item) => html`<li><a href="${item.href}" ${item.section === frame.section ? html`aria-current="page"` : html``}>${item.label}</a></li>`,
              )}
            </ul>
          </nav>
          <div class="who">
            <span>Signed in as <strong>${actor.username}</strong> (${actor.role})</span>
            ${
              actor.via === 'session'
                ? html`<form method="post" action="/admin/logout">
                    ${csrfField(actor)}
                    <button type="submit" class="secondary">Log out</button>
                  </form>`
                : html`<span class="muted">via ADMIN_TOKEN</span>`
            }
          </div>
        </header>
        <main>${frame.flash && html`<p class="flash ${frame.flash.kind}" role="status">${frame.flash.text}</p>`} ${content}</main>
      </body>
    </html>`;
}

/** Sends a page in the frame, with the staff pages' security headers. */
export function sendPage(res: Response, frame: PageFrame, content: SafeHtml, status = 200): void {
  sendStaffPage(res, layout(frame, content), status, frame.imgSources ? { imgSources: frame.imgSources } : {});
}

/**
 * The hidden CSRF field every form of a session must carry (staff access checks it). Requests
 * with ADMIN_TOKEN have no session token and need none.
 */
export function csrfField(actor: StaffActor): SafeHtml {
  return actor.csrfToken ? html`<input type="hidden" name="_csrf" value="${actor.csrfToken}" />` : html``;
}

/** A list of what is wrong with a form, for the top of the form. */
export function errorList(errors: readonly string[]): SafeHtml {
  if (errors.length === 0) return html``;
  return html`<ul class="errors" role="alert">
    ${errors.map((error) => html`<li>${error}</li>`)}
  </ul>`;
}

/** The messages of a failed validation, one per field (the rule, never the value sent). */
export function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'form'}: ${issue.message}`);
}

/**
 * The flash message for a `done` code in the query string. Only codes in the table show
 * anything, and they show the table's text: the query string is never echoed.
 */
export function flashOf(query: unknown, messages: Readonly<Record<string, string>>): Flash | undefined {
  const code = (query as Record<string, unknown> | undefined)?.['done'];
  if (typeof code !== 'string' || !Object.hasOwn(messages, code)) return undefined;
  const text = messages[code];
  return text === undefined ? undefined : { kind: 'ok', text };
}

/**
 * Text someone wrote, with its line breaks kept as `<br>` and every line escaped. Line breaks are
 * markup rather than `white-space: pre-wrap`, so the template's own indentation never shows.
 */
export function lines(text: string | undefined): SafeHtml {
  const parts = (text ?? '').split(/\r\n|\r|\n/);
  return html`${parts.map((part, i) => html`${i > 0 ? html`<br />` : ''}${part}`)}`;
}

/** An id like `in_progress` or `illegal_dumping` as staff read it: "In progress". */
export function humanize(id: string): string {
  const words = id.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A time element in the city's time zone, with the exact instant for machines. */
export function timeOf(at: Date | undefined, timeZone: string): SafeHtml {
  if (!at || Number.isNaN(at.getTime())) return html`<span class="muted">-</span>`;
  return html`<time datetime="${at.toISOString()}">${formatCityTime(at, timeZone)}</time>`;
}

/** The `<option>`s of a select, with the current value selected. */
export function options(values: readonly { value: string; label: string }[], selected: string | undefined): SafeHtml[] {
  return values.map((option) => html`<option value="${option.value}" ${option.value === selected ? html`selected` : html``}>${option.label}</option>`);
}

/** `checked` when on. */
export function checked(on: boolean): SafeHtml {
  return on ? html`checked` : html``;
}

/** The string fields of a urlencoded form, trimmed (a repeated field's values are kept in order). */
export function formFields(body: unknown): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  if (typeof body !== 'object' || body === null) return fields;
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
    fields.set(key, values);
  }
  return fields;
}

/** One form field's text, trimmed; undefined when absent or blank (so zod's optional applies). */
export function field(fields: Map<string, string[]>, name: string): string | undefined {
  const value = fields.get(name)?.[0]?.trim();
  return value ? value : undefined;
}

/** A comma-separated form field as a list ("parks, trees" → ["parks", "trees"]). */
export function listField(fields: Map<string, string[]>, name: string): string[] {
  return (field(fields, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** The status group and category selects of a report filter (the list and the map filter alike). */
export function groupAndCategorySelects(filter: Readonly<Record<string, string | undefined>>): SafeHtml {
  const any = { value: '', label: 'Any' };
  return html`<label
      >Status group
      <select name="statusGroup">
        ${options([any, ...(['open', 'fixed', 'closed'] as const).map((g) => ({ value: g, label: humanize(g) }))], filter['statusGroup'])}
      </select>
    </label>
    <label
      >Category
      <select name="category">
        ${options([any, ...CATEGORIES.map((c) => ({ value: c, label: humanize(c) }))], filter['category'])}
      </select>
    </label>`;
}
