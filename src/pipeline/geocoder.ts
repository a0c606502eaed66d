/**
 * The optional geocoder: a Nominatim-compatible API (GEOCODER_URL) that turns a resident's text
 * place into a point (`search`) and a GPS point into a street address (`reverse`). Off by
 * default; everything works without it, so every failure is `null` and the caller goes on
 * without an answer.
 *
 * Built for a resident's turn, which must never wait long:
 *
 * - **A hard timeout** (GEOCODER_TIMEOUT_MS, 1.5 s by default) on the whole request, body included.
 * - **A rate limit, skipped rather than queued**: Nominatim's usage policy allows 1 request a
 *   second (GEOCODER_REQUESTS_PER_SECOND; a city's own server may allow more). A lookup past the
 *   limit is answered `null` at once: a queue would make residents wait behind each other for
 *   seconds, and a place they typed is read back to them for confirmation anyway. The limit is
 *   per instance (in memory), as the other brakes.
 * - **A small in-memory LRU cache** (answers for a day, "nothing found" for an hour), and one
 *   request for the same lookup made twice at once, so a retried turn or a popular place costs
 *   one request, not one per resident.
 * - **Strict answers**: JSON of the documented shape, a body of at most 64 kB, coordinates in
 *   range, a search hit inside GEOCODER_VIEWBOX when one is set, and text without control
 *   characters. Anything else is `null`: a broken or hostile server cannot put a wrong point or
 *   odd text into a report.
 *
 * Queries are residents' words and places: the log has only the kind of lookup, its outcome,
 * the HTTP status and the duration, never the text or the coordinates. The cache keeps them in
 * this process's memory only, for at most a day.
 */
import type { Logger } from 'pino';
import type { GeoPoint } from '../core/message.js';

/** What the geocoder needs from the configuration (`Config.geocoder`). */
export interface GeocoderSettings {
  /** The API's base URL (`https://nominatim.example.org`), without a trailing slash. */
  url: string;
  /** A contact for the server's operators (User-Agent and Nominatim's `email` parameter). */
  email?: string;
  timeoutMs: number;
  requestsPerSecond: number;
  /** The city searches are biased to (appended to a query that does not name it). */
  city?: string;
  /** Searches keep to this box (`bounded=1`); a hit outside it is not taken. */
  viewbox?: { minLon: number; minLat: number; maxLon: number; maxLat: number };
}

/** Text places to points, and points to street addresses. Every answer may be null: go on without it. */
export interface Geocoder {
  /** The point of a text place ("5th and Main"), with the geocoder's name for it as `label`. */
  search(text: string, options: { locale: string; city?: string }): Promise<GeoPoint | null>;
  /** A short street address for a point ("123, Main Street, Downtown, Springfield"). */
  reverse(point: Pick<GeoPoint, 'lat' | 'lon'>, options: { locale: string }): Promise<string | null>;
}

/** What a geocoder uses besides its settings; tests give a clock. */
export interface GeocoderDeps {
  logger?: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** Milliseconds, for the rate limit and the cache (default `Date.now`). */
  now?: () => number;
}

/** The largest answer read; a Nominatim answer with limit=1 is a few kB. */
export const GEOCODER_MAX_BODY_BYTES = 64 * 1024;
const CACHE_ENTRIES = 500;
const CACHE_HIT_MS = 24 * 3_600_000;
const CACHE_MISS_MS = 3_600_000;
const MAX_QUERY_CHARS = 300;
const MAX_TEXT_CHARS = 200;
const USER_AGENT_BASE = 'CivicLine/0.1 (city 311 chat-bot; geocodes residents reports)';

/** How a lookup ended, as the log says it. */
type Outcome = 'ok' | 'no_result' | 'cached' | 'rate_limited' | 'timeout' | 'http_error' | 'too_large' | 'invalid' | 'network_error';

/** A failed request: its outcome, and the HTTP status when there was one. */
class LookupFailed extends Error {
  constructor(
    readonly outcome: Outcome,
    readonly status?: number,
  ) {
    super(outcome);
  }
}

/** The geocoder of the settings, or null when GEOCODER_URL is not set (off). */
export function createGeocoder(settings: GeocoderSettings | null | undefined, deps: GeocoderDeps = {}): Geocoder | null {
  if (!settings?.url) return null;
  const now = deps.now ?? Date.now;
  const logger = deps.logger;
  const base = settings.url.replace(/\/+$/, '');
  // Header values must be bytes: a city named "Łódź" would make every request throw. Accents go, the rest is dropped.
  const userAgent = `${USER_AGENT_BASE}${settings.city ? ` ${clean(settings.city, 60)}` : ''}${settings.email ? ` contact: ${settings.email}` : ''}`
    .normalize('NFKD')
    .replace(/[^\x20-\x7E]/g, '');
  const cache = new Map<string, { value: unknown; expires: number }>();
  const inFlight = new Map<string, Promise<unknown>>();
  // A token bucket holding one second's requests (one, for Nominatim's policy): a burst never
  // exceeds what the rate allows within a second.
  const capacity = Math.max(1, settings.requestsPerSecond);
  let tokens = capacity;
  let refilledAt = now();

  function takeToken(): boolean {
    const at = now();
    tokens = Math.min(capacity, tokens + ((at - refilledAt) / 1000) * settings!.requestsPerSecond);
    refilledAt = at;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  function log(kind: 'search' | 'reverse', outcome: Outcome, startedAt: number, status?: number): void {
    const entry = { geocoder: kind, outcome, ms: Math.round(now() - startedAt), ...(status !== undefined ? { status } : {}) };
    if (outcome === 'ok' || outcome === 'no_result' || outcome === 'cached') logger?.debug(entry, 'geocoder lookup');
    else if (outcome === 'rate_limited') logger?.info(entry, 'geocoder lookup skipped: over the rate limit');
    else logger?.warn(entry, 'geocoder lookup failed');
  }

  /** A lookup through the cache, the in-flight table and the rate limit; `parse` turns the JSON into an answer (null: nothing found) or throws. */
  async function lookup<T>(
    kind: 'search' | 'reverse',
    key: string,
    path: string,
    params: URLSearchParams,
    parse: (json: unknown) => T | null,
  ): Promise<T | null> {
    const startedAt = now();
    const hit = cache.get(key);
    if (hit && hit.expires > startedAt) {
      // Least recently used goes first: a hit moves to the end.
      cache.delete(key);
      cache.set(key, hit);
      log(kind, 'cached', startedAt);
      return hit.value as T | null;
    }
    if (hit) cache.delete(key);
    const pending = inFlight.get(key);
    if (pending) return pending as Promise<T | null>;
    if (!takeToken()) {
      log(kind, 'rate_limited', startedAt);
      return null;
    }
    const request = (async () => {
      try {
        const value = parse(await fetchJson(`${base}/${path}?${params.toString()}`));
        remember(key, value, value === null ? CACHE_MISS_MS : CACHE_HIT_MS);
        log(kind, value === null ? 'no_result' : 'ok', startedAt, 200);
        return value;
      } catch (error) {
        const failed = error instanceof LookupFailed ? error : new LookupFailed('invalid');
        log(kind, failed.outcome, startedAt, failed.status);
        return null;
      } finally {
        inFlight.delete(key);
      }
    })();
    inFlight.set(key, request);
    return request;
  }

  function remember(key: string, value: unknown, ttlMs: number): void {
    cache.set(key, { value, expires: now() + ttlMs });
    while (cache.size > CACHE_ENTRIES) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  }

  async function fetchJson(url: string): Promise<unknown> {
    let response: Response;
    const signal = AbortSignal.timeout(settings!.timeoutMs);
    try {
      // No redirects: a server that sends residents' queries elsewhere is not the configured one.
      response = await fetch(url, { signal, redirect: 'error', headers: { 'User-Agent': userAgent, Accept: 'application/json' } });
    } catch (error) {
      throw new LookupFailed(isTimeout(error, signal) ? 'timeout' : 'network_error');
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new LookupFailed('http_error', response.status);
    }
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > GEOCODER_MAX_BODY_BYTES) {
      await response.body?.cancel().catch(() => undefined);
      throw new LookupFailed('too_large', response.status);
    }
    let text: string;
    try {
      text = await readCapped(response, GEOCODER_MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof LookupFailed) throw error;
      throw new LookupFailed(isTimeout(error, signal) ? 'timeout' : 'network_error', response.status);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new LookupFailed('invalid', response.status);
    }
  }

  return {
    async search(text, options) {
      const query = clean(text, MAX_QUERY_CHARS);
      if (!query) return null;
      const city = options.city ?? settings.city;
      const q = city && !query.toLowerCase().includes(city.toLowerCase()) ? `${query}, ${city}` : query;
      const params = new URLSearchParams({ q, format: 'jsonv2', limit: '1' });
      const language = languageOf(options.locale);
      if (language) params.set('accept-language', language);
      const box = settings.viewbox;
      if (box) {
        params.set('viewbox', `${box.minLon},${box.minLat},${box.maxLon},${box.maxLat}`);
        params.set('bounded', '1');
      }
      if (settings.email) params.set('email', settings.email);
      return lookup('search', `s|${language}|${q.toLowerCase()}`, 'search', params, (json) => searchAnswer(json, box));
    },

    async reverse(point, options) {
      if (!inRange(point.lat, 90) || !inRange(point.lon, 180)) return null;
      // About 1 m apart at most: the same corner asked twice is one request.
      const lat = point.lat.toFixed(5);
      const lon = point.lon.toFixed(5);
      const params = new URLSearchParams({ lat, lon, format: 'jsonv2', zoom: '18' });
      const language = languageOf(options.locale);
      if (language) params.set('accept-language', language);
      if (settings.email) params.set('email', settings.email);
      return lookup('reverse', `r|${language}|${lat}|${lon}`, 'reverse', params, reverseAnswer);
    },
  };
}

/** A search answer: the first hit's point and name; null for none (or one outside the box); throws on anything else. */
function searchAnswer(json: unknown, box: GeocoderSettings['viewbox']): GeoPoint | null {
  if (!Array.isArray(json)) throw new LookupFailed('invalid', 200);
  if (json.length === 0) return null;
  const first: unknown = json[0];
  if (typeof first !== 'object' || first === null) throw new LookupFailed('invalid', 200);
  const hit = first as Record<string, unknown>;
  const lat = coordinate(hit['lat'], 90);
  const lon = coordinate(hit['lon'], 180);
  if (lat === null || lon === null) throw new LookupFailed('invalid', 200);
  // `bounded=1` asks the server to keep to the box; a server that ignores it is not believed.
  if (box && (lat < box.minLat || lat > box.maxLat || lon < box.minLon || lon > box.maxLon)) return null;
  const label = typeof hit['display_name'] === 'string' ? clean(hit['display_name'], MAX_TEXT_CHARS) : '';
  return { lat, lon, ...(label ? { label } : {}) };
}

/** A reverse answer: a short address; null when the server found none (`{"error": ...}`); throws on anything else. */
function reverseAnswer(json: unknown): string | null {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LookupFailed('invalid', 200);
  const answer = json as Record<string, unknown>;
  if ('error' in answer) return null;
  const name = answer['display_name'];
  if (typeof name !== 'string') throw new LookupFailed('invalid', 200);
  const address = clean(shortAddress(name, answer['address']), MAX_TEXT_CHARS);
  if (!address) throw new LookupFailed('invalid', 200);
  return address;
}

/**
 * The start of a display name, up to the town it is in ("123, Main Street, Downtown, Springfield"
 * rather than county, state, postcode and country): what a resident recognises when it is read
 * back. Four parts when the town is not among them.
 */
function shortAddress(displayName: string, address: unknown): string {
  const parts = displayName
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const fields = typeof address === 'object' && address !== null ? (address as Record<string, unknown>) : {};
  const town = ['city', 'town', 'village', 'municipality', 'hamlet'].map((key) => fields[key]).find((value): value is string => typeof value === 'string');
  const at = town === undefined ? -1 : parts.indexOf(town.trim());
  return parts.slice(0, at >= 0 ? at + 1 : 4).join(', ');
}

/** A latitude or longitude as Nominatim sends it (a decimal string, or a number), within ±limit; null otherwise. */
function coordinate(value: unknown, limit: number): number | null {
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d{1,3}(?:\.\d{1,15})?$/.test(value.trim()) ? Number(value) : NaN;
  return inRange(number, limit) ? number : null;
}

function inRange(value: number, limit: number): boolean {
  return Number.isFinite(value) && Math.abs(value) <= limit;
}

/** A locale as `accept-language` takes it (`es`, `pt-BR`); empty when it is not one. */
function languageOf(locale: string): string {
  return /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$/.test(locale) ? locale : '';
}

/** Text without control or bidi-override characters, spaces collapsed, at most `max` characters. */
function clean(text: string, max: number): string {
  return text
    .replace(/[\p{Cc}\u202A-\u202E\u2066-\u2069]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max)
    .trim();
}

/** Whether a fetch failed because its time ran out. */
function isTimeout(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'));
}

/** The body as text, refusing (and stopping the download of) one larger than `max` bytes. */
async function readCapped(response: Response, max: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new LookupFailed('too_large', response.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
