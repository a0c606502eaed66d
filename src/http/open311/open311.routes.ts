/**
 * CivicLine as an Open311 GeoReport v2 server (issue 19), under `/open311/v2/`: `discovery`,
 * `services`, `services/{code}`, `requests` (GET, and POST with an `api_key`), `requests/{id}`
 * and `tokens/{token}`, each as `.json` or `.xml` (no extension: XML, the spec's required
 * format). Errors are the spec's list of `{ code, description }` in the asked format, with the
 * code as the HTTP status: 400 for bad parameters, 403 for a missing, unknown or revoked key,
 * 404 for an unknown service, request or token, 429 past a key's rate limit. Nothing a client
 * sends gets a 5xx.
 *
 * Reading is open to anyone, as the spec has it (what a request shows is decided in
 * src/staff/open311-requests.ts: never a resident). `jurisdiction_id` is accepted and ignored:
 * this server serves one city.
 */
import express, { type ErrorRequestHandler, type Request, type Router } from 'express';
import { isRealDay } from '../../domain/city-time.js';
import type { Service } from '../../service.js';
import { TokenBuckets } from '../../pipeline/rate-limit.js';
import { authenticateOpen311Key } from '../../staff/open311-keys.js';
import { checkAttributes, isServiceCode, open311ServiceDefinition, open311Services } from '../../staff/open311-services.js';
import {
  findOpen311Requests,
  getOpen311Request,
  MAX_IDS,
  MAX_PAGE_SIZE,
  postOpen311Request,
  requestIdOfToken,
  type Open311Deps,
  type Open311Post,
  type Open311Query,
} from '../../staff/open311-requests.js';
import { sendOpen311, sendOpen311Errors, type Open311Format } from './open311-format.js';

/** POST bodies are small: a description of at most 4,000 characters and a few fields. */
const BODY_LIMIT = '32kb';
const DESCRIPTION_MAX = 4000;
const ADDRESS_MAX = 250;
const MEDIA_URL_MAX = 2000;
/** When this implementation's surface last changed (discovery's `changeset`). */
const CHANGESET = '2025-01-01T00:00:00Z';
const PATH = /^\/(discovery|services|requests|tokens)(?:\/([^/]+?))?(?:\.([A-Za-z0-9]+))?$/;
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** A request the client got wrong: the status and what to tell it. */
class Open311Refusal extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 405 | 429,
    readonly descriptions: string[],
  ) {
    super(descriptions.join('; '));
  }
}

/** The `/open311/v2` router. */
export function open311Routes(service: Service): Router {
  const deps: Open311Deps = { store: service.store, i18n: service.i18n, config: service.config, geocoder: service.geocoder };
  const router = express.Router();
  // Per key, in this process: a key's limit is a brake on a runaway client, not a billing quota.
  const buckets = new Map<string, { perMinute: number; buckets: TokenBuckets }>();
  // Reads need no key (the spec's), and a deep page reads thousands of reports: a brake per
  // client address (RATE_LIMIT_OPEN311_READS_PER_MINUTE), in this process.
  const readers = new TokenBuckets(service.config.rateLimits.open311Reads);

  router.use(express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 100 }));
  router.use(express.json({ limit: BODY_LIMIT }));

  router.use(async (req, res, next) => {
    const match = PATH.exec(req.path);
    if (!match) return next();
    const [, resource = '', id, extension] = match;
    const format = formatOf(extension);
    if (!format) throw new Open311Refusal(404, [`Unknown format .${extension}: use .json or .xml`]);
    res.locals['open311Format'] = format;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const params = parametersOf(req);
    const route = `${method} ${resource}${id === undefined ? '' : '/{id}'}`;
    if (method === 'GET') {
      const taken = readers.take(req.ip ?? 'unknown');
      if (!taken.ok) {
        res.set('Retry-After', String(Math.max(1, Math.ceil(taken.retryAfterMs / 1000))));
        throw new Open311Refusal(429, ['Too many requests from this address: at most a few a second, wait a minute']);
      }
    }
    switch (route) {
      case 'GET discovery':
        return sendOpen311(res, format, discovery(req, service), { root: 'discovery' });
      case 'GET services':
        return sendOpen311(res, format, open311Services(service.i18n), { root: 'services', item: 'service' });
      case 'GET services/{id}': {
        const definition = open311ServiceDefinition(service.i18n, id ?? '');
        if (!definition) throw new Open311Refusal(404, [`No service ${id}: GET services lists them`]);
        return sendOpen311(res, format, definition, { root: 'service_definition' });
      }
      case 'GET requests':
        return sendOpen311(res, format, await findOpen311Requests(deps, requestQuery(params)), { root: 'service_requests', item: 'request' });
      case 'GET requests/{id}': {
        const request = await getOpen311Request(deps, id ?? '');
        if (!request) throw new Open311Refusal(404, [`No service request ${id}`]);
        return sendOpen311(res, format, [request], { root: 'service_requests', item: 'request' });
      }
      case 'GET tokens/{id}': {
        const requestId = await requestIdOfToken(deps, id ?? '');
        if (!requestId) throw new Open311Refusal(404, [`No token ${id}`]);
        return sendOpen311(res, format, [{ service_request_id: requestId, token: id ?? '' }], { root: 'service_requests', item: 'request' });
      }
      case 'POST requests': {
        const key = await authenticateOpen311Key(service.store, params.one('api_key') ?? '');
        if (!key) throw new Open311Refusal(403, ['api_key is missing, not valid or revoked: ask the city for a key']);
        let limiter = buckets.get(key._id);
        if (!limiter || limiter.perMinute !== key.perMinute) {
          limiter = { perMinute: key.perMinute, buckets: new TokenBuckets({ perMinute: key.perMinute, burst: key.perMinute }) };
          buckets.set(key._id, limiter);
        }
        const take = limiter.buckets.take(key._id);
        if (!take.ok) {
          res.set('Retry-After', String(Math.ceil(take.retryAfterMs / 1000)));
          throw new Open311Refusal(429, [`Too many requests for this api_key: at most ${key.perMinute} a minute`]);
        }
        const result = await postOpen311Request(deps, key, postOf(params));
        // Filed at once (a realtime service): the id, not a token; the spec gives one or the other.
        // The token stays valid at tokens/{token} for a client that asks anyway.
        return sendOpen311(res, format, [{ service_request_id: result.serviceRequestId, service_notice: null, account_id: null }], {
          root: 'service_requests',
          item: 'request',
        });
      }
      default:
        if (['GET', 'POST'].includes(method) || !['discovery', 'services', 'requests', 'tokens'].includes(resource))
          throw new Open311Refusal(404, [`Nothing here: ${req.method} ${req.path}`]);
        res.set('Allow', resource === 'requests' && id === undefined ? 'GET, POST' : 'GET');
        throw new Open311Refusal(405, [`${req.method} is not allowed on ${resource}`]);
    }
  });

  router.use((req, _res, next) => next(new Open311Refusal(404, [`Nothing here: ${req.method} ${req.path}`])));
  router.use(open311Errors(service));
  return router;
}

function formatOf(extension: string | undefined): Open311Format | null {
  if (extension === undefined) return 'xml';
  const lower = extension.toLowerCase();
  return lower === 'json' || lower === 'xml' ? lower : null;
}

/** Errors as the spec's error list in the format the path asked for (JSON when it asked for none we know). */
function open311Errors(service: Service): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) return;
    // A path that named no known format gets JSON: the client's own choice cannot be known.
    const extension = /\.([A-Za-z0-9]+)$/.exec(req.path)?.[1];
    const format = (res.locals['open311Format'] as Open311Format | undefined) ?? (extension ? formatOf(extension) : 'xml') ?? 'json';
    if (error instanceof Open311Refusal) return sendOpen311Errors(res, format, error.status, error.descriptions);
    const known = error as { status?: number; statusCode?: number; type?: string };
    const status = known.status ?? known.statusCode ?? 500;
    if (status === 413) return sendOpen311Errors(res, format, 413, [`The request body is too large (at most ${BODY_LIMIT})`]);
    if (status >= 400 && status < 500)
      return sendOpen311Errors(res, format, 400, [known.type === 'entity.parse.failed' ? 'The request body is malformed' : 'Bad request']);
    service.logger.error({ path: req.path, err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'open311 request failed');
    sendOpen311Errors(res, format, 500, ['Something went wrong on our side; please retry']);
  };
}

/** A request's parameters (query string and body alike), read one text value at a time. */
interface Parameters {
  /** The parameter's one text value; a 400 when it was given twice or is not text. */
  one(name: string): string | undefined;
  /** Every parameter name given. */
  names(): string[];
}

function parametersOf(req: Request): Parameters {
  const query = (req.query ?? {}) as Record<string, unknown>;
  const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
  return {
    one(name) {
      const value = Object.hasOwn(body, name) ? body[name] : Object.hasOwn(query, name) ? query[name] : undefined;
      if (value === undefined) return undefined;
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value !== 'string') throw new Open311Refusal(400, [`${name} must be given once, as text`]);
      return value;
    },
    names: () => [...new Set([...Object.keys(query), ...Object.keys(body)])],
  };
}

/** A comma-delimited list parameter (the spec's way of asking for several). */
function listOf(params: Parameters, name: string, max: number): string[] | undefined {
  const value = params.one(name);
  if (value === undefined || value.trim() === '') return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length > max) throw new Open311Refusal(400, [`${name} may list at most ${max} values`]);
  if (items.some((item) => item.length > 60 || CONTROL.test(item))) throw new Open311Refusal(400, [`${name} has a value that is too long or not text`]);
  return items;
}

// ISO 8601 as the spec's w3 note has it: a date, or a date and time with Z or an offset.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

function dateOf(params: Parameters, name: string): Date | undefined {
  // A `+` offset a client forgot to encode arrives as a space ("...T09:30:00 04:00"): it can only
  // have meant `+`, so it is taken as one rather than refused.
  const value = params
    .one(name)
    ?.trim()
    .replace(/ (\d{2}:?\d{2})$/, '+$1');
  if (!value) return undefined;
  // A date alone is that day's start in UTC; a time needs its offset (the spec requires one).
  const at =
    DATE_TIME.test(value) && isRealDay(...(value.slice(0, 10).split('-').map(Number) as [number, number, number]))
      ? new Date(value.length === 10 ? `${value}T00:00:00Z` : value)
      : null;
  if (!at || Number.isNaN(at.getTime()))
    throw new Open311Refusal(400, [`${name} must be an ISO 8601 date-time with a time zone, e.g. 2024-05-01T09:30:00-04:00`]);
  return at;
}

function wholeOf(params: Parameters, name: string, min: number, max: number): number | undefined {
  const value = params.one(name)?.trim();
  if (value === undefined || value === '') return undefined;
  const number = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max)) throw new Open311Refusal(400, [`${name} must be a whole number from ${min} to ${max}`]);
  return number;
}

/** `GET requests`'s parameters as a query (the spec's, and the common `page` / `page_size`). */
function requestQuery(params: Parameters): Open311Query {
  params.one('jurisdiction_id');
  const ids = listOf(params, 'service_request_id', MAX_IDS);
  const page = wholeOf(params, 'page', 1, 100_000) ?? 1;
  const pageSize = wholeOf(params, 'page_size', 1, MAX_PAGE_SIZE) ?? MAX_PAGE_SIZE;
  if (ids) return { ids, page: 1, pageSize: MAX_IDS };
  const serviceCodes = listOf(params, 'service_code', 50);
  const statusList = listOf(params, 'status', 2)?.map((status) => status.toLowerCase());
  if (statusList?.some((status) => status !== 'open' && status !== 'closed')) throw new Open311Refusal(400, ['status must be open, closed or open,closed']);
  const start = dateOf(params, 'start_date');
  const end = dateOf(params, 'end_date');
  if (start && end && start > end) throw new Open311Refusal(400, ['start_date must not be after end_date']);
  return {
    ...(serviceCodes ? { serviceCodes } : {}),
    ...(statusList ? { statuses: statusList as ('open' | 'closed')[] } : {}),
    ...(start ? { start } : {}),
    ...(end ? { end } : {}),
    page,
    pageSize,
  };
}

function coordinateOf(params: Parameters, name: 'lat' | 'long', limit: number): number | undefined {
  const value = params.one(name)?.trim();
  if (value === undefined || value === '') return undefined;
  const number = /^[+-]?\d{1,3}(?:\.\d{1,15})?$/.test(value) ? Number(value) : NaN;
  if (!(Math.abs(number) <= limit)) throw new Open311Refusal(400, [`${name} must be a number from -${limit} to ${limit}`]);
  return number;
}

/** A POST's parameters as a request to file, every problem found at once. */
function postOf(params: Parameters): Open311Post {
  const problems: string[] = [];
  params.one('jurisdiction_id');
  const serviceCode = params.one('service_code')?.trim();
  if (!serviceCode) problems.push('service_code is required: GET services lists them');
  // Unknown, as for GET services/{code}: a 404 (the conformance suite's reading of the spec, and
  // FixMyStreet's), checked first so that its other problems do not hide it.
  else if (!isServiceCode(serviceCode))
    throw new Open311Refusal(404, [`service_code ${serviceCode.slice(0, 60)} is not one of our services: GET services lists them`]);

  const lat = coordinateOf(params, 'lat', 90);
  const long = coordinateOf(params, 'long', 180);
  if ((lat === undefined) !== (long === undefined)) problems.push('lat and long go together: give both, or neither');
  const addressString = params.one('address_string')?.trim() || undefined;
  if (addressString !== undefined && (addressString.length > ADDRESS_MAX || CONTROL.test(addressString)))
    problems.push(`address_string must be text of at most ${ADDRESS_MAX} characters`);
  if (lat === undefined && long === undefined && addressString === undefined)
    problems.push(
      params.one('address_id')
        ? 'address_id is not supported here: give lat and long, or address_string'
        : 'A location is required: give lat and long, or address_string',
    );

  const description = params.one('description')?.trim() || undefined;
  if (description !== undefined && (description.length > DESCRIPTION_MAX || CONTROL.test(description)))
    problems.push(`description must be text of at most ${DESCRIPTION_MAX} characters`);

  const mediaUrl = params.one('media_url')?.trim() || undefined;
  if (mediaUrl !== undefined && !isSafeLink(mediaUrl))
    problems.push(`media_url must be an http or https URL of at most ${MEDIA_URL_MAX} characters, without a user name or password`);

  const given = new Map<string, string>();
  for (const name of params.names()) {
    const attribute = /^attribute\[(.{1,60})\]$/s.exec(name);
    if (attribute?.[1] !== undefined) given.set(attribute[1], params.one(name) ?? '');
  }
  let attributes: { code: string; value: string }[] = [];
  if (serviceCode && isServiceCode(serviceCode)) {
    const checked = checkAttributes(serviceCode, given);
    if (checked.ok) attributes = checked.attributes;
    else problems.push(checked.problem);
  }
  // email, first_name, last_name, phone, device_id and account_id are read by nobody: never stored.
  if (problems.length > 0 || !serviceCode) throw new Open311Refusal(400, problems);
  return {
    serviceCode,
    ...(lat !== undefined && long !== undefined ? { point: { lat, lon: long } } : {}),
    ...(addressString ? { addressString } : {}),
    ...(description ? { description } : {}),
    ...(mediaUrl ? { mediaUrl } : {}),
    attributes,
  };
}

/** Whether a client's media_url is a link staff may safely be offered (never fetched here). */
function isSafeLink(value: string): boolean {
  if (value.length > MEDIA_URL_MAX || CONTROL.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && url.hostname.length > 0;
  } catch {
    return false;
  }
}

/** The discovery document: this one endpoint, in both formats. */
function discovery(req: Request, service: Service) {
  const base = service.config.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  return {
    changeset: CHANGESET,
    contact: `${service.config.cityName}: write to the city's 311 team`,
    key_service: `API keys are issued by ${service.config.cityName}'s staff (CivicLine dashboard, /admin/open311)`,
    endpoints: [
      {
        specification: 'http://wiki.open311.org/GeoReport_v2',
        url: `${base}/open311/v2`,
        changeset: CHANGESET,
        type: 'production',
        formats: ['text/xml', 'application/json'],
      },
    ],
  };
}
