/**
 * Open311 GeoReport v2 bodies in its two formats (issue 19): JSON as the spec's examples have it
 * (lists are arrays, absent values null) and XML with the spec's root and item elements
 * (`<services><service>`, `<service_requests><request>`, `<errors><error>`...), UTF-8 with its
 * declaration. A tiny writer rather than a library: the shapes are few and flat, and escaping is
 * the one thing that must be right (and characters XML 1.0 cannot carry are dropped).
 */
import type { Response } from 'express';

/** The formats a path may ask for by its extension. */
export type Open311Format = 'json' | 'xml';

/** A value the writer can put in either format. */
export type Open311Value = string | number | boolean | null | undefined | readonly Open311Value[] | { readonly [key: string]: Open311Value };

/** The element of each item of a nested list, by the list's element name. */
const ITEM_OF: Readonly<Record<string, string>> = {
  attributes: 'attribute',
  values: 'value',
  endpoints: 'endpoint',
  formats: 'format',
};

// Everything XML 1.0 allows in text; the rest (most control characters, lone surrogates) goes.
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text escaped for an XML element or attribute. */
export function xmlText(value: string): string {
  return value.replace(NOT_XML, '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

function element(name: string, value: Open311Value): string {
  if (value === null || value === undefined) return `<${name}/>`;
  if (Array.isArray(value)) {
    const item = ITEM_OF[name] ?? 'item';
    return `<${name}>${value.map((v) => element(item, v)).join('')}</${name}>`;
  }
  if (typeof value === 'object') {
    return `<${name}>${Object.entries(value)
      .map(([key, v]) => element(key, v))
      .join('')}</${name}>`;
  }
  return `<${name}>${xmlText(String(value))}</${name}>`;
}

/** An XML document: `root` holding one `item` element per entry, or `root` as one object. */
export function toXml(root: string, body: readonly Open311Value[] | { readonly [key: string]: Open311Value }, item?: string): string {
  const inner = Array.isArray(body)
    ? body.map((entry) => element(item ?? 'item', entry)).join('')
    : Object.entries(body)
        .map(([key, v]) => element(key, v))
        .join('');
  return `<?xml version="1.0" encoding="utf-8"?>\n<${root}>${inner}</${root}>`;
}

/** Sends a body in the asked format: a list as `root` of `item` elements in XML, an array in JSON. */
export function sendOpen311(
  res: Response,
  format: Open311Format,
  body: readonly Open311Value[] | { readonly [key: string]: Open311Value },
  xml: { root: string; item?: string },
  status = 200,
): void {
  res.status(status);
  if (format === 'json') {
    res.type('application/json; charset=utf-8').send(JSON.stringify(body));
    return;
  }
  res.type('text/xml; charset=utf-8').send(toXml(xml.root, body, xml.item));
}

/** Sends the spec's error list: `[{ code, description }]`, or `<errors><error>...</error></errors>`. */
export function sendOpen311Errors(res: Response, format: Open311Format, status: number, descriptions: readonly string[]): void {
  sendOpen311(
    res,
    format,
    descriptions.map((description) => ({ code: status, description })),
    { root: 'errors', item: 'error' },
    status,
  );
}
