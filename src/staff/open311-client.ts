/**
 * CivicLine as an Open311 client (issue 19): every new report is forwarded to the city's own
 * Open311 GeoReport v2 server (OPEN311_ENDPOINT), and the status changes made there are read back
 * and told to the resident as staff changes are. Both are job kinds of the one scheduler of
 * persisted outbound work (STYLE.md), so the outbox survives restarts and retries with backoff:
 *
 * - `open311_forward` (one job per report, scheduled where reports are created): POSTs
 *   `requests.json` and keeps the answer's `service_request_id` or token on the report. 2xx is
 *   done (a body that is not JSON too: filed there, marked `unreadableAnswer`, never sent again);
 *   a 4xx that is this report's (400, 422, a 404 naming the service_code) is failed for good (the
 *   city refused it: staff see the job's error). An outage (5xx, a timeout, a network error, and
 *   401/403/408/429 or a bare 404: our key or endpoint, or the city's state) is put off with the
 *   client's own backoff (30 s doubling to 10 min), never running out of attempts.
 * - `open311_poll` (one job, rescheduling itself every OPEN311_POLL_SECONDS, never failing):
 *   plans from the `open311Open` index, asked-about-longest-ago first (`open311PollAt`, so it goes
 *   round every open request however many there are: a request the city stopped returning cannot
 *   hold the front); turns tokens into ids (`tokens/{token}.json`); asks `updated_after` first when
 *   OPEN311_UPDATED_AFTER says so and the server takes it; then asks 50 ids per
 *   `requests.json?service_request_id=...` (one at a time when the server ignores the filter),
 *   within a time budget, and applies a `closed` (the report is closed, with the city's notes) or
 *   new `status_notes` through `changeReportStatus`, once per change however many polls run at
 *   once. A request left out of MISSING_POLLS answers in a row is one the city no longer knows
 *   (`open311Open: 'unknown'`): asked about once a day, counted on the dashboard.
 *
 * **Sent once.** The job id names the report and the job is `once`; the scheduler's lease keeps
 * two instances from running it together; a report already carrying `open311Remote` is never
 * POSTed again. GeoReport v2 has no idempotency key, so a POST whose answer never came (a
 * timeout, a dropped connection, a gateway's 502/504), or whose answer was never saved (the run
 * died after it: a restart, a store error), may have been filed: the job remembers when
 * (`uncertainSince` in its payload, written before the POST and removed by a clear answer), and its retry first asks for the requests of that service
 * filed since and takes one at the very place it sent (`findLostRequest`: the same point, or the
 * same address text; descriptions cannot be compared, as servers need not serve them) that no
 * other report holds. Only when there is none is it posted again. What remains: a server that
 * lists a new request only later (a batch service) gets it twice, as does one that cannot filter
 * by service and dates; we wait long for an answer (`timeoutMs`, 30 s by default) to keep that
 * rare, and the city's staff merge such a duplicate as they merge two residents' reports.
 *
 * **Photos.** Open311 takes one `media_url`, a link the city's server fetches: the report's first
 * photo that CivicLine stores itself (a web chat upload), as a signed link that expires after
 * OPEN311_MEDIA_LINK_DAYS (media-links.ts; served without login by src/http/media-link.routes.ts),
 * made when the POST is sent. Without PUBLIC_URL there is nothing to link to, and no media_url is
 * sent. Telegram and MMS photos are kept where the resident sent them (a Telegram file id that
 * only the bot's token downloads, a Twilio media URL that may need the account's credentials and
 * names the account): nothing is sent for them, never a provider URL or a credential.
 */
import type { Logger } from 'pino';
import type { Open311ClientSettings } from '../config.js';
import type { JobRecord, ReportRecord } from '../domain/records.js';
import { statusGroupOf } from '../domain/report-status.js';
import { OPEN311_FORWARD_JOB, OPEN311_POLL_JOB, OPEN311_POLL_JOB_ID } from '../domain/open311-outbox.js';
import { scheduleJob } from '../store/jobs.js';
import type { Store } from '../store/store.port.js';
import { mediaIdIn } from '../store/media-files.js';
import type { JobHandler, JobOutcome } from './job-scheduler.js';
import type { MediaLinks } from './media-links.js';
import { changeReportStatus } from './report-desk.js';
import { recordAudit } from './audit-log.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** What the client works with. `staff` is a getter: the staff deps exist only once the scheduler does. */
export interface Open311ClientDeps {
  store: Store;
  settings: Open311ClientSettings;
  logger: Logger;
  staff: () => StaffDeps;
  now?: () => Date;
  /** How long a request to the city's server may take (default 30 s: see "Sent once" above). */
  timeoutMs?: number;
  /** How long a poll goes on starting batches (default 60 s; tests make it short). */
  pollBudgetMs?: number;
  /** Signs the photo link sent as `media_url`; without it no photo is sent. */
  mediaLinks?: MediaLinks;
  /** How long that link works (OPEN311_MEDIA_LINK_DAYS; default 7 days). */
  mediaLinkTtlMs?: number;
  /** Requests a poll asks about by id (default POLL_LIMIT, 500 while updated_after works) and per batch (POLL_BATCH); tests make them small. */
  pollLimits?: { perPoll?: number; withUpdatedAfter?: number; batch?: number };
}

/** Ids per `requests.json?service_request_id=` (servers cap their answers; 50 stays under every cap seen). */
export const POLL_BATCH = 50;
/** Forwarded open requests read per poll, at most (those asked about longest ago first; the rest the next time). */
export const POLL_LIMIT = 5000;
/** While updated_after works, the batches still go round every request, this many a poll. */
const SWEEP_WITH_UPDATED_AFTER = 500;
/** Requests the city no longer knows asked about per poll, at most (each once a day). */
const UNKNOWN_LIMIT = 500;
/** Tokens turned into ids per poll, at most (an exchange each). */
const TOKEN_LIMIT = 100;
/** Requests asked about one at a time per poll, at most, when the server ignores service_request_id. */
const SINGLE_LIMIT = 200;
/** Answers in a row that leave a request out before it is taken for one the city no longer knows. */
export const MISSING_POLLS = 6;
/** How often a request the city no longer knows is asked about. */
const UNKNOWN_POLL_MS = 24 * 60 * 60_000;
/** Exchanges failed in a row after which a poll takes the server for down and stops asking. */
const FAILURES_TO_STOP = 3;
/** updated_after asks from the last poll's start minus this (clocks differ; a change saved as we asked is not lost). */
const UPDATED_AFTER_OVERLAP_MS = 15 * 60_000;
/** updated_after never asks further back than this. */
const UPDATED_AFTER_MAX_AGE_MS = 24 * 60 * 60_000;
/** After `auto` found updated_after refused or ignored, it is tried again this much later. */
const UPDATED_AFTER_RETRY_MS = 24 * 60 * 60_000;
/** An updated_after answer this long may be a page of more (GeoReport v2's usual cap): the batches ask about everything then. */
const FULL_PAGE = 1000;
/** A poll starts no exchange past this (the scheduler's run timeout is 5 min; one takes at most `timeoutMs` more). */
const POLL_BUDGET_MS = 60_000;
const WRITE_ATTEMPTS = 5;
/** A forward's wait after its first outage, doubled after each next one up to the most. */
const FORWARD_BACKOFF_MS = 30_000;
const FORWARD_BACKOFF_MAX_MS = 10 * 60_000;
/** A lost POST is looked for among the requests filed this long before it and up to this long after now (clocks differ). */
const LOST_POST_SLACK_MS = 5 * 60_000;
/** GeoReport v2 gives no limit; FixMyStreet and CivicLine's own server keep to a few thousand characters. */
const DESCRIPTION_MAX = 4000;
/** A resident may describe the place at length; servers keep an address to a line (CivicLine's own refuses more than 250). */
const ADDRESS_MAX = 250;
const MEDIA_LINK_TTL_MS = 7 * 86_400_000;

/** Who the city's status changes are recorded as (updates show "open311", the audit its name). */
const OPEN311_ACTOR: Actor = { username: 'open311', role: 'admin' };

/** The meta record with the category → service_code map staff edit. */
export const SERVICE_MAP_ID = 'open311:service-map';
/** The meta record with the city server's health (the dashboard's outage notice). */
export const HEALTH_ID = 'open311:health';

/** A category → service_code map; a category not in it is sent with its own id as the code. */
export type ServiceMap = Record<string, string>;

/** The city server's health as the last forward or poll found it. */
export interface Open311Health {
  /** Set while failing: when the first failure of the current run of failures was. */
  failingSince?: string;
  lastError?: string;
  lastSuccessAt?: string;
}

/** The job handlers of the Open311 client. */
export function open311ClientJobHandlers(deps: Open311ClientDeps): Record<string, JobHandler> {
  return {
    [OPEN311_FORWARD_JOB]: { run: (job) => forwardReport(deps, job) },
    [OPEN311_POLL_JOB]: { run: () => pollOpenRequests(deps) },
  };
}

/** Schedules the poll (at start, when OPEN311_ENDPOINT is set); one pending already is kept as it is. */
export async function startOpen311Polling(store: Pick<Store, 'jobs'>, now: Date): Promise<void> {
  await scheduleJob(store, { id: OPEN311_POLL_JOB_ID, kind: OPEN311_POLL_JOB, dueAt: now, payload: {} }, now);
}

/** The service-code map as staff last saved it (empty: every category is sent as its own id). */
export async function readServiceMap(store: Pick<Store, 'meta'>): Promise<ServiceMap> {
  const value = (await store.meta.get(SERVICE_MAP_ID))?.value;
  return isServiceMap(value) ? value : {};
}

/**
 * Saves the service-code map (the whole of it: a category left out goes back to its own id);
 * audited with the map saved when staff save it (the API and the admin page).
 */
export async function saveServiceMap(store: Pick<Store, 'meta' | 'audit'>, map: unknown, actor?: Actor, now: Date = new Date()): Promise<ServiceMap> {
  if (!isServiceMap(map)) throw new StaffError(400, 'The map must be an object of category → service_code, each a text of 1-100 characters');
  const clean = Object.fromEntries(Object.entries(map).map(([category, code]) => [category, code.trim()]));
  await store.meta.upsert({ _id: SERVICE_MAP_ID, value: clean });
  if (actor) await recordAudit(store, { actor: actor.username, action: 'open311.service-map.save', target: SERVICE_MAP_ID, details: { map: clean } }, now);
  return clean;
}

function isServiceMap(value: unknown): value is ServiceMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length <= 500 &&
    entries.every(([key, code]) => key.length > 0 && key.length <= 100 && typeof code === 'string' && code.trim().length > 0 && code.length <= 100)
  );
}

/**
 * The city server's health, how many reports wait to be forwarded, and how many forwarded requests
 * it no longer knows (for the dashboard).
 */
export async function open311Status(
  store: Pick<Store, 'meta' | 'jobs' | 'reports'>,
): Promise<Open311Health & { waiting: number; unknown: number; unknownRefs: string[] }> {
  const value = (await store.meta.get(HEALTH_ID))?.value;
  const health = typeof value === 'object' && value !== null ? (value as Open311Health) : {};
  // Pending jobs by due time is the scheduler's own index; a backlog past this shows as "at least".
  const pending = await store.jobs.find({ field: 'state', equals: 'pending' }, { order: 'asc', limit: 2000 });
  const unknown = await store.reports.count({ field: 'open311Open', equals: 'unknown' });
  // A few to look at (those asked about longest ago first); the count says how many more.
  const unknownRefs = unknown > 0 ? (await store.reports.find({ field: 'open311Open', equals: 'unknown' }, { limit: 5 })).map((report) => report._id) : [];
  return { ...health, waiting: pending.filter((job) => job.kind === OPEN311_FORWARD_JOB).length, unknown, unknownRefs };
}

async function recordHealth(store: Pick<Store, 'meta'>, at: Date, error: string | null): Promise<void> {
  const current = (await store.meta.get(HEALTH_ID))?.value as Open311Health | undefined;
  const next: Open311Health = error
    ? { ...(current?.lastSuccessAt ? { lastSuccessAt: current.lastSuccessAt } : {}), failingSince: current?.failingSince ?? at.toISOString(), lastError: error }
    : { lastSuccessAt: at.toISOString() };
  // Last writer wins: two instances writing at once both saw the server as it was.
  await store.meta.upsert({ _id: HEALTH_ID, value: next });
}

/** What an HTTP exchange with the city's server came to. */
type Exchange =
  | { ok: true; status: number; body: unknown; unreadable?: false }
  /** A 2xx whose body is not JSON (XML, a proxy's HTML page): the server did answer yes. */
  | { ok: true; status: number; body?: undefined; unreadable: true }
  | { ok: false; status?: number; error: string; retryable: boolean };

async function exchange(deps: Open311ClientDeps, url: string, init: RequestInit): Promise<Exchange> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(deps.timeoutMs ?? 30_000) });
    const text = await response.text();
    if (response.ok) {
      try {
        return { ok: true, status: response.status, body: JSON.parse(text) as unknown };
      } catch {
        return { ok: true, status: response.status, unreadable: true };
      }
    }
    const description = errorDescription(text);
    return {
      ok: false,
      status: response.status,
      error: `answered ${response.status}${description ?? ''}`,
      retryable: isOutage(response.status, description !== undefined),
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    return { ok: false, error: name === 'TimeoutError' ? 'no answer in time' : 'unreachable', retryable: true };
  }
}

/**
 * Whether an error answer is the city's server (or our settings) failing rather than this report
 * refused: a 5xx; our key wrong or revoked (401, 403); the endpoint not there (a 404 without the
 * spec's error body: a wrong OPEN311_ENDPOINT, a proxy); too slow or too many (408, 429). Those are
 * retried however long they last. Any other 4xx (400, 422, a 404 naming the unknown service_code)
 * is this report refused, for good.
 */
function isOutage(status: number, specErrorBody: boolean): boolean {
  if (status >= 500 || status === 401 || status === 403 || status === 408 || status === 429) return true;
  return status === 404 && !specErrorBody;
}

/** The spec's error body `[{code, description}]`, cut short (it goes into job errors and the dashboard); undefined when it is not one. */
function errorDescription(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    const first = Array.isArray(body) ? (body[0] as { description?: unknown } | undefined) : undefined;
    return typeof first?.description === 'string' ? `: ${first.description.slice(0, 120)}` : undefined;
  } catch {
    return undefined;
  }
}

/** The form of a report's POST requests.json; `mediaUrl` is its photo's signed link, when it has one. */
export function requestForm(report: ReportRecord, settings: Open311ClientSettings, map: ServiceMap, mediaUrl?: string | null): URLSearchParams | null {
  const category = String(report.category);
  const form = new URLSearchParams({ api_key: settings.apiKey });
  if (settings.jurisdictionId) form.set('jurisdiction_id', settings.jurisdictionId);
  form.set('service_code', Object.hasOwn(map, category) ? map[category]! : category);
  const { point, text } = report.location;
  if (point) {
    form.set('lat', String(point.lat));
    form.set('long', String(point.lon));
  }
  // Both when both: the city's crews read the resident's own words for the place.
  if (text) form.set('address_string', cutText(plainText(text), ADDRESS_MAX));
  if (!point && !text) return null;
  // The resident's words: this is the city's own system, its staff need them to act.
  form.set('description', cutText(plainText(report.description), DESCRIPTION_MAX));
  if (mediaUrl) form.set('media_url', mediaUrl);
  return form;
}

/**
 * The signed link to a report's first photo CivicLine keeps itself (a web chat upload), working
 * for the link lifetime from `at`; null when it has none, or without PUBLIC_URL. Telegram file ids
 * and Twilio media URLs are skipped: the city's server could not fetch them without our
 * credentials, which never leave CivicLine.
 */
export function photoLink(report: ReportRecord, links: MediaLinks | undefined, at: Date, ttlMs = MEDIA_LINK_TTL_MS): string | null {
  if (!links) return null;
  for (const photo of report.photos) {
    const id = mediaIdIn(photo.url);
    if (id) return links.link(id, new Date(at.getTime() + ttlMs));
  }
  return null;
}

async function forwardReport(deps: Open311ClientDeps, job: JobRecord): Promise<JobOutcome> {
  const { store, settings } = deps;
  const ref = typeof job.payload['ref'] === 'string' ? job.payload['ref'] : '';
  const report = await store.reports.get(ref);
  // Gone (erased) or sent already (a job run again after a crash that followed the save).
  if (!report || report.open311Remote) return { state: 'done' };
  // Posted through CivicLine's own Open311 server: the city's system is where it came from.
  if (report.channel === 'open311') return { state: 'done' };
  // Closed or merged here before it could be sent (staff closed it as spam during an outage, or
  // merged it into a report that is forwarded): the city has nothing to do about it.
  if (report.statusGroup !== 'open' || report.mergedInto) return { state: 'done' };
  const sendingAt = (deps.now ?? (() => new Date()))();
  const form = requestForm(report, settings, await readServiceMap(store), photoLink(report, deps.mediaLinks, sendingAt, deps.mediaLinkTtlMs));
  if (!form) return { state: 'failed', error: 'the report has no place to send', retryable: false };
  const clock = deps.now ?? (() => new Date());
  // An earlier POST's answer never came: it may have been filed there. Look before posting again.
  const uncertainSince = uncertainAttempt(job);
  if (uncertainSince) {
    const lost = await findLostRequest(deps, form, uncertainSince, clock());
    if (lost === 'outage') {
      await recordHealth(store, clock(), 'forwarding: no answer to the search for a POST whose answer was lost');
      const failures = forwardFailures(job) + 1;
      await recordForwardFailure(store, job, failures, 'city Open311 server did not answer the search for a POST whose answer was lost', uncertainSince);
      return { state: 'later', dueAt: new Date(clock().getTime() + forwardBackoffMs(failures)) };
    }
    if (lost) {
      await updateReport(store, ref, (current) =>
        current.open311Remote ? null : { ...current, open311Remote: { id: lost, sentAt: uncertainSince }, open311Open: 'yes', open311RemoteId: lost },
      );
      await recordHealth(store, clock(), null);
      deps.logger.info({ ref }, 'a forward whose answer was lost had been filed: its request id was found, not posted again');
      return { state: 'done' };
    }
  }
  const attemptAt = clock();
  // Written ahead: should this run die before it keeps the answer (a restart, a store error), the
  // POST may have been filed, and the run after it searches first. A clear answer undoes it below.
  await recordForwardAttempt(store, job, uncertainSince ?? attemptAt);
  const result = await exchange(deps, `${settings.endpoint}/requests.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: form.toString(),
  });
  const at = (deps.now ?? (() => new Date()))();
  if (!result.ok) {
    // A refusal (see `isOutage`) is the server working and refusing this report; anything else is an outage.
    await recordHealth(store, at, result.retryable ? `forwarding: ${result.error}` : null);
    deps.logger.warn({ ref, status: result.status, retryable: result.retryable }, 'Open311 forward failed');
    if (!result.retryable) return { state: 'failed', error: `city Open311 server ${result.error}`, retryable: false };
    // An outage never runs out of attempts (the scheduler's would, in minutes): put off, with a
    // backoff of our own, counted in the job's payload, until the city's server is back.
    const failures = forwardFailures(job) + 1;
    // No answer, or a gateway's 502/504: the server may have filed it all the same.
    const uncertain = result.status === undefined || result.status === 502 || result.status === 504;
    await recordForwardFailure(store, job, failures, `city Open311 server ${result.error}`, uncertain ? (uncertainSince ?? attemptAt) : uncertainSince);
    return { state: 'later', dueAt: new Date(at.getTime() + forwardBackoffMs(failures)) };
  }
  await recordHealth(store, at, null);
  if (result.unreadable) {
    // Filed there (a 2xx), so never posted again; with no id to poll, staff see it as unreadable.
    await updateReport(store, ref, (current) => (current.open311Remote ? null : { ...current, open311Remote: { sentAt: at, unreadableAnswer: true } }));
    deps.logger.warn({ ref, status: result.status }, 'report forwarded to the city Open311 server, but its answer is not JSON');
    return { state: 'done' };
  }
  const answer = Array.isArray(result.body) ? (result.body[0] as Record<string, unknown> | undefined) : undefined;
  const id = scalar(answer?.['service_request_id']);
  const token = scalar(answer?.['token']);
  await updateReport(store, ref, (current) =>
    current.open311Remote
      ? null
      : {
          ...current,
          open311Remote: { ...(id ? { id } : {}), ...(token ? { token } : {}), sentAt: at, ...(id || token ? {} : { unreadableAnswer: true }) },
          // Polled by its id, or by its token until the city's server gives the id (see the poll).
          ...(id || token ? { open311Open: 'yes' as const } : {}),
          ...(id ? { open311RemoteId: id } : {}),
        },
  );
  deps.logger.info({ ref, hasId: Boolean(id) }, 'report forwarded to the city Open311 server');
  return { state: 'done' };
}

/** The wait after a forward's `failures`-th outage in a row: 30 s, doubling, at most 10 min. */
export function forwardBackoffMs(failures: number): number {
  return Math.min(FORWARD_BACKOFF_MAX_MS, FORWARD_BACKOFF_MS * 2 ** Math.min(20, Math.max(0, failures - 1)));
}

function forwardFailures(job: JobRecord): number {
  const failures = job.payload['failures'];
  return typeof failures === 'number' && Number.isFinite(failures) && failures > 0 ? failures : 0;
}

/**
 * Counts the failure in the running job's payload (the scheduler keeps the payload of a job put
 * off), with the error for staff, and when the first POST that may have been filed was
 * (`uncertainSince`; none: every POST so far was answered without being filed).
 */
async function recordForwardFailure(
  store: Pick<Store, 'jobs'>,
  job: JobRecord,
  failures: number,
  error: string,
  uncertainSince: Date | undefined,
): Promise<void> {
  await changeJobPayload(store, job, (payload) => {
    const { uncertainSince: _before, ...rest } = payload;
    return { ...rest, failures, error: error.slice(0, 200), ...(uncertainSince ? { uncertainSince: uncertainSince.toISOString() } : {}) };
  });
}

/** Records, before a POST, when the first POST that may have been filed was (this one, unless an earlier one's answer was lost). */
async function recordForwardAttempt(store: Pick<Store, 'jobs'>, job: JobRecord, uncertainSince: Date): Promise<void> {
  await changeJobPayload(store, job, (payload) => ({ ...payload, uncertainSince: uncertainSince.toISOString() }));
}

/**
 * Changes the running job's payload, while this run still holds it; the scheduler's own settling
 * re-reads the job, so this write and its lease renewals do not clash.
 */
async function changeJobPayload(store: Pick<Store, 'jobs'>, job: JobRecord, change: (payload: JobRecord['payload']) => JobRecord['payload']): Promise<void> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.jobs.get(job._id);
    if (!current || current.state !== 'running' || current.claimedBy !== job.claimedBy) return;
    if (await store.jobs.replace({ ...current, payload: change(current.payload) }, current._rev)) return;
  }
}

/** When the first POST whose answer never came was sent (the job's payload), if one was. */
function uncertainAttempt(job: JobRecord): Date | undefined {
  const value = job.payload['uncertainSince'];
  const at = typeof value === 'string' ? new Date(value) : undefined;
  return at && Number.isFinite(at.getTime()) ? at : undefined;
}

/**
 * Looks for the request an earlier POST of this report may have filed although its answer never
 * came (a timeout, a dropped connection, a gateway's 502/504). GeoReport v2 has no idempotency
 * key, and servers need not serve descriptions, so this asks for the requests of the same
 * service filed since then (`service_code`, `start_date`, `end_date`) and takes one at the very
 * place this report was sent with (the same lat/long to a millionth of a degree, or, without a
 * point, the same address text) that no other report here holds. Returns its id; null when there
 * is none, or the server cannot be asked so (then the report is posted); 'outage' when it did not
 * answer (asked again after the backoff, never posted blind).
 */
async function findLostRequest(deps: Open311ClientDeps, form: URLSearchParams, since: Date, at: Date): Promise<string | null | 'outage'> {
  const { settings, store } = deps;
  const code = form.get('service_code') ?? '';
  const query = new URLSearchParams({
    service_code: code,
    start_date: new Date(since.getTime() - LOST_POST_SLACK_MS).toISOString(),
    end_date: new Date(at.getTime() + LOST_POST_SLACK_MS).toISOString(),
  });
  if (settings.jurisdictionId) query.set('jurisdiction_id', settings.jurisdictionId);
  const result = await exchange(deps, `${settings.endpoint}/requests.json?${query.toString()}`, { headers: { accept: 'application/json' } });
  if (!result.ok) return result.retryable ? 'outage' : null;
  if (result.unreadable || !Array.isArray(result.body)) return null;
  const lat = form.get('lat');
  const long = form.get('long');
  const address = form.get('address_string')?.trim().toLowerCase();
  for (const remote of result.body as Array<Record<string, unknown> | null>) {
    const id = scalar(remote?.['service_request_id']);
    if (!id || !remote) continue;
    // A server that ignores the filters answers its default list: check what it says it is.
    if (remote['service_code'] !== undefined && String(remote['service_code']) !== code) continue;
    const requested = typeof remote['requested_datetime'] === 'string' ? Date.parse(remote['requested_datetime']) : NaN;
    if (requested < since.getTime() - LOST_POST_SLACK_MS) continue;
    const samePoint =
      lat !== null && long !== null && Math.abs(Number(remote['lat']) - Number(lat)) < 1e-6 && Math.abs(Number(remote['long']) - Number(long)) < 1e-6;
    const sameAddress = lat === null && !!address && typeof remote['address'] === 'string' && remote['address'].trim().toLowerCase() === address;
    if (!samePoint && !sameAddress) continue;
    // Another report's request (two residents at one place): not this one's.
    if ((await store.reports.find({ field: 'open311RemoteId', equals: id }, { limit: 1 })).length > 0) continue;
    return id;
  }
  return null;
}

function scalar(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : typeof value === 'number' ? String(value) : undefined;
}

async function updateReport(store: Pick<Store, 'reports'>, ref: string, change: (current: ReportRecord) => ReportRecord | null): Promise<void> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.reports.get(ref);
    if (!current) return;
    const next = change(current);
    if (!next || (await store.reports.replace(next, current._rev))) return;
  }
  throw new Error('A report kept changing while its Open311 request was recorded');
}

/**
 * One poll: plans what to ask (the `open311Open` index, asked-longest-ago first), turns tokens
 * into ids, asks what changed (`updated_after`, when on and working), asks about the requests in
 * batches of ids, applies what changed and moves every request it asked about to the back of the
 * index, and comes back after OPEN311_POLL_SECONDS whatever happened. It never fails (an outage,
 * a store error: recorded, never the end of polling) and keeps to a time budget, well inside the
 * scheduler's run timeout, so it is never cut off and run again while still running.
 */
export async function pollOpenRequests(deps: Open311ClientDeps): Promise<JobOutcome> {
  const { store, settings } = deps;
  const now = deps.now ?? (() => new Date());
  const poll: PollRun = { deps, startedAt: Date.now(), budgetMs: deps.pollBudgetMs ?? POLL_BUDGET_MS, failure: null, asked: false, failuresInARow: 0 };
  try {
    const plan = await planPoll(store, now(), deps.pollLimits?.perPoll ?? POLL_LIMIT);
    // By the city's id; a list, as a city that merges duplicates may answer two POSTs with one id.
    const byId = new Map<string, string[]>();
    const add = (id: string, ref: string) => byId.set(id, [...(byId.get(id) ?? []), ref]);
    for (const report of plan.withId) add(report.open311Remote!.id!, report._id);
    const missed = new Map(plan.withId.map((report) => [report._id, report.open311Remote?.missedPolls ?? 0] as const));
    for (const [id, ref] of await resolveTokens(poll, plan.tokenOnly)) add(id, ref);

    // What changed since the last poll, when the server says: then fewer batches are needed.
    const changed = await askWhatChanged(poll, now());
    const seen = new Set<string>();
    if (changed) {
      for (const remote of changed) {
        const id = scalar(remote?.['service_request_id']);
        if (!id || !remote) continue;
        // Not in this poll's plan (past its first POLL_LIMIT): found by the id, if still polled.
        const refs =
          byId.get(id) ?? (await store.reports.find({ field: 'open311RemoteId', equals: id }, { limit: 10 })).filter((r) => r.open311Open).map((r) => r._id);
        seen.add(id);
        for (const ref of refs) await applySafely(poll, ref, remote, now());
      }
    }
    // The batches of ids go round every open request (the safety net when updated_after works).
    const limits = { perPoll: POLL_LIMIT, withUpdatedAfter: SWEEP_WITH_UPDATED_AFTER, batch: POLL_BATCH, ...deps.pollLimits };
    const sweep = [...byId.keys()].filter((id) => !seen.has(id)).slice(0, changed ? limits.withUpdatedAfter : limits.perPoll);
    await askByIds(poll, sweep, byId, missed, now, limits.batch);
  } catch (error) {
    poll.failure = `polling: ${error instanceof Error ? error.message : 'failed'}`.slice(0, 200);
  }
  try {
    if (poll.asked || poll.failure) await recordHealth(store, now(), poll.failure);
  } catch (error) {
    deps.logger.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'Open311 health not recorded');
  }
  if (poll.failure) deps.logger.warn({ error: poll.failure }, 'Open311 poll failed; trying again at the next poll');
  return { state: 'later', dueAt: new Date(now().getTime() + settings.pollMs) };
}

/** One poll's running state. */
interface PollRun {
  deps: Open311ClientDeps;
  /** The real clock at the start: the budget is about real time passing (the scheduler's timeout). */
  startedAt: number;
  budgetMs: number;
  /** The last exchange's failure, for the dashboard; cleared by a success after it. */
  failure: string | null;
  asked: boolean;
  /** Exchanges failed in a row: at FAILURES_TO_STOP the server is taken for down until the next poll. */
  failuresInARow: number;
}

function pollGoesOn(poll: PollRun): boolean {
  return Date.now() - poll.startedAt <= poll.budgetMs && poll.failuresInARow < FAILURES_TO_STOP;
}

/** One GET to the city's server, counted for the poll's health and its stop after failures in a row. */
async function pollExchange(poll: PollRun, path: string, query: URLSearchParams): Promise<Exchange> {
  const { settings } = poll.deps;
  if (settings.jurisdictionId) query.set('jurisdiction_id', settings.jurisdictionId);
  poll.asked = true;
  const result = await exchange(poll.deps, `${settings.endpoint}/${path}?${query.toString()}`, { headers: { accept: 'application/json' } });
  const broken = !result.ok || result.unreadable || !Array.isArray(result.body);
  if (broken && (!result.ok ? result.retryable : true)) {
    poll.failuresInARow += 1;
    poll.failure = `polling: ${result.ok ? (result.unreadable ? `answer ${result.status} is not JSON` : `answer ${result.status} is not a list`) : result.error}`;
  } else {
    poll.failuresInARow = 0;
    poll.failure = null;
  }
  return result;
}

/** What a poll asks about, in the order it asks. */
interface PollPlan {
  /** Open here and there, with a request id. */
  withId: ReportRecord[];
  /** Open here and there, with a token and no id yet (a batch service's answer). */
  tokenOnly: ReportRecord[];
}

/**
 * Reads the index: the requests asked about longest ago first (just forwarded ones before every
 * other), and those the city no longer knows that are due for their daily question. Reports
 * closed or merged here (staff keep their status) leave the index without being asked about.
 */
async function planPoll(store: Pick<Store, 'reports'>, at: Date, limit: number): Promise<PollPlan> {
  const known = await store.reports.find({ field: 'open311Open', equals: 'yes' }, { order: 'asc', limit });
  const unknown = (await store.reports.find({ field: 'open311Open', equals: 'unknown' }, { order: 'asc', limit: UNKNOWN_LIMIT })).filter(
    (report) => !report.open311PollAt || report.open311PollAt.getTime() <= at.getTime(),
  );
  const plan: PollPlan = { withId: [], tokenOnly: [] };
  // The few due unknown ones first, so a full plan of known ones never crowds out their daily question.
  for (const report of [...unknown, ...known]) {
    if (!stillPolled(report)) await leaveIndex(store, report._id);
    else if (report.open311Remote?.id) plan.withId.push(report);
    else plan.tokenOnly.push(report);
  }
  return plan;
}

/** Whether a report belongs in the poll: open here, not merged, with an id or a token to ask by. */
function stillPolled(report: ReportRecord): boolean {
  const remote = report.open311Remote;
  return Boolean(remote?.id || remote?.token) && statusGroupOf(report.status) === 'open' && !report.mergedInto;
}

/**
 * Turns tokens into request ids (`tokens/{token}.json`), TOKEN_LIMIT a poll at most: an id is kept
 * on the report (and asked about in this poll's batches), a token the server does not know (404)
 * counts as a miss, and an error for one token goes on to the next. Returns the new ids.
 */
async function resolveTokens(poll: PollRun, reports: readonly ReportRecord[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const { store, logger } = poll.deps;
  const now = poll.deps.now ?? (() => new Date());
  for (const report of reports.slice(0, TOKEN_LIMIT)) {
    if (!pollGoesOn(poll)) break;
    const token = report.open311Remote!.token!;
    const result = await pollExchange(poll, `tokens/${encodeURIComponent(token)}.json`, new URLSearchParams());
    const at = now();
    try {
      if (result.ok && Array.isArray(result.body)) {
        const items = result.body as Array<Record<string, unknown> | null>;
        // Ours by its token; a lone item that names no token is the answer too (servers may leave it
        // out). Never another request's: one listed under another token would be told as ours.
        const lone = items.length === 1 && scalar(items[0]?.['token']) === undefined ? items[0] : undefined;
        const item = items.find((each) => scalar(each?.['token']) === token) ?? lone;
        const id = scalar(item?.['service_request_id']);
        if (id) {
          await keepRemoteId(store, report._id, id, at);
          found.set(id, report._id);
        } else if (item)
          await markAsked(store, report._id, at, 'seen'); // Known there, no id yet (still being processed).
        else {
          logger.warn({ ref: report._id, listed: items.length }, 'Open311 token answer does not name the token');
          await markAsked(store, report._id, at, 'unanswered');
        }
      } else if (!result.ok && result.status === 404 && !result.retryable) await markAsked(store, report._id, at, 'missed');
      else {
        logger.warn({ ref: report._id, status: result.status }, 'Open311 token not resolved');
        await markAsked(store, report._id, at, 'unanswered');
      }
    } catch (error) {
      logger.warn({ ref: report._id, err: error instanceof Error ? error.message : 'unknown' }, 'Open311 token not recorded');
    }
  }
  return found;
}

/**
 * Asks about `ids` in batches of POLL_BATCH (`requests.json?service_request_id=a,b,c`), within the
 * budget. A request in an answer is applied (matched on its service_request_id, never by its place
 * in the list); one left out of a well-formed answer counts as a miss. A server found to ignore
 * the filter (its answer holds requests not asked about) is asked one request at a time
 * (`requests/{id}.json`) for the rest of the poll, and its answer counts no misses.
 */
async function askByIds(
  poll: PollRun,
  ids: readonly string[],
  byId: ReadonlyMap<string, readonly string[]>,
  missed: ReadonlyMap<string, number>,
  now: () => Date,
  batchSize: number,
): Promise<void> {
  const { logger } = poll.deps;
  const refsOf = (id: string) => byId.get(id) ?? [];
  const settle = async (id: string, outcome: Record<string, unknown> | AskOutcome) => {
    for (const ref of refsOf(id)) {
      if (typeof outcome === 'object') await applySafely(poll, ref, outcome, now());
      else await markSafely(poll, ref, now(), outcome);
    }
  };
  let oneByOne = false;
  let singles = 0;
  for (let start = 0; start < ids.length;) {
    if (!pollGoesOn(poll)) return;
    if (oneByOne) {
      if (singles++ >= SINGLE_LIMIT) return;
      const id = ids[start++]!;
      await settle(id, await askOne(poll, id));
      continue;
    }
    const batch = ids.slice(start, start + batchSize);
    start += batchSize;
    const result = await pollExchange(poll, 'requests.json', new URLSearchParams({ service_request_id: batch.join(',') }));
    if (!result.ok || result.unreadable || !Array.isArray(result.body)) {
      // Moved to the back: a batch the server always fails on must not hold up the rest.
      for (const ref of batch.flatMap(refsOf)) await markSafely(poll, ref, now(), 'unanswered');
      continue;
    }
    const answered = new Map<string, Record<string, unknown>>();
    let foreign = false;
    for (const remote of result.body as Array<Record<string, unknown> | null>) {
      const id = scalar(remote?.['service_request_id']);
      // Chicago's server lists requests still being processed with no id at all: nothing to match.
      if (!id || !remote) continue;
      if (batch.includes(id)) answered.set(id, remote);
      else foreign = true;
    }
    if (foreign && !oneByOne) {
      oneByOne = true;
      logger.warn({ asked: batch.length }, 'the city Open311 server ignores service_request_id; asking one request at a time');
    }
    for (const id of batch) {
      const remote = answered.get(id);
      if (remote) await settle(id, remote);
      // Left out of an answer that ignored the filter says nothing about it: asked again one by one later.
      else if (foreign) await settle(id, 'unanswered');
      // The miss that would make it unknown is checked by itself first: a server may cap its
      // answer below the batch (a page of 20), and what it left out is not gone.
      else if (refsOf(id).some((ref) => (missed.get(ref) ?? 0) + 1 >= MISSING_POLLS) && pollGoesOn(poll)) await settle(id, await askOne(poll, id));
      else await settle(id, 'missed');
    }
  }
}

/** Asks about one request (`requests/{id}.json`): the request, `missed` for the spec's 404, or `unanswered`. */
async function askOne(poll: PollRun, id: string): Promise<Record<string, unknown> | AskOutcome> {
  const result = await pollExchange(poll, `requests/${encodeURIComponent(id)}.json`, new URLSearchParams());
  const remote =
    result.ok && Array.isArray(result.body)
      ? (result.body as Array<Record<string, unknown> | null>).find((each) => scalar(each?.['service_request_id']) === id)
      : undefined;
  if (remote) return remote;
  return !result.ok && result.status === 404 && !result.retryable ? 'missed' : 'unanswered';
}

async function applySafely(poll: PollRun, ref: string, remote: Record<string, unknown>, at: Date): Promise<void> {
  try {
    await applyRemote(poll.deps, ref, remote, at);
  } catch (error) {
    poll.deps.logger.warn({ ref, err: error instanceof Error ? error.message : 'unknown' }, 'Open311 status not recorded');
  }
}

async function markSafely(poll: PollRun, ref: string, at: Date, outcome: AskOutcome): Promise<void> {
  try {
    await markAsked(poll.deps.store, ref, at, outcome);
  } catch (error) {
    poll.deps.logger.warn({ ref, err: error instanceof Error ? error.message : 'unknown' }, 'Open311 poll not recorded');
  }
}

/** What asking about a request came to, besides its status: seen there, left out, or no answer. */
type AskOutcome = 'seen' | 'missed' | 'unanswered';

/**
 * Moves a request to the back of the poll's order, and counts a miss: at MISSING_POLLS in a row it
 * is a request the city no longer knows (`open311Open: 'unknown'`, asked about once a day).
 */
async function markAsked(store: Pick<Store, 'reports'>, ref: string, at: Date, outcome: AskOutcome): Promise<void> {
  await updateReport(store, ref, (current) => {
    const remote = current.open311Remote;
    if (!remote || !current.open311Open) return null;
    if (outcome !== 'missed') {
      const { missedPolls: _missed, unknownSince: _since, ...rest } = remote;
      const seen = outcome === 'seen';
      return withPollAt(
        { ...current, open311Remote: seen ? rest : remote, ...(seen ? { open311Open: 'yes' as const } : {}) },
        seen || current.open311Open === 'yes' ? at : new Date(at.getTime() + UNKNOWN_POLL_MS),
      );
    }
    const missedPolls = (remote.missedPolls ?? 0) + 1;
    const unknown = missedPolls >= MISSING_POLLS;
    return withPollAt(
      {
        ...current,
        open311Remote: { ...remote, missedPolls, ...(unknown ? { unknownSince: remote.unknownSince ?? at } : {}) },
        open311Open: unknown ? 'unknown' : 'yes',
      },
      unknown ? new Date(at.getTime() + UNKNOWN_POLL_MS) : at,
    );
  });
}

/** The report with its next turn in the poll, and its remote id indexed (reports forwarded before the index had none). */
function withPollAt(report: ReportRecord, at: Date): ReportRecord {
  const id = report.open311Remote?.id;
  return { ...report, open311PollAt: at, ...(id ? { open311RemoteId: id } : {}) };
}

/** Keeps the request id a token turned into (asked about by it from now on). */
async function keepRemoteId(store: Pick<Store, 'reports'>, ref: string, id: string, at: Date): Promise<void> {
  await updateReport(store, ref, (current) => {
    const remote = current.open311Remote;
    if (!remote || remote.id) return null;
    const { missedPolls: _missed, unknownSince: _since, ...rest } = remote;
    return withPollAt({ ...current, open311Remote: { ...rest, id }, ...(current.open311Open ? { open311Open: 'yes' as const } : {}) }, at);
  });
}

/** What the poll keeps between runs (meta `open311:poll`): where `updated_after` asks from, and whether it works. */
export interface Open311PollState {
  /** The start of the last poll whose `updated_after` answer was taken in (ISO). */
  since?: string;
  /** Set when the server refused or ignored `updated_after` (ISO), with why; `auto` tries again a day later. */
  updatedAfterFailedAt?: string;
  updatedAfterFailure?: string;
}

/** The meta record with the poll's state (see `Open311PollState`). */
export const POLL_STATE_ID = 'open311:poll';

/**
 * Asks `requests.json?updated_after=` what changed since the last poll (minus an overlap: clocks
 * differ, and a change saved while we asked is not lost), when OPEN311_UPDATED_AFTER says so.
 * Returns the changed requests, or null when the batches must do it all: off, an outage, a 400
 * (refused), an answer that ignores it (a request updated before `since`, or one whose
 * `updated_datetime` cannot be read: nothing then says the rest is all there), or a full page
 * (more may have changed than one answer holds). The state is written revision-checked, so two
 * polls at once keep one of theirs rather than a mix.
 */
async function askWhatChanged(poll: PollRun, at: Date): Promise<Array<Record<string, unknown> | null> | null> {
  const { store, settings, logger } = poll.deps;
  if (settings.updatedAfter === 'off' || !pollGoesOn(poll)) return null;
  const stored = await store.meta.get(POLL_STATE_ID);
  const state = (typeof stored?.value === 'object' && stored.value !== null ? stored.value : {}) as Open311PollState;
  const failedAt = state.updatedAfterFailedAt ? Date.parse(state.updatedAfterFailedAt) : NaN;
  if (settings.updatedAfter === 'auto' && at.getTime() - failedAt < UPDATED_AFTER_RETRY_MS) return null;
  // From the last poll that took it in, but never more than a day back (turned on again after a
  // month, it would ask for a month of changes): what is older, the round of batches finds.
  const from = Math.max(state.since ? Date.parse(state.since) || 0 : at.getTime() - settings.pollMs, at.getTime() - UPDATED_AFTER_MAX_AGE_MS);
  const since = new Date(from - UPDATED_AFTER_OVERLAP_MS);
  const result = await pollExchange(poll, 'requests.json', new URLSearchParams({ updated_after: since.toISOString() }));
  let failure: string | null = null;
  if (!result.ok) {
    if (result.retryable) return null; // An outage: the batches find out too, and nothing is learned.
    failure = `refused (${result.status ?? 'no status'})`;
  } else if (result.unreadable || !Array.isArray(result.body)) failure = 'answered with no list';
  else {
    const list = result.body as Array<Record<string, unknown> | null>;
    if (list.length >= FULL_PAGE) {
      logger.info({ answered: list.length }, 'updated_after answered a full page; the batches ask about every request this time');
      return null;
    }
    const ignored = list.some((remote) => {
      const updated = remote?.['updated_datetime'];
      return typeof updated !== 'string' || !ZONED_DATETIME.test(updated.trim()) || Date.parse(updated) < since.getTime();
    });
    if (ignored) failure = 'ignored (an answer with requests not updated since)';
    else {
      await writePollState(store, { ...state, since: at.toISOString() });
      return list;
    }
  }
  logger.info({ failure }, 'the city Open311 server does not take updated_after; asking by ids');
  await writePollState(store, { ...state, updatedAfterFailedAt: at.toISOString(), updatedAfterFailure: failure });
  return null;
}

/** An ISO 8601 date-time with its zone (a date-time without one cannot be compared with ours). */
const ZONED_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

async function writePollState(store: Pick<Store, 'meta'>, value: Open311PollState): Promise<void> {
  const current = await store.meta.get(POLL_STATE_ID);
  if (!current) await store.meta.insert({ _id: POLL_STATE_ID, value });
  else await store.meta.replace({ _id: POLL_STATE_ID, value }, current._rev);
}

/** The poll's state (for the dashboard and tests). */
export async function readPollState(store: Pick<Store, 'meta'>): Promise<Open311PollState> {
  const value = (await store.meta.get(POLL_STATE_ID))?.value;
  return typeof value === 'object' && value !== null ? (value as Open311PollState) : {};
}

/** Takes a report out of the poll's index (closed or merged here, or nothing to poll it by). */
async function leaveIndex(store: Pick<Store, 'reports'>, ref: string): Promise<void> {
  await updateReport(store, ref, (current) => {
    if (!current.open311Open || stillPolled(current)) return null;
    const { open311Open: _open, open311PollAt: _at, ...rest } = current;
    return rest;
  });
}

/** The longest city note told and kept, so a resident is never texted pages: a staff note's (reports.routes.ts). */
const NOTE_MAX = 1000;

/**
 * `text` without the control characters a server may refuse (CivicLine's own does: a 400 for
 * good), each a space: residents paste them (a word processor's line break is a vertical tab).
 */
function plainText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, ' ').trim();
}

/** `text` cut to `max` characters (with an ellipsis, never half a character). */
function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

/** A status change to apply, as the city's server shows it. */
interface RemoteChange {
  closed: boolean;
  note?: string;
  status: ReportRecord['status'];
}

/**
 * Applies one request as the city's server shows it. The change is taken in first (the city's
 * status and notes recorded on the report, revision-checked, with its last read) and applied after,
 * by the poll whose write won: two polls at once (or one the scheduler re-ran after its timeout)
 * apply one change and tell the resident once. A crash between the two loses that change (the
 * resident is not told) rather than telling it twice. Seen, the request is no longer missing and
 * goes to the back of the poll's order.
 */
async function applyRemote(deps: Open311ClientDeps, ref: string, remote: Record<string, unknown>, at: Date): Promise<void> {
  const closed = remote['status'] === 'closed';
  const remoteStatus = closed ? 'closed' : 'open';
  const notes = typeof remote['status_notes'] === 'string' ? cutText(remote['status_notes'].trim(), NOTE_MAX) : '';
  const taken: { change?: RemoteChange } = {};
  await updateReport(deps.store, ref, (current) => {
    delete taken.change;
    const remoteNow = current.open311Remote;
    if (!remoteNow) return null;
    const newStatus = closed && (remoteNow.appliedStatus ?? 'open') !== 'closed';
    const newNotes = notes.length > 0 && notes !== remoteNow.lastNotes;
    // Staff who closed, fixed or merged it here already keep their status.
    const openHere = statusGroupOf(current.status) === 'open' && !current.mergedInto;
    // Closed there while open here: closed, with the city's notes (Open311's "closed" is also a
    // duplicate, not the city's, won't fix: never claimed as fixed). Open there with new notes: an
    // update with the same status.
    if (openHere && (newStatus || newNotes))
      taken.change = { closed: newStatus, status: newStatus ? 'closed' : current.status, ...(newNotes ? { note: notes } : {}) };
    const { open311Open: _open, open311PollAt: _at, ...rest } = current;
    const { missedPolls: _missed, unknownSince: _since, ...remoteRest } = remoteNow;
    const next: ReportRecord = {
      ...rest,
      open311Remote: { ...remoteRest, appliedStatus: remoteStatus, lastPolledAt: at, ...(notes ? { lastNotes: notes } : {}) },
    };
    return closed || !openHere ? next : withPollAt({ ...next, open311Open: 'yes' }, at);
  });
  const change = taken.change;
  if (!change) return;
  // Staff may change the report between the two writes: the city's closing applies only while it
  // is still open here (a fix staff made stays a fix), and a note comes with the status the report
  // has when it is applied (an in-progress staff set is not set back to open), read again if it moved.
  let status = change.status;
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    try {
      const guard = change.closed ? { onlyIfOpen: true } : { onlyIfStatus: status };
      await changeReportStatus(deps.staff(), ref, { status, ...guard, ...(change.note ? { note: change.note } : {}) }, OPEN311_ACTOR, at);
      return;
    } catch (error) {
      const current = error instanceof StaffError && error.status === 409 && !change.closed ? await deps.store.reports.get(ref) : null;
      // Closed, fixed or merged here meanwhile: staff's status stands, and the city's note is not told.
      if (current && statusGroupOf(current.status) === 'open' && !current.mergedInto) {
        status = current.status;
        continue;
      }
      if (!(error instanceof StaffError && error.status === 409))
        deps.logger.warn({ ref, err: error instanceof Error ? error.message : 'unknown' }, 'Open311 status change not applied');
      return;
    }
  }
}
