/**
 * The Love Your Block part of a role's page (issue 20): the reports the role was made from, its
 * volunteer call form and "Work done: close these reports". The routes are love-your-block.page.ts.
 */
import type { ReportRecord, VolunteerRoleRecord } from '../../../domain/records.js';
import { MAX_ANSWER_WINDOW_HOURS, MAX_MESSAGE_LENGTH, type AudiencePreview } from '../../../staff/broadcasts.js';
import type { StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, humanize } from './layout.js';

/**
 * The part of a role's page for a role made from reports: its reports with their statuses, the
 * volunteer call, and "Work done: close these reports" (checked against the role's revision).
 */
export function roleReportsSection(view: {
  role: Pick<VolunteerRoleRecord, '_id' | '_rev' | 'status' | 'neighbourhood'>;
  reports: ReportRecord[];
  /** The residents behind the reports, counted as a call would plan them. */
  reach?: Pick<AudiencePreview, 'total' | 'sendable'>;
  actor: StaffActor;
  locales: readonly string[];
  defaultLocale: string;
  answerWindowHours: number;
}): SafeHtml {
  const { role } = view;
  const ref = encodeURIComponent(role._id);
  const open = view.reports.filter((report) => report.statusGroup === 'open').length;
  return html`<h2 id="from-reports">From reports (Love Your Block)</h2>
    ${reportTable(view.reports)}
    ${
      role.status === 'open'
        ? html`<section class="card">
            <h3 id="volunteer-call">Volunteer call</h3>
            <form class="stack" method="post" action="/admin/roles/${ref}/call" aria-labelledby="volunteer-call">
              ${csrfField(view.actor)}
              <fieldset>
                <legend>Send it to</legend>
                <label class="check"
                  ><input type="checkbox" name="reporters" value="on" checked /> Residents who reported or follow these reports (each once; not those who opted
                  out)${view.reach ? html`: <span data-field="reach">${view.reach.sendable} of ${view.reach.total} reachable</span>` : ''}</label
                >
                <label class="check"
                  ><input type="checkbox" name="nearby" value="on" checked /> Residents who opted in to volunteer calls and live in ${role.neighbourhood}</label
                >
              </fieldset>
              ${view.locales.map(
                (locale) =>
                  html`<label for="call_${locale}"
                      >Message (${locale})${locale === view.defaultLocale ? '' : html` <span class="hint">(optional)</span>`}</label
                    >
                    <textarea
                      id="call_${locale}"
                      name="message_${locale}"
                      maxlength="${MAX_MESSAGE_LENGTH}"
                      ${locale === view.defaultLocale ? html`required` : html``}
                    ></textarea>`,
              )}
              <label for="answerWindowHours">A "yes" counts for (hours)</label>
              <input type="number" id="answerWindowHours" name="answerWindowHours" min="1" max="${MAX_ANSWER_WINDOW_HOURS}" value="${view.answerWindowHours}" />
              <div class="actions"><button type="submit">Send the volunteer call</button></div>
            </form>
          </section>`
        : ''
    }
    <section class="card">
      <h3 id="work-done">Work done</h3>
      <p class="hint">
        ${open} of ${view.reports.length} report${view.reports.length === 1 ? '' : 's'} still open. Closing sets them to fixed with a note that volunteers did
        it; their reporters and followers are told and thanked, each once.
      </p>
      <form method="post" action="/admin/roles/${ref}/close-reports" aria-labelledby="work-done">
        ${csrfField(view.actor)}<input type="hidden" name="revision" value="${role._rev}" />
        <button type="submit" ${open === 0 ? html`disabled` : html``}>Work done: close these reports</button>
      </form>
    </section>`;
}

/** The reports as a small table: reference (a link), category, status and place. */
export function reportTable(reports: readonly ReportRecord[]): SafeHtml {
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Report</th>
        <th scope="col">Category</th>
        <th scope="col">Status</th>
        <th scope="col">Location</th>
      </tr>
    </thead>
    <tbody>
      ${reports.map(
        (report) =>
          html`<tr>
            <td><a href="/admin/reports/${encodeURIComponent(report._id)}">${report._id}</a></td>
            <td>${humanize(String(report.category))}</td>
            <td><span class="badge ${report.statusGroup}">${humanize(report.status)}</span></td>
            <td>${report.location.text ?? (report.location.point ? 'GPS point' : '')}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}
