/**
 * Service requests through Open311 GeoReport v2 (issue 19): reports as the spec's requests, the
 * `GET requests` query, and filing a request another system POSTs.
 *
 * What a request shows, decided (GET is public: no key is needed to read, as the spec has it):
 * - **Never a resident**: not their channel address, phone number or name (the POST's
 *   `first_name`, `last_name`, `email`, `phone` and `device_id` are not even stored), and not the
 *   key that posted it.
 * - **Never a `description`** (always `null`). A chat resident's description is their own words
 *   to the city ("the pothole outside my house, call me on 555...") and they were never told it
 *   would be published. A description posted through Open311 is often a caller's words typed by
 *   an agent ("Caller: Jenny Smith, 555-...") and a name cannot be told from other words, so
 *   scrubbing cannot make it safe either. FixMyStreet publishes descriptions, but moderates them
 *   first; CivicLine has no moderation step, so it publishes none. The posting client keeps
 *   what it sent; staff see it in the dashboard.
 * - **`address` is the report's place** (the text the resident or client gave, or the
 *   geocoder's street address for its point), `lat`/`long` its point: where the problem is.
 * - **`media_url` only for Open311 requests** (the link their client gave). Residents' photos are
 *   theirs and stay behind the staff dashboard.
 * - `status` is `open` for CivicLine's open group and `closed` for fixed and closed;
 *   `status_notes` is the note of the latest status change staff made with one (what the
 *   reporter was told), never an internal note or a resident's reply; `agency_responsible` is
 *   the department (src/staff/report-routing.ts) and `expected_datetime`, while open, the
 *   category's target.
 *
 * Reading: the store answers equality reads, newest first, with a limit. `GET requests` reads
 * through the category index (per `service_code`) or the status-group index, from `end_date`
 * down (the store's `find ... from`), in growing rounds until it has the page, reached
 * `start_date`, or read REQUEST_SCAN_LIMIT reports per index; a page beyond what that finds is
 * empty. Dates filter `requested_datetime`.
 */
import { isoWithOffset } from '../domain/city-time.js';
import { createHash, randomBytes } from 'node:crypto';
import type { GeoPoint } from '../core/message.js';
import type { Translator } from '../core/i18n.js';
import type { Open311KeyRecord, ReportRecord } from '../domain/records.js';
import { newReference } from '../domain/reference.js';
import { withOpenReportKeys } from '../domain/open-report-keys.js';
import { statusGroupOf } from '../domain/report-status.js';
import { locateReport } from '../pipeline/already-reported.js';
import type { Geocoder } from '../pipeline/geocoder.js';
import type { Store } from '../store/store.port.js';
import { recordAudit } from './audit-log.js';
import { open311Actor } from './open311-keys.js';
import { serviceName } from './open311-services.js';
import { routingOf, routingTable, type RoutingTable } from './report-routing.js';

/** One service request as the spec names its fields; absent values are null. */
// A type rather than an interface: the XML writer takes it as a plain record of values.
export type Open311Request = {
  service_request_id: string;
  status: 'open' | 'closed';
  status_notes: string | null;
  service_name: string;
  service_code: string;
  description: string | null;
  agency_responsible: string | null;
  service_notice: string | null;
  requested_datetime: string;
  updated_datetime: string;
  expected_datetime: string | null;
  address: string | null;
  address_id: string | null;
  zipcode: string | null;
  lat: number | null;
  long: number | null;
  media_url: string | null;
};

/** What serving requests needs. */
export interface Open311Deps {
  store: Store;
  i18n: Translator;
  config: { cityTimeZone: string; defaultLocale: string };
  geocoder: Geocoder | null;
}

/** The spec's default window when no dates are given. */
export const DEFAULT_WINDOW_DAYS = 90;
/** The spec's default (and here the largest) number of requests answered at once. */
export const MAX_PAGE_SIZE = 1000;
/** The most reports one `GET requests` reads per index before it stops looking further back. */
export const REQUEST_SCAN_LIMIT = 10_000;
/** The most ids one `service_request_id` list may name. */
export const MAX_IDS = 100;
/** A POST repeated with the same key and the same fields within this window answers the first one's id. */
export const REPEAT_WINDOW_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

/** A `GET requests` query, already checked. */
export interface Open311Query {
  /** `service_request_id`: these requests, every other filter ignored (the spec). */
  ids?: string[];
  serviceCodes?: string[];
  statuses?: ('open' | 'closed')[];
  start?: Date;
  end?: Date;
  /** From 1. */
  page: number;
  pageSize: number;
}

/** A report as an Open311 request (see the module comment for what is shown). */
export function toOpen311Request(report: ReportRecord, context: { i18n: Translator; routing: RoutingTable; timeZone: string; now: Date }): Open311Request {
  const open = report.statusGroup === 'open';
  const facts = routingOf(report, context.routing, context.now);
  const point = report.location.point;
  const fromOpen311 = report.channel === 'open311' && report.open311 !== undefined;
  return {
    service_request_id: report._id,
    status: open ? 'open' : 'closed',
    status_notes: report.statusNote ?? null,
    service_name: serviceName(context.i18n, String(report.category)),
    service_code: String(report.category),
    description: null,
    agency_responsible: facts.department?.name ?? null,
    service_notice: null,
    requested_datetime: isoWithOffset(report.createdAt, context.timeZone),
    updated_datetime: isoWithOffset(report.updatedAt, context.timeZone),
    expected_datetime: open ? isoWithOffset(facts.dueAt, context.timeZone) : null,
    address: report.location.text ?? point?.label ?? null,
    address_id: null,
    zipcode: null,
    lat: point ? point.lat : null,
    long: point ? point.lon : null,
    media_url: fromOpen311 ? (report.open311?.mediaUrl ?? null) : null,
  };
}

/** The requests a query selects, newest first, as one page. */
export async function findOpen311Requests(deps: Open311Deps, query: Open311Query, now: Date = new Date()): Promise<Open311Request[]> {
  const routing = await routingTable(deps);
  const context = { i18n: deps.i18n, routing, timeZone: deps.config.cityTimeZone, now };
  if (query.ids) {
    const found = await Promise.all([...new Set(query.ids.map((id) => id.toUpperCase()))].map((id) => deps.store.reports.get(id)));
    return found.filter((report) => report !== null).map((report) => toOpen311Request(report, context));
  }
  const end = query.end ?? now;
  const start = query.start ?? new Date(end.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS);
  const wanted = query.page * query.pageSize;
  const statuses = new Set(query.statuses ?? ['open', 'closed']);
  const codes = query.serviceCodes ? new Set(query.serviceCodes) : null;
  const reads: { field: 'category' | 'statusGroup'; equals: string }[] = codes
    ? [...codes].map((code) => ({ field: 'category' as const, equals: code }))
    : [
        ...(statuses.has('open') ? [{ field: 'statusGroup' as const, equals: 'open' }] : []),
        ...(statuses.has('closed') ? ['fixed', 'closed'].map((group) => ({ field: 'statusGroup' as const, equals: group })) : []),
      ];
  const matches = (report: ReportRecord) => {
    const made = report.createdAt.getTime();
    return (
      made >= start.getTime() &&
      made <= end.getTime() &&
      statuses.has(report.statusGroup === 'open' ? 'open' : 'closed') &&
      (!codes || codes.has(String(report.category)))
    );
  };
  // Growing rounds: most queries are about the recent past and need one small read.
  let limit = Math.min(Math.max(wanted * 2, 200), REQUEST_SCAN_LIMIT);
  for (;;) {
    // From end_date down: a window a year back is read from its own edge, not from today.
    const results = await Promise.all(reads.map((where) => deps.store.reports.find(where, { order: 'desc', limit, from: end })));
    const seen = new Set<string>();
    const selected = results
      .flat()
      .filter((report) => !seen.has(report._id) && seen.add(report._id) && matches(report))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a._id < b._id ? -1 : 1));
    // Done when an index has no more, or went back past the window's start, for every read.
    const exhausted = results.every((records) => records.length < limit || (records.at(-1)?.createdAt.getTime() ?? 0) < start.getTime());
    if (selected.length >= wanted || exhausted || limit >= REQUEST_SCAN_LIMIT) {
      return selected.slice((query.page - 1) * query.pageSize, wanted).map((report) => toOpen311Request(report, context));
    }
    limit = Math.min(limit * 4, REQUEST_SCAN_LIMIT);
  }
}

/** One request, or null. */
export async function getOpen311Request(deps: Open311Deps, id: string, now: Date = new Date()): Promise<Open311Request | null> {
  return (await findOpen311Requests(deps, { ids: [id], page: 1, pageSize: 1 }, now))[0] ?? null;
}

/** The request a POST's token stands for, or null. */
export async function requestIdOfToken(deps: Pick<Open311Deps, 'store'>, token: string): Promise<string | null> {
  const [report] = await deps.store.reports.find({ field: 'open311Token', equals: token }, { limit: 1 });
  return report?._id ?? null;
}

/** A POST's fields, already checked. */
export interface Open311Post {
  serviceCode: string;
  point?: GeoPoint;
  addressString?: string;
  description?: string;
  mediaUrl?: string;
  attributes: { code: string; value: string }[];
}

/** What a POST filed (or, repeated, had filed). */
export interface Open311PostResult {
  serviceRequestId: string;
  token: string;
  /** A repeat of a POST within REPEAT_WINDOW_MS: nothing new was filed. */
  repeated: boolean;
}

/** The idempotency claim a POST leaves in `meta`: which report it filed, and when. */
interface PostClaim {
  ref: string;
  token: string;
  at: number;
}

/**
 * Files a POSTed request as a report like any other (staff see it in every list, the duplicate
 * check offers it to residents nearby), from the key's system: no resident, so status changes
 * reach nobody and are served back. Audited under the key (`open311.request`).
 *
 * Open311 has no idempotency key, and a client whose connection dropped retries: the same key
 * posting the same fields within REPEAT_WINDOW_MS gets the first request's id instead of a
 * second report. The claim is inserted before the report (insert-if-absent), so two identical
 * POSTs at once file once too.
 */
export async function postOpen311Request(deps: Open311Deps, key: Open311KeyRecord, post: Open311Post, now: Date = new Date()): Promise<Open311PostResult> {
  const { store } = deps;
  const claimId = `open311-post|${key._id}|${createHash('sha256').update(JSON.stringify(post)).digest('base64url')}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await store.meta.get(claimId);
    const claim = existing?.value as PostClaim | undefined;
    // A claim whose report never appeared (the process died between the two writes) is stale
    // after a short while, or a retry would be answered with a request nobody can find.
    const live = claim && now.getTime() - claim.at < REPEAT_WINDOW_MS && (now.getTime() - claim.at < 30_000 || (await store.reports.get(claim.ref)) !== null);
    if (existing && claim && live) {
      await recordAudit(
        store,
        { actor: open311Actor(key._id), action: 'open311.request', target: claim.ref, details: { service_code: post.serviceCode, repeated: true } },
        now,
      );
      return { serviceRequestId: claim.ref, token: claim.token, repeated: true };
    }
    let ref = newReference('R');
    while (await store.reports.get(ref)) ref = newReference('R');
    const next: PostClaim = { ref, token: randomBytes(16).toString('base64url'), at: now.getTime() };
    const claimed = existing ? await store.meta.replace({ _id: claimId, value: next }, existing._rev) : await store.meta.insert({ _id: claimId, value: next });
    // Another POST of the same fields claimed it meanwhile: answer as it does.
    if (!claimed) continue;
    try {
      await fileReport(deps, key, post, next, now);
    } catch (error) {
      // Not filed: the claim goes, or a retry within the window would be answered with the id of
      // a request that does not exist (the client's first POST got a 5xx, its retry a 200).
      await store.meta.delete(claimId).catch(() => undefined);
      throw error;
    }
    await recordAudit(store, { actor: open311Actor(key._id), action: 'open311.request', target: ref, details: { service_code: post.serviceCode } }, now);
    return { serviceRequestId: ref, token: next.token, repeated: false };
  }
  throw new Error('An Open311 POST kept being claimed by others');
}

async function fileReport(deps: Open311Deps, key: Open311KeyRecord, post: Open311Post, claim: PostClaim, now: Date): Promise<void> {
  const locale = deps.config.defaultLocale;
  const location = await locateReport(
    deps.geocoder,
    { ...(post.addressString ? { locationText: post.addressString } : {}), ...(post.point ? { point: post.point } : {}) },
    locale,
  );
  const report = withOpenReportKeys<Omit<ReportRecord, '_rev'>>({
    _id: claim.ref,
    category: post.serviceCode,
    status: 'open',
    statusGroup: statusGroupOf('open'),
    location,
    // Required on every report; a client that sent none files the service's name, as staff would.
    description: post.description ?? serviceName(deps.i18n, post.serviceCode),
    photos: [],
    residentAddress: open311Actor(key._id),
    channel: 'open311',
    locale,
    createdAt: now,
    updatedAt: now,
    open311: { keyId: key._id, ...(post.mediaUrl ? { mediaUrl: post.mediaUrl } : {}), ...(post.attributes.length ? { attributes: post.attributes } : {}) },
    open311Token: claim.token,
  });
  if (!(await deps.store.reports.insert(report))) throw new Error(`Report ${claim.ref} exists already`);
  await deps.store.reportUpdates.insert({ _id: `${claim.ref}|0`, reportId: claim.ref, status: 'open', by: 'system', at: now });
}
