/**
 * A fake Open311 GeoReport v2 server on 127.0.0.1, for the conformance suite's own tests and for
 * the tests of CivicLine's Open311 client: JSON and XML, an in-memory store of services and
 * requests, an api_key check, and misbehaviour on demand (latency, 500/503 failures, and modes that
 * break one part of the spec each). It is built from the same data the suite checks against
 * (test/open311/spec.ts), so "conforming" here means what the suite means by it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CONTENT_TYPES,
  DEFAULT_LIMIT,
  DEFAULT_WINDOW_DAYS,
  GEOREPORT_V2,
  STATUSES,
  XML_LIST_ITEMS,
  isW3cDatetime,
  type Datatype,
  type Open311Format,
  type RequestStatus,
  type ServiceType,
} from '../open311/spec.js';

/**
 * How the fake breaks the spec. `conforming` breaks nothing; each other mode breaks one thing, so
 * a test can tell which check (or which client defence) notices:
 *
 * - `missing-fields`: services lack `type`, requests lack `status` and `requested_datetime`,
 *   attributes lack `datatype`.
 * - `wrong-types`: `metadata` and `variable` as the string "true"/"yes", `order` as "first", lat/long as words.
 * - `bad-datetime`: date-times without a time zone (`2024-05-01 10:00:00`).
 * - `wrong-error-codes`: 404s answered 400, 403s answered 401, 400s answered 422 (bodies still right).
 * - `bad-error-body`: right statuses, but the body is `{"error": "..."}` / `<error><message>`.
 * - `malformed-xml`: XML not escaped (`&` raw) and the root element never closed.
 * - `wrong-xml-names`: XML roots and items misnamed (`<requests><item>`, `<service_list>`...).
 * - `ignores-filters`: GET requests ignores service_request_id, service_code, status and dates.
 * - `no-default-limit`: GET requests answers every request of the window, past 1000.
 * - `no-default-window`: GET requests without dates answers requests older than 90 days too.
 * - `accepts-any-key`: POST requests takes a missing or wrong api_key.
 */
export type FakeOpen311Mode =
  | 'conforming'
  | 'missing-fields'
  | 'wrong-types'
  | 'bad-datetime'
  | 'wrong-error-codes'
  | 'bad-error-body'
  | 'malformed-xml'
  | 'wrong-xml-names'
  | 'ignores-filters'
  | 'no-default-limit'
  | 'no-default-window'
  | 'accepts-any-key';

/** Every mode, for tests that walk them all. */
export const FAKE_OPEN311_MODES: readonly FakeOpen311Mode[] = [
  'conforming',
  'missing-fields',
  'wrong-types',
  'bad-datetime',
  'wrong-error-codes',
  'bad-error-body',
  'malformed-xml',
  'wrong-xml-names',
  'ignores-filters',
  'no-default-limit',
  'no-default-window',
  'accepts-any-key',
];

/** One attribute of a service definition. */
export interface FakeServiceAttribute {
  code: string;
  datatype: Datatype;
  required: boolean;
  description: string;
  /** For the list datatypes: key → name. */
  values?: Array<{ key: string; name: string }>;
}

/** One service the fake offers. A service with attributes has `metadata: true`. */
export interface FakeService {
  service_code: string;
  service_name: string;
  description: string;
  type: ServiceType;
  keywords: string;
  group: string;
  attributes?: FakeServiceAttribute[];
}

/** A service request in the fake's store, as GET requests shows it (plus what was posted). */
export interface FakeServiceRequest {
  service_request_id: string;
  /** Set for requests filed to a batch service: GET tokens/{token} resolves it. */
  token: string | null;
  status: RequestStatus;
  status_notes: string | null;
  service_code: string;
  service_name: string;
  description: string | null;
  service_notice: string | null;
  requested_datetime: string;
  updated_datetime: string;
  address: string | null;
  address_id: string | null;
  lat: number | null;
  long: number | null;
  media_url: string | null;
  /** attribute[code] values as posted (a multivaluelist's as a list). */
  attributes: Record<string, string | string[]>;
}

/** A POST requests the fake received, refused ones included (a client's retries show here). */
export interface FakeOpen311Post {
  at: Date;
  format: Open311Format;
  /** The form fields as posted; a field posted several times (`attribute[x][]`) keeps every value. */
  form: Record<string, string | string[]>;
  /** The HTTP status the fake answered. */
  status: number;
  /** The request it created, if it did. */
  created?: FakeServiceRequest;
  /** With `fetchMedia`: what fetching the posted media_url got (a city system copying the photo). */
  media?: { status: number; contentType: string | null; cacheControl: string | null; bytes: Buffer } | { error: string };
}

/** One HTTP exchange, whatever it was (for tests counting polls or retries). */
export interface FakeOpen311Hit {
  at: Date;
  method: string;
  /** The path below the base URL, e.g. `/requests/1001.json`. */
  path: string;
  query: URLSearchParams;
  status: number;
}

/** What can change while the fake runs (`set`). */
export interface FakeOpen311Behaviour {
  mode: FakeOpen311Mode;
  /** Every answer waits this long first (a slow server). */
  latencyMs: number;
  /** Share (0-1) of exchanges answered `failStatus` instead (a flaky server); 1 = always down. */
  failRate: number;
  failStatus: 500 | 503;
  /** While true, `tokens/{token}` answers the token with no service_request_id yet (a batch still being processed). */
  tokensPending: boolean;
}

/** How the fake starts. Everything is optional. */
export interface FakeOpen311Options extends Partial<FakeOpen311Behaviour> {
  /** The key POST requests needs (default `fake-open311-key`). */
  apiKey?: string;
  /** When set, every call must carry this jurisdiction_id (400 without, 404 for another). */
  jurisdictionId?: string;
  /** The services offered (default DEFAULT_FAKE_SERVICES: one with attributes, one plain, one batch). */
  services?: FakeService[];
  /** Requests preloaded within the last 60 days (default 6). Past 1000, the default limit shows. */
  recentRequests?: number;
  /** Requests preloaded 100-200 days ago (default 2), outside the default 90-day window. */
  oldRequests?: number;
  /**
   * Whether GET requests honours `updated_after` (not in GeoReport v2): false (the default) ignores
   * it, as most servers do; `refused` answers it with a 400, as a strict server does.
   */
  updatedAfter?: boolean | 'refused';
  /** At most this many requests answered to a `service_request_id` list (a server's own cap; default none). */
  maxIdsAnswered?: number;
  /** Whether GET requests honours the `page`/`page_size` extension (default false: ignored). */
  paging?: boolean;
  /** Whether discovery.{json,xml} is served (default true). */
  discovery?: boolean;
  /** The fake's clock (default the real one). */
  now?: () => Date;
  /** Seed of the failRate draws, so a flaky run can be replayed (default 1). */
  seed?: number;
  /**
   * Whether a filed request's media_url is fetched before the POST is answered, as a city system
   * that copies the photo does (default false); what it got is the post's `media`. No credentials
   * are sent: a link that needs a login fails here as it would there.
   */
  fetchMedia?: boolean;
}

/** A running fake and its controls. */
export interface FakeOpen311 {
  /** The endpoint's base URL, e.g. `http://127.0.0.1:40123/open311/v2` (append `/services.json`). */
  url: string;
  apiKey: string;
  services: readonly FakeService[];
  /** Every POST requests received, in order. */
  received: FakeOpen311Post[];
  /** Every exchange, in order. */
  hits: FakeOpen311Hit[];
  /** A stored request by id. */
  request(id: string): FakeServiceRequest | undefined;
  /** Every stored request, newest first. */
  requests(): FakeServiceRequest[];
  /** Stores a request as if filed earlier (defaults fill the rest). */
  addRequest(request: Partial<FakeServiceRequest> & { service_code: string }): FakeServiceRequest;
  /** Forgets a request, as a city system that purged or re-keyed it would: it is answered no more. */
  remove(id: string): void;
  /** Changes a request's status as city staff would: updated_datetime moves to `at` (default now). */
  setStatus(id: string, status: RequestStatus, options?: { notes?: string; at?: Date }): FakeServiceRequest;
  /** The next `count` exchanges are answered `status` (default 503), before anything else. */
  failNext(count: number, status?: 500 | 503): void;
  /** Changes mode, latency or failures from now on. */
  set(behaviour: Partial<FakeOpen311Behaviour>): void;
  close(): Promise<void>;
}

/** The services the fake offers unless told otherwise: every datatype and every service type a client meets. */
export const DEFAULT_FAKE_SERVICES: readonly FakeService[] = [
  {
    service_code: 'POTHOLE',
    service_name: 'Pothole',
    description: 'Holes & cracks in the road',
    type: 'realtime',
    keywords: 'pothole, road, hole',
    group: 'streets',
    attributes: [
      {
        code: 'SIZE',
        datatype: 'singlevaluelist',
        required: true,
        description: 'How big is it?',
        values: [
          { key: 'small', name: 'Smaller than a plate' },
          { key: 'large', name: 'Larger than a plate' },
        ],
      },
      {
        code: 'HAZARDS',
        datatype: 'multivaluelist',
        required: false,
        description: 'Anything else there?',
        values: [
          { key: 'water', name: 'Standing water' },
          { key: 'debris', name: 'Debris' },
        ],
      },
      { code: 'DEPTH', datatype: 'number', required: false, description: 'Depth in centimetres' },
      { code: 'SEEN', datatype: 'datetime', required: false, description: 'When did you first see it?' },
      { code: 'NOTES', datatype: 'text', required: false, description: 'Anything the crew should know' },
    ],
  },
  {
    service_code: 'GRAFFITI',
    service_name: 'Graffiti',
    description: 'Paint on public walls',
    type: 'realtime',
    keywords: 'graffiti, paint',
    group: 'sanitation',
  },
  {
    service_code: 'STREETLIGHT',
    service_name: 'Streetlight out',
    description: 'A light that is off',
    type: 'batch',
    keywords: 'light, lamp',
    group: 'streets',
  },
];

const DAY_MS = 86_400_000;

/** Starts the fake on 127.0.0.1 with an ephemeral port. */
export async function startFakeOpen311(options: FakeOpen311Options = {}): Promise<FakeOpen311> {
  const behaviour: FakeOpen311Behaviour = {
    mode: options.mode ?? 'conforming',
    latencyMs: options.latencyMs ?? 0,
    failRate: options.failRate ?? 0,
    failStatus: options.failStatus ?? 503,
    tokensPending: options.tokensPending ?? false,
  };
  const apiKey = options.apiKey ?? 'fake-open311-key';
  const services = [...(options.services ?? DEFAULT_FAKE_SERVICES)];
  const now = options.now ?? (() => new Date());
  const random = mulberry32(options.seed ?? 1);
  const store = new Map<string, FakeServiceRequest>();
  const received: FakeOpen311Post[] = [];
  const hits: FakeOpen311Hit[] = [];
  const failures: Array<500 | 503> = [];
  let nextId = 1001;

  const addRequest = (request: Partial<FakeServiceRequest> & { service_code: string }): FakeServiceRequest => {
    const service = services.find((s) => s.service_code === request.service_code);
    const at = request.requested_datetime ?? now().toISOString();
    const stored: FakeServiceRequest = {
      service_request_id: String(nextId++),
      token: null,
      status: 'open',
      status_notes: null,
      service_name: service?.service_name ?? request.service_code,
      description: null,
      service_notice: null,
      requested_datetime: at,
      updated_datetime: at,
      address: null,
      address_id: null,
      lat: null,
      long: null,
      media_url: null,
      attributes: {},
      ...request,
    };
    store.set(stored.service_request_id, stored);
    return stored;
  };

  // Preloaded history: recent requests spread over 60 days (every service, both statuses), and a
  // few older than the default window, so the window and the limit have something to cut.
  const seedAt = now().getTime();
  const recent = options.recentRequests ?? 6;
  for (let i = 0; i < recent; i++) {
    const service = services[i % services.length]!;
    const at = new Date(seedAt - DAY_MS - Math.floor((i * 59 * DAY_MS) / Math.max(recent, 1))).toISOString();
    addRequest({
      service_code: service.service_code,
      status: i % 2 === 0 ? 'open' : 'closed',
      description: `Seeded ${service.service_name.toLowerCase()} #${i + 1}`,
      requested_datetime: at,
      updated_datetime: at,
      address: `${100 + i} Main St`,
      lat: 40.7 + i / 10_000,
      long: -74 - i / 10_000,
    });
  }
  for (let i = 0; i < (options.oldRequests ?? 2); i++) {
    const at = new Date(seedAt - (100 + i * 50) * DAY_MS).toISOString();
    addRequest({
      service_code: services[0]!.service_code,
      status: 'closed',
      description: 'An old one',
      requested_datetime: at,
      updated_datetime: at,
      address: '1 Old Rd',
      lat: 40.6,
      long: -73.9,
    });
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = req.method === 'POST' ? await readBody(req) : '';
    if (behaviour.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, behaviour.latencyMs));
    const path = url.pathname.startsWith(BASE_PATH) ? url.pathname.slice(BASE_PATH.length) : url.pathname;
    const format: Open311Format = path.endsWith('.xml') ? 'xml' : 'json';
    const hit: FakeOpen311Hit = { at: now(), method: req.method ?? 'GET', path, query: url.searchParams, status: 0 };
    hits.push(hit);
    const answer = (status: number, doc: Doc, headers: Record<string, string> = {}): void => {
      hit.status = status;
      res.writeHead(status, { 'content-type': `${CONTENT_TYPES[format]}; charset=utf-8`, ...headers }).end(serialize(doc, format, behaviour.mode));
    };

    const failure = failures.shift() ?? (behaviour.failRate > 0 && random() < behaviour.failRate ? behaviour.failStatus : undefined);
    if (failure) {
      // A 503 says when to come back, as a proxy in front of a real CRM would.
      answer(failure, errorDoc(failure, failure === 503 ? 'Service unavailable' : 'Internal error'), failure === 503 ? { 'retry-after': '1' } : {});
      return;
    }
    const fail = (status: 400 | 403 | 404, description: string): void =>
      answer(brokenStatus(status, behaviour.mode), errorDoc(status, description, behaviour.mode));

    const params = req.method === 'POST' ? new URLSearchParams(body) : url.searchParams;
    const route = /^\/(discovery|services|requests|tokens)(?:\/([^/]+?))?\.(json|xml)$/.exec(path);
    if (!route) return fail(404, `No such resource: ${path}`);
    const [, resource, id] = route as unknown as [string, string, string | undefined];
    const decodedId = id === undefined ? undefined : decodeURIComponent(id);

    if (options.jurisdictionId !== undefined && resource !== 'discovery') {
      const jurisdiction = params.get('jurisdiction_id');
      if (!jurisdiction) return fail(400, 'jurisdiction_id was not provided');
      if (jurisdiction !== options.jurisdictionId) return fail(404, `jurisdiction_id ${jurisdiction} was not found`);
    }

    if (req.method === 'POST') {
      if (resource !== 'requests' || decodedId !== undefined) return fail(404, `No such resource: POST ${path}`);
      const post: FakeOpen311Post = { at: now(), format, form: formFields(params), status: 0 };
      received.push(post);
      const outcome = createRequest(params);
      post.status = 'error' in outcome ? brokenStatus(outcome.error[0], behaviour.mode) : 200;
      if ('error' in outcome) return fail(...outcome.error);
      post.created = outcome.created;
      if (options.fetchMedia && outcome.created.media_url) post.media = await fetchMedia(outcome.created.media_url);
      const service = services.find((s) => s.service_code === outcome.created.service_code)!;
      const item: Record<string, unknown> =
        service.type === 'realtime'
          ? { service_request_id: outcome.created.service_request_id }
          : service.type === 'batch'
            ? { token: outcome.created.token }
            : {};
      return answer(200, {
        root: 'service_requests',
        list: [{ ...item, service_notice: 'Thank you: the city will look at it within 3 days', account_id: null }],
      });
    }
    if (req.method !== 'GET') return fail(400, `${req.method} is not supported here`);

    switch (resource) {
      case 'discovery':
        if (options.discovery === false || decodedId !== undefined) return fail(404, 'No discovery document here');
        return answer(200, { root: 'discovery', object: discoveryDoc(`http://${req.headers.host ?? '127.0.0.1'}${BASE_PATH}`) });
      case 'services': {
        if (decodedId === undefined) return answer(200, { root: 'services', list: services.map((s) => serviceDoc(s, behaviour.mode)) });
        const service = services.find((s) => s.service_code === decodedId);
        if (!service) return fail(404, `service_code ${decodedId} was not found`);
        if (!service.attributes?.length) return fail(404, `service_code ${decodedId} has no service definition (metadata is false)`);
        return answer(200, { root: 'service_definition', object: definitionDoc(service, behaviour.mode) });
      }
      case 'requests': {
        if (decodedId !== undefined) {
          const found = store.get(decodedId);
          if (!found) return fail(404, `service_request_id ${decodedId} was not found`);
          return answer(200, { root: 'service_requests', list: [requestDoc(found, behaviour.mode)] });
        }
        const listed = listRequests(params);
        if ('error' in listed) return fail(...listed.error);
        return answer(200, { root: 'service_requests', list: listed.list.map((r) => requestDoc(r, behaviour.mode)) });
      }
      case 'tokens': {
        const found = [...store.values()].find((r) => r.token !== null && r.token === decodedId);
        if (!found) return fail(404, `token ${decodedId ?? ''} was not found`);
        const id = behaviour.tokensPending ? null : found.service_request_id;
        return answer(200, { root: 'service_requests', list: [{ service_request_id: id, token: found.token }] });
      }
      default:
        return fail(404, `No such resource: ${path}`);
    }
  };

  type Refusal = { error: [400 | 403 | 404, string] };

  const createRequest = (params: URLSearchParams): { created: FakeServiceRequest } | Refusal => {
    const key = params.get('api_key');
    if (behaviour.mode !== 'accepts-any-key') {
      if (!key) return { error: [403, 'api_key is missing'] };
      if (key !== apiKey) return { error: [403, 'Invalid api_key received'] };
    }
    const code = params.get('service_code');
    if (!code) return { error: [400, 'service_code was not provided'] };
    const service = services.find((s) => s.service_code === code);
    if (!service) return { error: [404, `service_code ${code} was not found`] };
    const lat = params.get('lat');
    const long = params.get('long');
    const hasPoint = !!lat && !!long;
    if (!hasPoint && !params.get('address_string') && !params.get('address_id'))
      return { error: [400, 'A location is required: lat and long, address_string or address_id'] };
    if (hasPoint && !(inRange(lat, 90) && inRange(long, 180))) return { error: [400, 'lat and long must be WGS84 degrees'] };
    const attributes: Record<string, string | string[]> = {};
    for (const attribute of service.attributes ?? []) {
      const values = [...params.getAll(`attribute[${attribute.code}]`), ...params.getAll(`attribute[${attribute.code}][]`)].filter((v) => v !== '');
      if (values.length === 0) {
        if (attribute.required) return { error: [400, `attribute[${attribute.code}] is required`] };
        continue;
      }
      const keys = attribute.values?.map((v) => v.key);
      if (keys && values.some((v) => !keys.includes(v))) return { error: [400, `attribute[${attribute.code}] must be one of ${keys.join(', ')}`] };
      attributes[attribute.code] = attribute.datatype === 'multivaluelist' ? values : values[0]!;
    }
    const created = addRequest({
      service_code: code,
      description: params.get('description') || null,
      address: params.get('address_string') || null,
      address_id: params.get('address_id') || null,
      lat: hasPoint ? Number(lat) : null,
      long: hasPoint ? Number(long) : null,
      media_url: params.get('media_url') || null,
      attributes,
    });
    if (service.type === 'batch') created.token = `T${created.service_request_id}`;
    return { created };
  };

  const listRequests = (params: URLSearchParams): { list: FakeServiceRequest[] } | Refusal => {
    const all = [...store.values()].sort((a, b) => Date.parse(b.requested_datetime) - Date.parse(a.requested_datetime));
    const ignoring = behaviour.mode === 'ignores-filters';
    // "service_request_id ... overrides all other arguments."
    const ids = params.get('service_request_id');
    if (ids && !ignoring) {
      const wanted = ids.split(',').map((id) => id.trim());
      return { list: all.filter((r) => wanted.includes(r.service_request_id)).slice(0, options.maxIdsAnswered ?? Infinity) };
    }
    const dates: Record<'start_date' | 'end_date' | 'updated_after', number | undefined> = {
      start_date: undefined,
      end_date: undefined,
      updated_after: undefined,
    };
    if (options.updatedAfter === 'refused' && params.has('updated_after')) return { error: [400, 'updated_after is not a known argument'] };
    for (const name of ['start_date', 'end_date', ...(options.updatedAfter === true ? ['updated_after' as const] : [])] as const) {
      const value = params.get(name);
      if (!value) continue;
      if (!isW3cDatetime(value)) return { error: [400, `${name} must be an ISO 8601 date-time with a time zone, e.g. 2010-01-01T00:00:00Z`] };
      dates[name] = Date.parse(value);
    }
    const statuses = params.get('status')?.split(',').filter(Boolean);
    if (statuses?.some((s) => !(STATUSES as readonly string[]).includes(s))) return { error: [400, `status must be ${STATUSES.join(' or ')}`] };
    const codes = params.get('service_code')?.split(',').filter(Boolean);
    const nowMs = now().getTime();
    const windowed = behaviour.mode !== 'no-default-window';
    let end = dates.end_date ?? (dates.start_date !== undefined ? dates.start_date + DEFAULT_WINDOW_DAYS * DAY_MS : Infinity);
    let start = dates.start_date ?? (windowed ? (dates.end_date ?? nowMs) - DEFAULT_WINDOW_DAYS * DAY_MS : -Infinity);
    if (ignoring) [start, end] = [windowed ? nowMs - DEFAULT_WINDOW_DAYS * DAY_MS : -Infinity, Infinity];
    let list = all.filter((r) => {
      const at = Date.parse(r.requested_datetime);
      if (at < start || at > end) return false;
      if (ignoring) return true;
      if (statuses && !statuses.includes(r.status)) return false;
      if (codes && !codes.includes(r.service_code)) return false;
      if (dates.updated_after !== undefined && Date.parse(r.updated_datetime) <= dates.updated_after) return false;
      return true;
    });
    const limit = behaviour.mode === 'no-default-limit' ? Infinity : DEFAULT_LIMIT;
    if (options.paging && (params.has('page') || params.has('page_size'))) {
      const size = Math.min(positiveInt(params.get('page_size')) ?? DEFAULT_LIMIT, limit);
      const page = positiveInt(params.get('page')) ?? 1;
      return { list: list.slice((page - 1) * size, page * size) };
    }
    list = list.slice(0, limit);
    return { list };
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${BASE_PATH}`,
    apiKey,
    services,
    received,
    hits,
    request: (id) => store.get(id),
    requests: () => [...store.values()].sort((a, b) => Date.parse(b.requested_datetime) - Date.parse(a.requested_datetime)),
    addRequest,
    remove: (id) => void store.delete(id),
    setStatus(id, status, { notes, at } = {}) {
      const found = store.get(id);
      if (!found) throw new Error(`fake-open311: no request ${id}`);
      found.status = status;
      found.status_notes = notes ?? found.status_notes;
      found.updated_datetime = (at ?? now()).toISOString();
      return found;
    },
    failNext: (count, status = 503) => failures.push(...Array.from({ length: count }, () => status)),
    set: (changes) => Object.assign(behaviour, changes),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Where the fake mounts the API, as CivicLine's server does. */
const BASE_PATH = '/open311/v2';

/** A document to answer: a list (JSON array; XML wrapper of items) or an object (JSON object; XML element). */
type Doc = { root: string; list: Array<Record<string, unknown>> } | { root: string; object: Record<string, unknown> };

function serviceDoc(service: FakeService, mode: FakeOpen311Mode): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    service_code: service.service_code,
    service_name: service.service_name,
    description: service.description,
    metadata: mode === 'wrong-types' ? 'yes' : !!service.attributes?.length,
    type: service.type,
    keywords: service.keywords,
    group: service.group,
  };
  if (mode === 'missing-fields') delete doc['type'];
  return doc;
}

function definitionDoc(service: FakeService, mode: FakeOpen311Mode): Record<string, unknown> {
  const attributes = (service.attributes ?? []).map((attribute, index) => {
    const doc: Record<string, unknown> = {
      variable: mode === 'wrong-types' ? 'true' : true,
      code: attribute.code,
      datatype: attribute.datatype,
      required: attribute.required,
      datatype_description: null,
      order: mode === 'wrong-types' ? 'first' : index + 1,
      description: attribute.description,
      ...(attribute.values ? { values: attribute.values } : {}),
    };
    if (mode === 'missing-fields') delete doc['datatype'];
    return doc;
  });
  return { service_code: service.service_code, attributes };
}

function requestDoc(request: FakeServiceRequest, mode: FakeOpen311Mode): Record<string, unknown> {
  const datetime = (iso: string): string => (mode === 'bad-datetime' ? iso.slice(0, 19).replace('T', ' ') : iso);
  const doc: Record<string, unknown> = {
    service_request_id: request.service_request_id,
    status: request.status,
    status_notes: request.status_notes,
    service_name: request.service_name,
    service_code: request.service_code,
    description: request.description,
    agency_responsible: 'Public Works',
    service_notice: request.service_notice,
    requested_datetime: datetime(request.requested_datetime),
    updated_datetime: datetime(request.updated_datetime),
    address: request.address,
    address_id: request.address_id,
    lat: mode === 'wrong-types' && request.lat !== null ? 'north' : request.lat,
    long: mode === 'wrong-types' && request.long !== null ? 'west' : request.long,
    media_url: request.media_url,
  };
  if (mode === 'missing-fields') {
    delete doc['status'];
    delete doc['requested_datetime'];
  }
  return doc;
}

function discoveryDoc(endpointUrl: string): Record<string, unknown> {
  return {
    changeset: '2024-01-01T00:00:00Z',
    contact: 'Fake Open311, for tests',
    key_service: 'Keys are handed out by the test that starts the fake',
    endpoints: [
      { specification: GEOREPORT_V2, url: endpointUrl, changeset: '2024-01-01T00:00:00Z', type: 'test', formats: [CONTENT_TYPES.xml, CONTENT_TYPES.json] },
    ],
  };
}

function errorDoc(code: number, description: string, mode: FakeOpen311Mode = 'conforming'): Doc {
  if (mode === 'bad-error-body') return { root: 'error', object: { message: description } };
  return { root: 'errors', list: [{ code, description }] };
}

/** The status a mode answers where the spec wants `status`. */
function brokenStatus(status: 400 | 403 | 404, mode: FakeOpen311Mode): number {
  if (mode !== 'wrong-error-codes') return status;
  return { 400: 422, 403: 401, 404: 400 }[status];
}

/** Wrong XML names for `wrong-xml-names`: what a hand-rolled serializer might call things. */
const WRONG_XML_NAMES: Record<string, string> = {
  services: 'service_list',
  service_requests: 'requests',
  errors: 'error_list',
  service_definition: 'definition',
};

function serialize(doc: Doc, format: Open311Format, mode: FakeOpen311Mode): string {
  if (format === 'json') {
    // `bad-error-body` in JSON: an object instead of the list of {code, description}.
    if (mode === 'bad-error-body' && doc.root === 'error' && 'object' in doc) return JSON.stringify({ error: doc.object['message'] });
    return JSON.stringify('list' in doc ? doc.list : doc.object);
  }
  const names = mode === 'wrong-xml-names';
  const escape = mode === 'malformed-xml' ? (text: string) => text : escapeXml;
  const element = (name: string, value: unknown): string => {
    if (value === null || value === undefined) return `<${name}/>`;
    if (Array.isArray(value)) {
      const item = names ? 'item' : (XML_LIST_ITEMS[name as keyof typeof XML_LIST_ITEMS] ?? 'item');
      return `<${name}>${value.map((v) => element(item, v)).join('')}</${name}>`;
    }
    if (typeof value === 'object') {
      return `<${name}>${Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => element(k, v))
        .join('')}</${name}>`;
    }
    return `<${name}>${escape(String(value))}</${name}>`;
  };
  const root = names ? (WRONG_XML_NAMES[doc.root] ?? doc.root) : doc.root;
  let xml = 'list' in doc ? element(root, doc.list) : element(root, doc.object);
  if (mode === 'malformed-xml') xml = xml.slice(0, xml.lastIndexOf('</'));
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formFields(params: URLSearchParams): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    form[key] = values.length === 1 && !key.endsWith('[]') ? values[0]! : values;
  }
  return form;
}

function inRange(value: string, limit: number): boolean {
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) && Math.abs(n) <= limit;
}

function positiveInt(value: string | null): number | undefined {
  const n = Number(value);
  return value && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Fetches a posted media_url, without credentials, as a city system copying the photo would. */
async function fetchMedia(url: string): Promise<NonNullable<FakeOpen311Post['media']>> {
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      cacheControl: response.headers.get('cache-control'),
      bytes: Buffer.from(await response.arrayBuffer()),
    };
  } catch (error) {
    return { error: error instanceof Error ? error.message : 'failed' };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** A small seeded PRNG, so a run with failRate can be replayed with the same seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
