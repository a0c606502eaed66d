/**
 * The HTTP side of the conformance suite: asks an Open311 endpoint for a resource in one format and
 * hands back what came, parsed the same way for both formats (an XML list wrapper becomes an
 * array, an empty element null), so one set of field checks serves JSON and XML alike. It also
 * remembers what several checks share (the service list, the request the suite filed).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { XML_LIST_ITEMS, type Open311Format } from './spec.js';

/** Where and how to probe. */
export interface ProbeOptions {
  /** The endpoint's base URL, without the trailing slash: `${baseUrl}/services.json`. */
  baseUrl: string;
  /** Sent with every POST; without it the suite files nothing. */
  apiKey?: string;
  /** Sent with every call, for endpoints that serve several jurisdictions. */
  jurisdictionId?: string;
  /** One exchange's time limit (default 15 s): a hung server fails a check instead of the run. */
  timeoutMs?: number;
}

/** One HTTP exchange and what its body parsed to. */
export interface Exchange {
  method: 'GET' | 'POST';
  /** The URL asked, for messages. */
  url: string;
  format: Open311Format;
  /** 0 when no answer came (refused, reset, timed out): `error` says why. */
  status: number;
  contentType: string;
  text: string;
  /** The body as JSON (XML normalized to the same shape), or undefined when it did not parse. */
  data: unknown;
  /** Why the body did not parse, or why no answer came. */
  error?: string;
  /** XML only: the root element's name. */
  xmlRoot?: string;
  /** XML only: the document did not begin with `<?xml ... encoding="UTF-8"?>` (the spec asks for it). */
  xmlDeclarationMissing?: boolean;
  /** XML only: list wrappers holding elements of another name (`<services><item>`). */
  xmlNameProblems: string[];
}

/** A form to POST: pairs, since a multivaluelist repeats its field. */
export type Form = Array<[string, string]>;

/** What the conformance checks call: one endpoint, with the jurisdiction added to every call. */
export interface Probe {
  options: ProbeOptions;
  get(path: string, format: Open311Format, query?: Record<string, string>): Promise<Exchange>;
  /** POSTs `requests.{format}`, adding api_key (unless `apiKey` says otherwise) and jurisdiction_id. */
  post(format: Open311Format, form: Form, apiKey?: string | null): Promise<Exchange>;
  /** Asks once and remembers: the same GET several checks need (the service list, a definition). */
  cached(path: string, format: Open311Format): Promise<Exchange>;
  /** Remembers any value by key for the run (the request the suite filed, and so on). */
  memo<T>(key: string, make: () => Promise<T>): Promise<T>;
}

/** Makes a probe for one run of the suite. */
export function createProbe(options: ProbeOptions): Probe {
  const base = options.baseUrl.replace(/\/+$/, '');
  const cache = new Map<string, Promise<unknown>>();
  const timeoutMs = options.timeoutMs ?? 15_000;

  const exchange = async (method: 'GET' | 'POST', url: string, format: Open311Format, body?: string): Promise<Exchange> => {
    const blank: Exchange = { method, url, format, status: 0, contentType: '', text: '', data: undefined, xmlNameProblems: [] };
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        signal: AbortSignal.timeout(timeoutMs),
        ...(body !== undefined ? { body, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } } : {}),
      });
    } catch (error) {
      return { ...blank, error: `no answer: ${error instanceof Error ? error.message : String(error)}` };
    }
    const text = await response.text().catch(() => '');
    const answered = { ...blank, status: response.status, contentType: response.headers.get('content-type') ?? '', text };
    return format === 'json' ? parseJson(answered) : parseXml(answered);
  };

  const memo = <T>(key: string, make: () => Promise<T>): Promise<T> => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as Promise<T>;
  };

  const probe: Probe = {
    options,
    get(path, format, query = {}) {
      const params = new URLSearchParams(query);
      if (options.jurisdictionId) params.set('jurisdiction_id', options.jurisdictionId);
      const search = params.size > 0 ? `?${params}` : '';
      return exchange('GET', `${base}/${path}.${format}${search}`, format);
    },
    post(format, form, apiKey = options.apiKey ?? null) {
      const params = new URLSearchParams(form);
      if (apiKey !== null) params.set('api_key', apiKey);
      if (options.jurisdictionId) params.set('jurisdiction_id', options.jurisdictionId);
      return exchange('POST', `${base}/requests.${format}`, format, params.toString());
    },
    cached: (path, format) => memo(`GET ${path}.${format}`, () => probe.get(path, format)),
    memo,
  };
  return probe;
}

function parseJson(answered: Exchange): Exchange {
  try {
    return { ...answered, data: JSON.parse(answered.text) as unknown };
  } catch (error) {
    return { ...answered, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** XML element names that are always lists, so one item still parses as an array. */
const ITEM_NAMES = new Set<string>(Object.values(XML_LIST_ITEMS));

const xmlParser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  // Values stay text: XML has no types, and the field checks read "true", "1.5" and "" themselves.
  parseTagValue: false,
  trimValues: true,
  jPath: true,
  isArray: (name) => ITEM_NAMES.has(name),
});

function parseXml(answered: Exchange): Exchange {
  const text = answered.text.replace(/^\uFEFF/, '');
  const valid = XMLValidator.validate(text);
  if (valid !== true) return { ...answered, error: `not well-formed XML: ${valid.err.msg} (line ${valid.err.line})` };
  let parsed: Record<string, unknown>;
  try {
    parsed = xmlParser.parse(text) as Record<string, unknown>;
  } catch (error) {
    return { ...answered, error: `not well-formed XML: ${error instanceof Error ? error.message : String(error)}` };
  }
  const roots = Object.keys(parsed);
  if (roots.length !== 1) return { ...answered, error: `XML has ${roots.length} root elements (${roots.join(', ') || 'none'}), not one` };
  const root = roots[0]!;
  const problems: string[] = [];
  return {
    ...answered,
    xmlRoot: root,
    xmlDeclarationMissing: !/^<\?xml[^>]*encoding=["']utf-8["']/i.test(text.trimStart()),
    data: fromXml(root, parsed[root], problems),
    xmlNameProblems: problems,
  };
}

/**
 * The JSON shape of an XML element (the Spark convention the spec's JSON follows): a list wrapper
 * (`services`, `attributes`...) becomes the array of its items, an empty element null, text stays
 * text. Children of a wrapper with the wrong name are reported, not silently dropped.
 */
function fromXml(name: string, node: unknown, problems: string[]): unknown {
  const item = (XML_LIST_ITEMS as Record<string, string>)[name];
  if (item !== undefined) {
    if (node === '' || node === null || node === undefined) return [];
    if (typeof node !== 'object' || Array.isArray(node)) return node;
    const children = node as Record<string, unknown>;
    const strangers = Object.keys(children).filter((key) => key !== item);
    if (strangers.length > 0) problems.push(`<${name}> holds <${strangers.join('>, <')}>, not <${item}>`);
    const items = children[item];
    return Array.isArray(items) ? items.map((child) => fromXml(item, child, problems)) : [];
  }
  if (node === '') return null;
  if (Array.isArray(node)) return node.map((child) => fromXml(name, child, problems));
  if (typeof node === 'object' && node !== null) {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, fromXml(key, value, problems)]));
  }
  return node;
}
