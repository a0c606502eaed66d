/**
 * Duplicates on the staff pages (issue 18): the "likely duplicates" page (`/admin/duplicates`),
 * the merge form's route (`POST /admin/reports/:ref/merge`), and the parts of a report's page
 * about merging: "Merged into R-…", what was merged into it, and its possible duplicates with a
 * button to merge either way. Residents' words (places) only go through `html`'s escaping; links
 * are built from references, which the store's keys and the route's pattern keep to `R-XXXXX`.
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import { HttpError } from '../../../core/errors.js';
import type { ReportRecord } from '../../../domain/records.js';
import { likelyDuplicates, type DuplicateGroup, type ReportDuplicates } from '../../../staff/report-duplicates.js';
import { mergeReports } from '../../../staff/report-merge.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, field, formFields, humanize, sendPage, timeOf } from './layout.js';

/** Forms on staff pages are small; a bigger body is refused with 413. */
const formParser = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });
const REF_PATTERN = /^[A-Za-z]-?[A-Za-z0-9]{5}$/;
/** Groups on the likely duplicates page. */
const GROUPS_SHOWN = 100;

/** The page routes: the likely duplicates, and the merge form. */
export function reportMergePages(service: Service): Router {
  const router = express.Router();

  router.get('/duplicates', async (_req, res) => {
    const groups = await likelyDuplicates(service.staff.store, { radiusM: service.config.duplicateRadiusM, limit: GROUPS_SHOWN });
    sendPage(
      res,
      { title: 'Likely duplicates', section: 'duplicates', actor: actorOf(res), cityName: service.config.cityName },
      likelyDuplicatesView(groups, actorOf(res), service.config.cityTimeZone),
    );
  });

  router.post('/reports/:ref/merge', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const into = refOf(field(formFields(req.body), 'into'), 400);
    // A refusal (a chain, a closed report) is the error page's, with its message and a 409.
    const result = await mergeReports(service.staff, into, ref, actorOf(res));
    res.redirect(303, `/admin/reports/${encodeURIComponent(result.kept._id)}?done=merged`);
  });

  return router;
}

/** The likely duplicates page's content: each group, oldest report first, the others mergeable into it. */
export function likelyDuplicatesView(groups: readonly DuplicateGroup[], actor: StaffActor, timeZone: string): SafeHtml {
  return html`<h1>Likely duplicates</h1>
    <p class="muted">
      Open reports of one category close together or at the same place, among the 500 newest open reports. Open one to compare, or merge a newer one into the
      oldest: its reporter and followers then follow the oldest and are told once.
    </p>
    ${
      groups.length === 0
        ? html`<p class="muted">No likely duplicates among the open reports.</p>`
        : groups.map((group) => {
            const [first] = group.reports;
            return html`<section class="card duplicate-group" aria-label="${first ? `Reports like ${first._id}` : 'Reports'}">
              <p>
                <strong>${humanize(String(first?.category ?? ''))}</strong>, ${group.reports.length} reports
                <span class="muted"
                  >(${group.match === 'point' ? 'close together' : group.match === 'place' ? 'at the same place' : 'close together or at the same place'})</span
                >
              </p>
              ${reportsTable(group.reports, timeZone, (report) =>
                first && report._id !== first._id
                  ? mergeButton(actor, report._id, first._id, `Merge ${report._id} into ${first._id}`)
                  : html`<span class="muted">Oldest</span>`,
              )}
            </section>`;
          })
    }`;
}

/** "Merged into R-…" at the top of a merged report's page. */
export function mergedIntoNotice(duplicates: ReportDuplicates | undefined): SafeHtml {
  const into = duplicates?.mergedInto;
  if (!into) return html``;
  return html`<p class="card merged-into" role="status">
    Merged into <a href="/admin/reports/${encodeURIComponent(into._id)}">${into._id}</a>
    <span class="badge ${into.statusGroup}">${humanize(into.status)}</span>. Its reporter and followers follow ${into._id} now.
  </p>`;
}

/** What was merged into a report, and the open reports that may be the same problem, with merge buttons. */
export function duplicatesSection(report: ReportRecord, duplicates: ReportDuplicates | undefined, actor: StaffActor, timeZone: string): SafeHtml {
  if (!duplicates) return html``;
  const merged = duplicates.mergedHere.length
    ? html`<h2>Merged into this report</h2>
        <ul class="merged-here">
          ${duplicates.mergedHere.map(
            (each) =>
              html`<li>
                <a href="/admin/reports/${encodeURIComponent(each._id)}">${each._id}</a>
                <span class="muted">made ${timeOf(each.createdAt, timeZone)} (${each.channel})</span>
              </li>`,
          )}
        </ul>`
    : html``;
  if (report.statusGroup !== 'open' || report.mergedInto) return merged;
  const suggestions = duplicates.suggestions;
  return html`${merged}
    <h2>Possible duplicates</h2>
    <section class="card possible-duplicates">
      ${
        suggestions.length === 0
          ? html`<p class="muted">No other open ${humanize(String(report.category)).toLowerCase()} report nearby or at this place.</p>`
          : reportsTable(
              suggestions.map((s) => s.report),
              timeZone,
              (other) =>
                html`${mergeButton(actor, report._id, other._id, `Merge into ${other._id}`)}
                ${mergeButton(actor, other._id, report._id, `Merge ${other._id} into this one`)}`,
              new Map(suggestions.map((s) => [s.report._id, s.match === 'point' ? `${Math.round(s.distanceM ?? 0)} m away` : 'Same place'])),
            )
      }
    </section>`;
}

function reportsTable(
  reports: readonly ReportRecord[],
  timeZone: string,
  action: (report: ReportRecord) => SafeHtml,
  why?: ReadonlyMap<string, string>,
): SafeHtml {
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Reference</th>
        <th scope="col">Status</th>
        <th scope="col">Made</th>
        <th scope="col">Location</th>
        ${why ? html`<th scope="col">Why</th>` : ''}
        <th scope="col">Merge</th>
      </tr>
    </thead>
    <tbody>
      ${reports.map(
        (report) =>
          html`<tr>
            <td><a href="/admin/reports/${encodeURIComponent(report._id)}">${report._id}</a></td>
            <td><span class="badge ${report.statusGroup}">${humanize(report.status)}</span></td>
            <td>${timeOf(report.createdAt, timeZone)}</td>
            <td>${report.location.text ?? (report.location.point ? 'GPS point' : '')}</td>
            ${why ? html`<td>${why.get(report._id) ?? ''}</td>` : ''}
            <td>${action(report)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** A one-button form that merges `from` into `into`. */
function mergeButton(actor: StaffActor, from: string, into: string, label: string): SafeHtml {
  return html`<form class="inline" method="post" action="/admin/reports/${encodeURIComponent(from)}/merge">
    ${csrfField(actor)}<input type="hidden" name="into" value="${into}" /><button type="submit">${label}</button>
  </form>`;
}

/** A reference from the path or a form, normalised; a 404 (path) or 400 (form) when it cannot be one. */
function refOf(value: unknown, status: 400 | 404 = 404): string {
  if (typeof value !== 'string' || !REF_PATTERN.test(value)) throw new HttpError(status, status === 404 ? 'No such report' : 'Choose a report to merge into');
  const compact = value.toUpperCase().replace('-', '');
  return `${compact.charAt(0)}-${compact.slice(1)}`;
}
