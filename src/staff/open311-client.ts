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
 *   reads the forwarded requests not closed there, 50 ids per
 *   `requests.json?service_request_id=...`, within a time budget, and applies a `closed` (the
 *   report is closed, with the city's notes) or new `status_notes` through `changeReportStatus`,
 *   once per change however many polls run at once.
 *
 * **Sent once.** The job id names the report and the job is `once`; the scheduler's lease keeps
 * two instances from running it together; a report already carrying `open311Remote` is never
 * POSTed again. What remains: GeoReport v2 has no idempotency key, so a POST whose answer never
 * came (a timeout, a dropped connection) may have been filed, and its retry files it again. We
 * wait long for an answer (`timeoutMs`, 30 s by default) so this needs a server that takes longer
 * than that to answer and still files the request, and accept that rare duplicate (the city's
 * staff merge it, as they merge two residents' reports of one pothole): searching the server for
 * the lost request cannot work, as servers need not serve a request's description (ours does not).
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
}

/** Ids per `requests.json?service_request_id=` (servers cap their answers; 50 stays under every cap seen). */
export const POLL_BATCH = 50;
/** Forwarded open requests read per poll, at most (the oldest first; the rest the next time). */
const POLL_LIMIT = 5000;
/** A poll starts no batch past this (the scheduler's run timeout is 5 min; a batch takes at most `timeoutMs` more). */
const POLL_BUDGET_MS = 60_000;
const WRITE_ATTEMPTS = 5;
/** A forward's wait after its first outage, doubled after each next one up to the most. */
const FORWARD_BACKOFF_MS = 30_000;
const FORWARD_BACKOFF_MAX_MS = 10 * 60_000;
/** GeoReport v2 gives no limit; FixMyStreet and CivicLine's own server keep to a few thousand characters. */
const DESCRIPTION_MAX = 4000;
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

/** The city server's health, and how many reports wait to be forwarded (for the dashboard). */
export async function open311Status(store: Pick<Store, 'meta' | 'jobs'>): Promise<Open311Health & { waiting: number }> {
  const value = (await store.meta.get(HEALTH_ID))?.value;
  const health = typeof value === 'object' && value !== null ? (value as Open311Health) : {};
  // Pending jobs by due time is the scheduler's own index; a backlog past this shows as "at least".
  const pending = await store.jobs.find({ field: 'state', equals: 'pending' }, { order: 'asc', limit: 2000 });
  return { ...health, waiting: pending.filter((job) => job.kind === OPEN311_FORWARD_JOB).length };
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
  if (text) form.set('address_string', text);
  if (!point && !text) return null;
  // The resident's words: this is the city's own system, its staff need them to act.
  form.set('description', report.description.slice(0, DESCRIPTION_MAX));
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
    await recordForwardFailure(store, job, failures, `city Open311 server ${result.error}`);
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
          // Polled by its id only: a token-only answer (a batch service) would stay in the index for ever.
          ...(id ? { open311Open: 'yes' as const } : {}),
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
 * off), with the error for staff; the scheduler's own settling re-reads the job, so this write
 * and its lease renewals do not clash.
 */
async function recordForwardFailure(store: Pick<Store, 'jobs'>, job: JobRecord, failures: number, error: string): Promise<void> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await store.jobs.get(job._id);
    if (!current || current.state !== 'running' || current.claimedBy !== job.claimedBy) return;
    const next: JobRecord = { ...current, payload: { ...current.payload, failures, error: error.slice(0, 200) } };
    if (await store.jobs.replace(next, current._rev)) return;
  }
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
 * One poll: reads the forwarded requests still open there, applies what changed, and comes back
 * after OPEN311_POLL_SECONDS whatever happened. It never fails (an outage, a store error: recorded,
 * never the end of polling) and keeps to a time budget, well inside the scheduler's run timeout,
 * so it is never cut off and run again while still running.
 */
export async function pollOpenRequests(deps: Open311ClientDeps): Promise<JobOutcome> {
  const { store, settings } = deps;
  const now = deps.now ?? (() => new Date());
  // The budget is about real time passing (the scheduler's timeout): the real clock.
  const startedAt = Date.now();
  const budgetMs = deps.pollBudgetMs ?? POLL_BUDGET_MS;
  let failure: string | null = null;
  let asked = false;
  try {
    const indexed = await store.reports.find({ field: 'open311Open', equals: 'yes' }, { order: 'asc', limit: POLL_LIMIT });
    // Closed or merged here (staff keep their status), or with no id to ask by: out of the index, not asked about.
    const open: ReportRecord[] = [];
    for (const report of indexed) {
      if (report.open311Remote?.id && statusGroupOf(report.status) === 'open' && !report.mergedInto) open.push(report);
      else await leaveIndex(store, report._id);
    }
    const byId = new Map(open.map((report) => [report.open311Remote!.id!, report._id] as const));
    const ids = [...byId.keys()];
    for (let start = 0; start < ids.length; start += POLL_BATCH) {
      if (Date.now() - startedAt > budgetMs) break;
      asked = true;
      const query = new URLSearchParams({ service_request_id: ids.slice(start, start + POLL_BATCH).join(',') });
      if (settings.jurisdictionId) query.set('jurisdiction_id', settings.jurisdictionId);
      const result = await exchange(deps, `${settings.endpoint}/requests.json?${query.toString()}`, { headers: { accept: 'application/json' } });
      if (!result.ok || result.unreadable) {
        failure = `polling: ${result.ok ? `answer ${result.status} is not JSON` : result.error}`;
        break;
      }
      for (const remote of Array.isArray(result.body) ? (result.body as Record<string, unknown>[]) : []) {
        const ref = byId.get(scalar(remote?.['service_request_id']) ?? '');
        if (!ref) continue;
        try {
          await applyRemote(deps, ref, remote, now());
        } catch (error) {
          deps.logger.warn({ ref, err: error instanceof Error ? error.message : 'unknown' }, 'Open311 status not recorded');
        }
      }
    }
  } catch (error) {
    failure = `polling: ${error instanceof Error ? error.message : 'failed'}`.slice(0, 200);
  }
  try {
    if (asked || failure) await recordHealth(store, now(), failure);
  } catch (error) {
    deps.logger.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'Open311 health not recorded');
  }
  if (failure) deps.logger.warn({ error: failure }, 'Open311 poll failed; trying again at the next poll');
  return { state: 'later', dueAt: new Date(now().getTime() + settings.pollMs) };
}

/** Takes a report out of the poll's index (closed or merged here, or nothing to poll it by). */
async function leaveIndex(store: Pick<Store, 'reports'>, ref: string): Promise<void> {
  await updateReport(store, ref, (current) => {
    if (!current.open311Open || (current.open311Remote?.id && statusGroupOf(current.status) === 'open' && !current.mergedInto)) return null;
    const { open311Open: _open, ...rest } = current;
    return rest;
  });
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
 * resident is not told) rather than telling it twice.
 */
async function applyRemote(deps: Open311ClientDeps, ref: string, remote: Record<string, unknown>, at: Date): Promise<void> {
  const closed = remote['status'] === 'closed';
  const remoteStatus = closed ? 'closed' : 'open';
  const notes = typeof remote['status_notes'] === 'string' ? remote['status_notes'].trim() : '';
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
    const { open311Open: _open, ...rest } = current;
    return {
      ...rest,
      ...(closed || !openHere ? {} : { open311Open: 'yes' as const }),
      open311Remote: { ...remoteNow, appliedStatus: remoteStatus, lastPolledAt: at, ...(notes ? { lastNotes: notes } : {}) },
    };
  });
  const change = taken.change;
  if (!change) return;
  try {
    await changeReportStatus(deps.staff(), ref, { status: change.status, ...(change.note ? { note: change.note } : {}) }, OPEN311_ACTOR, at);
  } catch (error) {
    deps.logger.warn({ ref, err: error instanceof Error ? error.message : 'unknown' }, 'Open311 status change not applied');
  }
}
