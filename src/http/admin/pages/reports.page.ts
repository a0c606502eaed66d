/**
 * The reports pages: the list with its filter form, queues ("mine", "unassigned", "overdue"),
 * text search and CSV export (`/admin/reports`), one report in full with its transcript excerpt,
 * photos, location, updates and internal notes (`/admin/reports/:ref`), and its forms: change the
 * status and tell the resident (a canned response of the report's category in the resident's
 * language may fill the note), assign it, route it to a department, add an internal note.
 *
 * Descriptions, locations, notes and transcript lines are residents' words: they only ever go
 * through `html`'s escaping. Links and images built from stored data are built by this code from
 * checked parts (numbers, a media id, an https URL), never by pasting a stored string into a URL.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Service } from '../../../service.js';
import type { GeoPoint, MediaRef } from '../../../core/message.js';
import { REPORT_CHANNELS } from '../../../domain/report-channels.js';
import type { StatusGroup, TranscriptEntryRecord } from '../../../domain/records.js';
import type { CannedReplyRecord, ReportRecord, StaffUserRecord, VolunteerRoleRecord } from '../../../domain/records.js';
import { cannedRepliesForReport, cannedReplyText } from '../../../staff/handoff-desk.js';
import {
  changeReportStatus,
  findReports,
  reportDetail,
  reportStatuses,
  SCAN_LIMIT,
  type ReportDetail,
  type StatusChangeResult,
} from '../../../staff/report-desk.js';
import { addInternalNote, MAX_INTERNAL_NOTE_LENGTH } from '../../../staff/report-notes.js';
import { assignReport, routeReport, routingOf, routingTable, type RoutingTable } from '../../../staff/report-routing.js';
import { MAX_QUERY_LENGTH } from '../../../staff/report-search.js';
import { maskAddress } from '../../../staff/role-desk.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { filterOf, reportQuery, statusBody } from '../reports.routes.js';
import { toCityLocalInput } from '../../../domain/city-time.js';
import { HttpError } from '../../../core/errors.js';
import { reportPinFrame, reportPinMap } from './map.page.js';
import { reopenedFlag, surveyAnswersView } from './report-surveys.view.js';
import { duplicatesSection, mergedIntoNotice } from './report-merge.page.js';
import { MAX_ROLE_REPORTS, rolesFromReport } from '../../../staff/love-your-block.js';
import { reportDuplicates, type ReportDuplicates } from '../../../staff/report-duplicates.js';
import { open311ForwardState, type Open311ForwardState } from '../../../staff/open311-forward-state.js';
import {
  checked,
  csrfField,
  errorList,
  field,
  flashOf,
  formFields,
  groupAndCategorySelects,
  humanize,
  issuesOf,
  lines,
  options,
  sendPage,
  timeOf,
  type Flash,
} from './layout.js';

/** Forms on staff pages are small; a bigger body is refused with 413. */
const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 });

/** What each `done` code after a status change says. */
const STATUS_FLASH: Readonly<Record<string, string>> = {
  notified: 'Status changed. The resident was told on their channel.',
  outbox: 'Status changed. The message to the resident is in the local outbox (the SMS channel has no credentials).',
  saved: 'Status changed. The resident was not told, as you asked.',
  not_reachable: 'Status changed. The resident could not be told: they opted out, deleted their data, or their channel is off.',
  notify_failed: 'Status changed, but telling the resident failed. The report shows it as not notified.',
  assigned: 'Assignment saved.',
  routed: 'Department saved.',
  noted: 'Internal note added. The resident does not see it.',
  merged: 'Merged into this report. Its reporter and followers follow this one now, and are told once.',
};

const FILTER_KEYS = ['status', 'statusGroup', 'category', 'channel', 'maxAgeDays', 'minAgeDays', 'queue', 'department', 'overdue', 'q'] as const;
const REF_PATTERN = /^[A-Za-z]-?[A-Za-z0-9]{5}$/;

/** The report page routes. */
export function reportPages(service: Service): Router {
  const router = express.Router();
  const frame = (res: Parameters<typeof actorOf>[0], title: string, flash?: Flash) => ({
    title,
    section: 'reports' as const,
    actor: actorOf(res),
    cityName: service.config.cityName,
    ...(flash ? { flash } : {}),
  });

  router.get('/reports', async (req, res) => {
    // Only the filter's own keys are read, and blank fields (an untouched select) mean "any".
    const raw = req.query as Record<string, unknown>;
    const values = Object.fromEntries(FILTER_KEYS.flatMap((key) => (raw[key] === undefined || raw[key] === '' ? [] : [[key, raw[key]]])));
    const query = reportQuery.safeParse(values);
    const now = new Date();
    const base = { filter: stringValues(values), timeZone: service.config.cityTimeZone, now };
    if (!query.success) {
      const routing = await routingTable(service.staff);
      return sendPage(res, frame(res, 'Reports'), reportListView({ ...base, reports: [], routing, bounded: false, errors: issuesOf(query.error) }), 400);
    }
    const listing = await findReports(service.staff, filterOf(query.data, actorOf(res).username), now);
    sendPage(res, frame(res, 'Reports'), reportListView({ ...base, reports: listing.reports, routing: listing.routing, bounded: listing.bounded, errors: [] }));
  });

  router.get('/reports/:ref', async (req, res) => {
    await sendDetail(req, res, refOf(req.params.ref));
  });

  router.post('/reports/:ref/assign', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const username = field(formFields(req.body), 'username') ?? '';
    try {
      await assignReport(service.staff, ref, username || null, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return sendDetail(req, res, ref, { errors: [error.message] }, 400);
    }
    res.redirect(303, `/admin/reports/${encodeURIComponent(ref)}?done=assigned`);
  });

  router.post('/reports/:ref/route', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const department = field(formFields(req.body), 'department') ?? '';
    try {
      await routeReport(service.staff, ref, department || null, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return sendDetail(req, res, ref, { errors: [error.message] }, 400);
    }
    res.redirect(303, `/admin/reports/${encodeURIComponent(ref)}?done=routed`);
  });

  router.post('/reports/:ref/notes', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const text = field(formFields(req.body), 'text') ?? '';
    try {
      await addInternalNote(service.staff, ref, text, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return sendDetail(req, res, ref, { errors: [error.message], internalNote: text }, 400);
    }
    res.redirect(303, `/admin/reports/${encodeURIComponent(ref)}?done=noted`);
  });

  router.post('/reports/:ref/status', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const fields = formFields(req.body);
    const typed = field(fields, 'note') ?? '';
    const cannedId = field(fields, 'canned') ?? '';
    // Without the page's script, a canned response picked and nothing typed is the note.
    const canned = !typed && cannedId ? await cannedReplyText(service.staff, cannedId) : undefined;
    const form = { status: field(fields, 'status') ?? '', note: typed || canned || '', notify: fields.has('notify') };
    const change = statusBody.safeParse({ status: form.status, ...(form.note ? { note: form.note } : {}), notify: form.notify });
    let errors: string[];
    if (change.success) {
      try {
        const result = await changeReportStatus(service.staff, ref, change.data, actorOf(res));
        return res.redirect(303, `/admin/reports/${encodeURIComponent(result.report._id)}?done=${doneCode(result)}`);
      } catch (error) {
        // An unknown status is the form's problem: shown with the form. Anything else (no such
        // report) is the error page's.
        if (!(error instanceof StaffError) || error.status !== 400) throw error;
        errors = [error.message];
      }
    } else {
      errors = issuesOf(change.error);
    }
    await sendDetail(req, res, ref, { errors, form }, 400);
  });

  /** The report page, with what its forms offer (staff to assign, departments, canned responses). */
  async function sendDetail(
    req: Request,
    res: Response,
    ref: string,
    state: { errors: readonly string[]; form?: StatusForm; internalNote?: string } = { errors: [] },
    status = 200,
  ): Promise<void> {
    const detail = await reportDetail(service.staff, ref);
    const { report } = detail;
    const [routing, canned, staff, duplicates, cityState, volunteerRoles] = await Promise.all([
      routingTable(service.staff),
      cannedRepliesForReport(service.staff, String(report.category), report.locale),
      activeStaff(service),
      reportDuplicates(service.staff, ref),
      open311ForwardState(service.store, report, service.config.open311Client !== null),
      rolesFromReport(service.staff, report._id),
    ]);
    // The report's pin on a small map (its files, when it has a point), and the canned-response filler.
    const pinFrame = reportPinFrame(service.config, report);
    sendPage(
      res,
      {
        ...frame(res, report._id, status === 200 ? flashOf(req.query, STATUS_FLASH) : undefined),
        ...pinFrame,
        scripts: [...(pinFrame.scripts ?? []), '/admin/assets/canned-fill.js'],
      },
      reportDetailView(
        detail,
        { ...viewContext(service, req, actorOf(res)), duplicates, open311: cityState, volunteerRoles },
        {
          errors: state.errors,
          form: state.form ?? { status: report.status, note: '', notify: true },
          internalNote: state.internalNote ?? '',
          work: { routing, canned, staff, now: new Date() },
        },
      ),
      status,
    );
  }

  return router;
}

/** Active staff accounts, admins first, for the assignment select. */
async function activeStaff(service: Service): Promise<StaffUserRecord[]> {
  const [admins, coordinators] = await Promise.all(
    (['admin', 'coordinator'] as const).map((role) => service.store.staffUsers.find({ field: 'role', equals: role }, { limit: 500 })),
  );
  return [...(admins ?? []), ...(coordinators ?? [])].filter((user) => user.active);
}

/** What the status form holds. */
export interface StatusForm {
  status: string;
  note: string;
  notify: boolean;
}

/** What the report page offers for working the report: the routing table, canned responses, staff. */
export interface ReportWork {
  routing: RoutingTable;
  /** Canned replies of the report's category in the resident's language. */
  canned: readonly CannedReplyRecord[];
  staff: readonly StaffUserRecord[];
  now: Date;
}

/** What the detail view needs besides the report. */
export interface ReportViewContext {
  actor: StaffActor;
  timeZone: string;
  /** The origins photos uploaded to our own web chat are served from (PUBLIC_URL, this host). */
  ownOrigins: readonly string[];
  /** Its merges and possible duplicates (report pages only; report-merge.page.ts). */
  duplicates?: ReportDuplicates;
  /** Where it stands with the city's Open311 server (report pages only; null: forwarding off and never forwarded). */
  open311?: Open311ForwardState | null;
  /** The volunteer roles made from it (Love Your Block), for "Volunteers: V-…". */
  volunteerRoles?: readonly Pick<VolunteerRoleRecord, '_id' | 'title' | 'status'>[];
}

/** Where photos of this request's host are served from, and the city's time zone, for a report or transcript view. */
export function viewContext(service: Service, req: Request, actor: StaffActor): ReportViewContext {
  const origins = [`${req.protocol}://${req.get('host') ?? ''}`];
  if (service.config.publicUrl) origins.push(new URL(service.config.publicUrl).origin);
  return { actor, timeZone: service.config.cityTimeZone, ownOrigins: origins };
}

/** The queues above the list: each a link to the list with that one filter. */
const QUEUES: readonly { label: string; query: string; is: (filter: Record<string, string>) => boolean }[] = [
  { label: 'All reports', query: '', is: (f) => Object.keys(f).length === 0 },
  { label: 'Mine', query: '?queue=mine', is: (f) => f['queue'] === 'mine' },
  { label: 'Unassigned', query: '?queue=unassigned', is: (f) => f['queue'] === 'unassigned' },
  { label: 'Overdue', query: '?overdue=true', is: (f) => f['overdue'] === 'true' || f['overdue'] === 'on' },
];

/** How many days back the export form starts by default. */
const EXPORT_DEFAULT_DAYS = 30;

/** The list page's content. */
export function reportListView(view: {
  filter: Record<string, string>;
  reports: ReportRecord[];
  routing: RoutingTable;
  /** The indexed read reached SCAN_LIMIT: older reports were not looked at. */
  bounded: boolean;
  timeZone: string;
  now: Date;
  errors: readonly string[];
}): SafeHtml {
  const { filter, routing, now } = view;
  const statuses = reportStatuses();
  const any = { value: '', label: 'Any' };
  const overdue = filter['overdue'] === 'true' || filter['overdue'] === 'on';
  const today = toCityLocalInput(now, view.timeZone).slice(0, 10);
  const monthAgo = toCityLocalInput(new Date(now.getTime() - EXPORT_DEFAULT_DAYS * 86_400_000), view.timeZone).slice(0, 10);
  return html`<h1>Reports</h1>
    <nav aria-label="Queues">
      <ul class="queues">
        ${QUEUES.map(
          (queue) => html`<li><a href="/admin/reports${queue.query}" ${queue.is(filter) ? html`aria-current="page"` : html``}>${queue.label}</a></li>`,
        )}
        <li><a href="/admin/routing">Departments and targets</a></li>
      </ul>
    </nav>
    <form class="filters" method="get" action="/admin/reports" aria-label="Filter reports">
      <label class="search"
        >Search
        <input type="search" name="q" maxlength="${MAX_QUERY_LENGTH}" value="${filter['q'] ?? ''}" placeholder="Reference, words, street, category" />
      </label>
      <label
        >Queue
        <select name="queue">
          ${options([any, { value: 'mine', label: 'Mine (open)' }, { value: 'unassigned', label: 'Unassigned (open)' }], filter['queue'])}
        </select>
      </label>
      <label
        >Department
        <select name="department">
          ${options([any, ...routing.departments.map((d) => ({ value: d.id, label: d.name }))], filter['department'])}
        </select>
      </label>
      <label
        >Status
        <select name="status">
          ${options([any, ...statuses.map((s) => ({ value: s.status, label: `${humanize(s.status)} (${s.group})` }))], filter['status'])}
        </select>
      </label>
      ${groupAndCategorySelects(filter)}
      <label
        >Channel
        <select name="channel">
          ${options([any, ...REPORT_CHANNELS.map((c) => ({ value: c, label: c }))], filter['channel'])}
        </select>
      </label>
      <label>Made within (days) <input type="number" name="maxAgeDays" min="0" max="3650" value="${filter['maxAgeDays'] ?? ''}" /></label>
      <label>Waiting at least (days) <input type="number" name="minAgeDays" min="0" max="3650" value="${filter['minAgeDays'] ?? ''}" /></label>
      <label class="check"><input type="checkbox" name="overdue" value="true" ${checked(overdue)} /> Overdue only</label>
      <button type="submit">Filter</button>
      <a href="/admin/reports">Clear</a>
    </form>
    <p class="hint muted">
      Search looks at the reference, description, location and category of the newest ${SCAN_LIMIT.toLocaleString('en-US')} reports the other filters select; a
      reference is found however old.
    </p>
    ${errorList(view.errors)}
    ${
      view.reports.length === 0
        ? html`<p class="muted">No reports match.</p>`
        : html`<table>
            <caption class="muted">
              ${view.reports.length} report${view.reports.length === 1 ? '' : 's'}, ${overdue ? 'longest overdue first' : 'newest first'}
            </caption>
            <thead>
              <tr>
                <th scope="col">Select</th>
                <th scope="col">Reference</th>
                <th scope="col">Category</th>
                <th scope="col">Status</th>
                <th scope="col">Department</th>
                <th scope="col">Assignee</th>
                <th scope="col">Made</th>
                <th scope="col">Due</th>
                <th scope="col">Location</th>
              </tr>
            </thead>
            <tbody>
              ${view.reports.map((report) => {
                const work = routingOf(report, routing, now);
                return html`<tr ${work.overdue ? html`class="overdue"` : html``}>
                  <td>
                    ${
                      report.statusGroup === 'open' && !report.mergedInto
                        ? html`<input type="checkbox" form="make-role" name="reports" value="${report._id}" aria-label="Select ${report._id}" />`
                        : ''
                    }
                  </td>
                  <td><a href="/admin/reports/${encodeURIComponent(report._id)}">${report._id}</a></td>
                  <td>${humanize(report.category)}</td>
                  <td><span class="badge ${report.statusGroup}">${humanize(report.status)}</span> ${reopenedFlag(report)}</td>
                  <td>${work.department?.name ?? html`<span class="muted">-</span>`}</td>
                  <td>${report.assignee ?? html`<span class="muted">nobody</span>`}</td>
                  <td>${timeOf(report.createdAt, view.timeZone)}</td>
                  <td>${dueView(work, report.statusGroup, view.timeZone)}</td>
                  <td>${report.location.text ?? (report.location.point ? 'GPS point' : '')}</td>
                </tr>`;
              })}
            </tbody>
          </table>`
    }
    ${view.reports.some((report) => report.statusGroup === 'open') ? makeRoleForm() : ''}
    ${
      view.bounded
        ? html`<p class="notice" role="status">
            Searched the newest ${SCAN_LIMIT.toLocaleString('en-US')} reports these filters select: older ones were not looked at. Narrow the list with a
            category, status or queue to reach further back.
          </p>`
        : ''
    }
    <section class="card">
      <h2>Export as CSV</h2>
      <form class="filters" method="get" action="/admin/api/reports.csv" aria-label="Export reports">
        <label>From <input type="date" name="from" required value="${monthAgo}" /></label>
        <label>To <input type="date" name="to" required value="${today}" /></label>
        ${(['status', 'statusGroup', 'category', 'channel', 'department'] as const).map((key) =>
          filter[key] ? html`<input type="hidden" name="${key}" value="${filter[key]}" />` : '',
        )}
        <button type="submit" class="secondary">Download CSV</button>
      </form>
      <p class="hint muted">
        Reports made in those days (city time) with this page's status, category, channel and department filters. No resident's number or address is in the
        file. At most 10,000 reports, newest first; for a longer period, export a category or a status at a time.
      </p>
    </section>`;
}

/** "Make a volunteer role from these": the form the list's checkboxes belong to (Love Your Block). */
function makeRoleForm(): SafeHtml {
  return html`<form id="make-role" class="actions" method="get" action="/admin/roles/from-reports" aria-label="Make a volunteer role">
    <button type="submit" class="secondary">Make a volunteer role from these</button>
    <span class="hint muted">Tick open reports (at most ${MAX_ROLE_REPORTS}): graffiti in one neighbourhood, litter along one street…</span>
  </form>`;
}

/** When a report is due, and "Overdue" once it is open past its category's target. */
function dueView(work: ReturnType<typeof routingOf>, group: StatusGroup, timeZone: string): SafeHtml {
  if (group !== 'open') return html`<span class="muted">-</span>`;
  return work.overdue ? html`<span class="badge overdue">Overdue</span> ${timeOf(work.dueAt, timeZone)}` : timeOf(work.dueAt, timeZone);
}

/** The detail page's content, with its forms (re-filled and with errors after a refusal). */
export function reportDetailView(
  detail: ReportDetail,
  context: ReportViewContext,
  state: { errors: readonly string[]; form: StatusForm; internalNote: string; work: ReportWork },
): SafeHtml {
  const { report, updates, transcript } = detail;
  const { timeZone } = context;
  const { work } = state;
  const groups: StatusGroup[] = ['open', 'fixed', 'closed'];
  const statuses = reportStatuses();
  const ref = encodeURIComponent(report._id);
  const routing = routingOf(report, work.routing, work.now);
  const formState = state;
  return html`<p><a href="/admin/reports">&larr; All reports</a></p>
    <h1>
      ${report._id} <span class="badge ${report.statusGroup}">${humanize(report.status)}</span>
      ${routing.overdue ? html`<span class="badge overdue">Overdue</span>` : ''} ${reopenedFlag(report, timeZone)}
    </h1>
    ${errorList(state.errors)} ${mergedIntoNotice(context.duplicates)}
    <section class="card">
      <dl class="facts">
        <dt>Category</dt>
        <dd>${humanize(report.category)}</dd>
        <dt>Department</dt>
        <dd data-field="department">
          ${
            routing.department
              ? html`${routing.department.name} <span class="muted">(${routing.routedByHand ? 'routed by hand' : 'by its category'})</span>`
              : html`<span class="muted">None: no department handles ${humanize(report.category).toLowerCase()}</span>`
          }
        </dd>
        <dt>Assigned to</dt>
        <dd data-field="assignee">${report.assignee ?? html`<span class="muted">nobody</span>`}</dd>
        <dt>Target</dt>
        <dd>
          ${routing.targetDays} day${routing.targetDays === 1 ? '' : 's'}:
          ${report.statusGroup === 'open' ? html`due ${timeOf(routing.dueAt, timeZone)}${routing.overdue ? html` <strong>(overdue)</strong>` : ''}` : 'no longer open'}
        </dd>
        <dt>Description</dt>
        <dd>${lines(report.description)}</dd>
        <dt>Location</dt>
        <dd>${report.location.text ?? html`<span class="muted">No address given</span>`}</dd>
        ${
          context.volunteerRoles?.length
            ? html`<dt>Volunteers</dt>
                <dd data-field="volunteers">
                  ${context.volunteerRoles.map(
                    (role, i) =>
                      html`${i > 0 ? ', ' : ''}<a href="/admin/roles/${encodeURIComponent(role._id)}">${role._id}</a>
                        ${role.title}${role.status === 'closed' ? ' (closed)' : ''}`,
                  )}
                </dd>`
            : ''
        }
        ${
          report.location.point &&
          html`<dt>GPS point</dt>
            <dd>${pointView(report.location.point)} ${reportPinMap(report)}</dd>`
        }
        ${
          report.open311
            ? html`<dt>Posted through Open311</dt>
                <dd>
                  by key <a href="/admin/audit?actor=${encodeURIComponent(`open311:${report.open311.keyId}`)}">${report.open311.keyId}</a>
                  <span class="muted">(no resident to tell: status changes are served back through Open311)</span>
                </dd>
                ${
                  report.open311.mediaUrl
                    ? html`<dt>Media link</dt>
                        <dd>
                          <a href="${report.open311.mediaUrl}" rel="noopener noreferrer nofollow" target="_blank">${report.open311.mediaUrl}</a>
                          <span class="muted">(the client's link, not checked)</span>
                        </dd>`
                    : ''
                }
                ${(report.open311.attributes ?? []).map(
                  (a) =>
                    html`<dt>${humanize(a.code)}</dt>
                      <dd>${a.value}</dd>`,
                )}`
            : html`<dt>Resident</dt>
                <dd>${maskAddress(report.residentAddress)} ${detail.residentReachable ? '' : html`<span class="muted">(cannot be reached)</span>`}</dd>`
        }
        <dt>Channel</dt>
        <dd>${report.channel}</dd>
        ${
          context.open311
            ? html`<dt>City 311 system</dt>
                <dd data-field="open311">${open311StateView(context.open311, timeZone)}</dd>`
            : ''
        }
        <dt>Language</dt>
        <dd>${report.locale}</dd>
        <dt>Made</dt>
        <dd>${timeOf(report.createdAt, timeZone)}</dd>
        <dt>Last change</dt>
        <dd>${timeOf(report.updatedAt, timeZone)}</dd>
        ${
          report.fixedAt &&
          html`<dt>Fixed</dt>
            <dd>${timeOf(report.fixedAt, timeZone)}</dd>`
        }
      </dl>
    </section>

    <div class="actions">
      <form method="post" action="/admin/reports/${ref}/assign" aria-label="Assign">
        ${csrfField(context.actor)}
        <label
          >Assign to
          <select name="username" id="assignee">
            ${options(
              [{ value: '', label: 'nobody' }, ...work.staff.map((user) => ({ value: user.username, label: `${user.displayName} (${user.username})` }))],
              report.assignee ?? '',
            )}
          </select></label
        >
        <button type="submit" class="secondary">Assign</button>
      </form>
      <form method="post" action="/admin/reports/${ref}/route" aria-label="Route">
        ${csrfField(context.actor)}
        <label
          >Department
          <select name="department" id="department">
            ${options(
              [{ value: '', label: 'By its category' }, ...work.routing.departments.map((d) => ({ value: d.id, label: d.name }))],
              report.department && routing.routedByHand ? report.department : '',
            )}
          </select></label
        >
        <button type="submit" class="secondary">Route</button>
      </form>
    </div>

    <h2>Photos</h2>
    ${
      report.photos.length === 0
        ? html`<p class="muted">No photos.</p>`
        : html`<ul>
            ${report.photos.map((photo, i) => html`<li>${mediaView(photo, i + 1, context.ownOrigins, report._id)}</li>`)}
          </ul>`
    }
    ${duplicatesSection(report, context.duplicates, context.actor, timeZone)}

    <h2>Change the status</h2>
    <section class="card">
      <form class="stack" method="post" action="/admin/reports/${ref}/status">
        ${csrfField(context.actor)}
        <label for="status">Status</label>
        <select id="status" name="status" required>
          ${groups.map(
            (group) =>
              html`<optgroup label="${humanize(group)}">
                ${options(
                  statuses.filter((s) => s.group === group).map((s) => ({ value: s.status, label: humanize(s.status) })),
                  formState.form.status,
                )}
              </optgroup>`,
          )}
        </select>
        ${
          work.canned.length > 0
            ? html`<label for="canned"
                  >Canned response <span class="hint">(${humanize(report.category).toLowerCase()}, in the resident's language: ${report.locale})</span></label
                >
                <select id="canned" name="canned" data-fills="note">
                  <option value="">Write my own</option>
                  ${work.canned.map((reply) => html`<option value="${reply._id}" data-text="${reply.text}">${reply.title}</option>`)}
                </select>`
            : ''
        }
        <label for="note"
          >Note
          <span class="hint"
            >(optional; the resident and everyone following the report read it, and it is published as the request's status_notes at /open311: use an internal
            note for anything else)</span
          ></label
        >
        <textarea id="note" name="note" maxlength="1000">${formState.form.note}</textarea>
        <label
          ><input type="checkbox" name="notify" value="on" ${checked(formState.form.notify)} /> Notify the resident
          ${detail.residentReachable ? '' : html`<span class="hint">(they cannot be reached now: opted out or deleted their data)</span>`}</label
        >
        <div class="actions"><button type="submit">Save status</button></div>
      </form>
    </section>

    ${surveyAnswersView(detail.surveys, timeZone)}
    <h2>Internal note</h2>
    <section class="card">
      <form class="stack" method="post" action="/admin/reports/${ref}/notes">
        ${csrfField(context.actor)}
        <label for="internal-note"
          >Note for staff <span class="hint">(never sent to the resident, never shown to anyone asking for the report's status)</span></label
        >
        <textarea id="internal-note" name="text" maxlength="${MAX_INTERNAL_NOTE_LENGTH}">${state.internalNote}</textarea>
        <div class="actions"><button type="submit" class="secondary">Add internal note</button></div>
      </form>
    </section>

    <h2>Updates</h2>
    ${
      updates.length === 0
        ? html`<p class="muted">No updates yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Status</th>
                <th scope="col">Note</th>
                <th scope="col">Resident told</th>
              </tr>
            </thead>
            <tbody>
              ${updates.map(
                (update, u) =>
                  html`<tr ${update.internal ? html`class="internal"` : html``}>
                    <td>${timeOf(update.at, timeZone)}</td>
                    <td>${update.by === 'staff' ? (update.staff ?? 'staff') : update.by === 'resident' ? 'Resident' : 'CivicLine'}</td>
                    <td>${update.internal ? html`<span class="badge internal">Internal note</span>` : update.status ? humanize(update.status) : ''}</td>
                    <td>
                      ${update.notFixed ? html`<strong>A resident says it is not fixed: reopened.</strong>` : ''} ${lines(update.note)}
                      ${
                        update.photos?.length
                          ? html`<ul>
                              ${update.photos.map(
                                (photo, i) =>
                                  html`<li>${mediaView(photo, report.photos.length + photosBefore(updates, u) + i + 1, context.ownOrigins, report._id)}</li>`,
                              )}
                            </ul>`
                          : ''
                      }
                    </td>
                    <td>${update.internal ? 'No (internal)' : update.notified === undefined ? '' : update.notified ? 'Yes' : 'No'}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }

    <h2>Conversation</h2>
    ${transcriptView(transcript, context)}`;
}

/**
 * A conversation's transcript, oldest first: the resident's words (escaped, as everything),
 * the bot's replies, and what staff wrote from the inbox, under their username.
 */
export function transcriptView(transcript: readonly TranscriptEntryRecord[], context: Pick<ReportViewContext, 'timeZone' | 'ownOrigins'>): SafeHtml {
  const { timeZone } = context;
  return transcript.length === 0
    ? html`<p class="muted">No transcript (the resident may have deleted their data).</p>`
    : html`<ol class="transcript card">
        ${transcript.map(
          (entry) =>
            html`<li class="${entry.direction === 'in' ? 'in' : entry.staff ? 'staff' : 'out'}">
              <strong>${entry.direction === 'in' ? 'Resident' : entry.staff ? `${entry.staff} (staff)` : 'CivicLine'}</strong>
              <span class="muted">${timeOf(entry.at, timeZone)}</span>
              <div>${lines(entry.text)}</div>
              ${entry.location && html`<div>Shared location: ${pointView(entry.location)}</div>`}
              ${
                entry.media?.length
                  ? html`<ul>
                      ${entry.media.map((m, i) => html`<li>${mediaView(m, i + 1, context.ownOrigins, null)}</li>`)}
                    </ul>`
                  : ''
              }
            </li>`,
        )}
      </ol>`;
}

/**
 * A GPS point as numbers and an OpenStreetMap link. The link is built from the numbers alone
 * (checked finite and in range), so nothing a channel or resident sent can become a URL; the
 * point's label is text.
 */
export function pointView(point: GeoPoint): SafeHtml {
  const { lat, lon } = point;
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return html`<span class="muted">Not a valid point</span>`;
  const la = lat.toFixed(6);
  const lo = lon.toFixed(6);
  return html`${la}, ${lo} ${point.label ? html`(${point.label})` : ''}
    <a href="https://www.openstreetmap.org/?mlat=${la}&amp;mlon=${lo}#map=18/${la}/${lo}" rel="noopener noreferrer" target="_blank">Open in OpenStreetMap</a>`;
}

/** What the outbox did with the report, in words; the city's ids, reasons and notes are escaped like residents' words. */
function open311StateView(state: Open311ForwardState, timeZone: string): SafeHtml {
  switch (state.kind) {
    case 'waiting':
      return state.failures > 0
        ? html`<strong>Waiting</strong>: the city's server could not be reached (${String(state.failures)}
            tr${state.failures === 1 ? 'y' : 'ies'}${state.lastError ? html`, last: ${state.lastError}` : ''}); next try ${timeOf(state.nextTry, timeZone)}`
        : html`<strong>Waiting</strong> to be sent (due ${timeOf(state.nextTry, timeZone)})`;
    case 'refused':
      return html`<strong>Refused</strong> ${timeOf(state.at, timeZone)}: ${state.reason} <span class="muted">(not sent again; the report goes on here)</span>`;
    case 'forwarded': {
      const as = state.id
        ? html`as request <code>${state.id}</code>`
        : state.token
          ? html`with token <code>${state.token}</code> <span class="muted">(no request id yet)</span>`
          : html`<span class="muted">with no request id</span>`;
      const readBack = state.lastPolledAt
        ? html`; last read back ${timeOf(state.lastPolledAt, timeZone)}: ${state.cityStatus ?? 'open'}${state.cityNotes ? html` (“${state.cityNotes}”)` : ''}`
        : state.id
          ? html`; <span class="muted">not read back yet</span>`
          : '';
      return state.unreadable
        ? html`<strong>Forwarded</strong> ${timeOf(state.sentAt, timeZone)}, but <strong>the city's answer was unreadable</strong>
            <span class="muted">(filed there, not sent again; with no request id its status cannot be read back)</span>`
        : html`<strong>Forwarded</strong> ${timeOf(state.sentAt, timeZone)} ${as}${readBack}`;
    }
    case 'not-sent':
      return html`<span class="muted"
        >${
          state.why === 'came-from-open311'
            ? 'Not forwarded: it came in through Open311'
            : state.why === 'closed-here-first'
              ? 'Not sent: closed or merged here before it could be'
              : state.why === 'cancelled'
                ? 'Not sent: cancelled'
                : 'Not forwarded: made before forwarding was on'
        }</span
      >`;
  }
}

/** How many photos the updates before the u-th one carry. */
function photosBefore(updates: readonly { photos?: readonly MediaRef[] }[], u: number): number {
  return updates.slice(0, u).reduce((sum, update) => sum + (update.photos?.length ?? 0), 0);
}

/** How a stored photo can be shown: our own file inline, a provider's https URL as a link, or neither. */
export type MediaDisplay = { kind: 'own'; path: string } | { kind: 'fetched' } | { kind: 'link'; href: string } | { kind: 'none' };

/**
 * Decides how to show a photo. Only photos our own web chat stored (`/v3/directline/media/<id>`
 * on one of our origins) are put in an `<img>`, and by a path this code builds from the id: an
 * `<img src>` is fetched the moment the page opens, so a URL from anywhere else would let
 * whoever controls it learn when staff look (and the CSP would block it anyway). Provider URLs
 * (Twilio's MMS media) are links, and only when they are https; anything else (a Telegram file
 * id, another scheme) is not made clickable at all.
 */
export function mediaDisplay(url: string, ownOrigins: readonly string[]): MediaDisplay {
  const own = /^(?<origin>https?:\/\/[^/?#]+)?\/v3\/directline\/media\/(?<id>[A-Za-z0-9_-]{8,64})$/.exec(url);
  if (own?.groups) {
    const origin = own.groups['origin'];
    if (origin === undefined || ownOrigins.some((o) => o.toLowerCase() === origin.toLowerCase()))
      return { kind: 'own', path: `/v3/directline/media/${own.groups['id']}` };
  }
  // Telegram files and Twilio media need the bot's token or the account's credentials: the
  // dashboard fetches them (GET /admin/api/reports/:ref/photos/:n), so neither reaches a browser.
  if (url.startsWith('telegram-file:')) return { kind: 'fetched' };
  if (url.startsWith('https://')) {
    try {
      const parsed = new URL(url);
      if (parsed.hostname === 'api.twilio.com' && !parsed.username) return { kind: 'fetched' };
      if (parsed.protocol === 'https:' && !parsed.username && !parsed.password) return { kind: 'link', href: parsed.href };
    } catch {
      return { kind: 'none' };
    }
  }
  return { kind: 'none' };
}

/** A photo: `n` counts the report's photos and then its updates' (the photo endpoint's numbering). */
function mediaView(media: MediaRef, n: number, ownOrigins: readonly string[], ref: string | null): SafeHtml {
  const shown = mediaDisplay(media.url, ownOrigins);
  switch (shown.kind) {
    case 'own':
      return html`<a href="${shown.path}" target="_blank" rel="noopener"><img class="photo" src="${shown.path}" alt="Photo ${n} from the resident" /></a>`;
    case 'fetched': {
      // The transcript's copy of a photo: the report's own list above shows it.
      if (ref === null) return html`<span>Photo ${n} (${media.contentType}): shown with the report's photos</span>`;
      const path = `/admin/api/reports/${encodeURIComponent(ref)}/photos/${n}`;
      return html`<a href="${path}" target="_blank" rel="noopener"
        ><img class="photo" src="${path}" alt="Photo ${n} from the resident (fetched from the channel)"
      /></a>`;
    }
    case 'link':
      return html`<a href="${shown.href}" rel="noopener noreferrer nofollow" target="_blank">Photo ${n} (${media.contentType}) at the provider</a>`;
    case 'none':
      return html`<span>Photo ${n} (${media.contentType}): kept by the channel, not viewable here</span>`;
  }
}

function doneCode(result: StatusChangeResult): string {
  const { state, reason } = result.notification;
  if (state === 'sent') return 'notified';
  if (state === 'outbox') return 'outbox';
  if (state === 'skipped') return reason === 'not_requested' ? 'saved' : 'not_reachable';
  return 'notify_failed';
}

/** A report reference from the path, normalised (`r7k3qx` → `R-7K3QX`); a 404 when it cannot be one. */
function refOf(value: unknown): string {
  if (typeof value !== 'string' || !REF_PATTERN.test(value)) throw new HttpError(404, 'No such report');
  const compact = value.toUpperCase().replace('-', '');
  return `${compact.charAt(0)}-${compact.slice(1)}`;
}

function stringValues(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
