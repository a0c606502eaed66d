/**
 * The impact page (`/admin/impact`, issue 20): what volunteering achieved over a date range (by
 * default the last 12 months), overall and per role, per month in the city's time zone, as
 * charts with their numbers and as tables, with the CSV of the same numbers. The dashboard's
 * home shows the same charts for the last 12 months (`volunteeringCharts`).
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import { volunteerImpact, type ImpactFigures, type VolunteerImpact } from '../../../staff/volunteer-impact.js';
import { actorOf } from '../actor.js';
import { impactRangeOf } from '../impact.routes.js';
import { html, type SafeHtml } from '../html.js';
import { barChart, formatNumber, monthLabel } from './charts.js';
import { humanize, sendPage } from './layout.js';

/** The impact page route. */
export function impactPages(service: Service): Router {
  const router = express.Router();
  router.get('/impact', async (req, res) => {
    const now = new Date();
    const range = impactRangeOf(req, service, now);
    const impact = await volunteerImpact({ store: service.store, config: service.config }, range, now);
    sendPage(res, { title: 'Impact', section: 'impact', actor: actorOf(res), cityName: service.config.cityName }, impactView(impact));
  });
  return router;
}

/** The page's content: the range form, the totals, the charts, the months and the roles. */
export function impactView(impact: VolunteerImpact): SafeHtml {
  const { overall, range } = impact;
  const query = new URLSearchParams({ from: range.from, to: range.to }).toString();
  return html`<h1>Impact of volunteering</h1>
    <form class="filters" method="get" action="/admin/impact" aria-label="Date range">
      <label for="from">From <input type="date" id="from" name="from" value="${range.from}" required /></label>
      <label for="to">To <input type="date" id="to" name="to" value="${range.to}" required /></label>
      <button type="submit">Show</button>
      <a class="button secondary" href="/admin/api/impact.csv?${query}" download>Export CSV</a>
    </form>
    ${
      impact.complete
        ? ''
        : html`<p class="notice" role="status" data-field="incomplete">
            This range has more shifts or sign-ups than one page reads: the numbers below are a lower bound. A shorter range reads them all.
          </p>`
    }
    <p class="muted">
      Days ${range.from} to ${range.to} (${impact.timeZone}). A volunteer counts when their sign-up was confirmed and their shift took place: not cancelled,
      started in the range, over by now. Hours are the hours a coordinator approved, else those the volunteer reported, else, for a volunteer marked attended,
      the shift's length (at most 12). An hour is valued at ${formatMoney(impact.hourValue)}.
    </p>
    <section class="card" aria-labelledby="impact-totals">
      <h2 id="impact-totals">Over the range</h2>
      <dl class="numbers" data-field="totals">
        <dt>Shifts held</dt>
        <dd data-field="shifts-held">${formatNumber(overall.shiftsHeld)}</dd>
        ${figureRows(overall)}
      </dl>
    </section>
    ${volunteeringCharts(impact)}
    <h2 id="impact-months">By month</h2>
    <div class="table-scroll">
      <table class="figures" aria-labelledby="impact-months">
        <thead>
          <tr>
            <th scope="col">Month</th>
            ${figureHeaders()}
          </tr>
        </thead>
        <tbody>
          ${impact.months.map(
            (month) =>
              html`<tr data-month="${month.month}">
                <td>${monthLabel(month.month)}</td>
                ${figureCells(month)}
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <h2 id="impact-roles">By role</h2>
    ${
      impact.roles.length === 0
        ? html`<p class="muted">No shift took place in this range.</p>`
        : html`<div class="table-scroll">
            <table class="figures" aria-labelledby="impact-roles">
              <thead>
                <tr>
                  <th scope="col">Role</th>
                  <th scope="col" class="outcome">Outcome</th>
                  <th scope="col" class="num">Shifts held</th>
                  ${figureHeaders()}
                </tr>
              </thead>
              <tbody>
                ${impact.roles.map(
                  (role) =>
                    html`<tr data-role="${role.roleId}">
                      <td>
                        <a href="/admin/roles/${encodeURIComponent(role.roleId)}">${role.roleId}</a> ${role.title}
                        ${role.status === 'closed' ? html`<span class="badge closed">${humanize(role.status)}</span>` : ''}
                      </td>
                      <td class="outcome" data-field="outcome">${outcomeText(role.outcome)}</td>
                      <td class="num">${formatNumber(role.shiftsHeld)}</td>
                      ${figureCells(role)}
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }`;
}

/**
 * The volunteering charts over the months of the impact: hours, volunteers and the no-show rate
 * per month. On the impact page, and on the dashboard's home for the last 12 months.
 */
export function volunteeringCharts(impact: VolunteerImpact): SafeHtml {
  const label = (m: { month: string }) => monthLabel(m.month);
  return html`<div class="grid" data-field="volunteering-charts">
    ${barChart({
      id: 'chart-volunteer-hours',
      title: 'Volunteer hours',
      description: 'Hours volunteers gave, by the month of their shift.',
      bars: impact.months.map((m) => ({ label: label(m), value: m.hours })),
    })}
    ${barChart({
      id: 'chart-volunteers',
      title: 'Volunteers',
      description: 'Confirmed volunteers of the shifts that took place, by month.',
      bars: impact.months.map((m) => ({ label: label(m), value: m.volunteers })),
    })}
    ${barChart({
      id: 'chart-no-show',
      title: 'No-show rate (%)',
      description: 'Of the volunteers whose attendance was recorded, the share who did not come, by month.',
      bars: impact.months.map((m) => ({ label: label(m), value: m.noShowRate === null ? null : Math.round(m.noShowRate * 100) })),
    })}
  </div>`;
}

function figureRows(f: ImpactFigures): SafeHtml {
  return html`<dt>Volunteers</dt>
    <dd data-field="volunteers">${formatNumber(f.volunteers)}</dd>
    <dt>Distinct volunteers</dt>
    <dd data-field="distinct-volunteers">${formatNumber(f.distinctVolunteers)}</dd>
    <dt>Hours</dt>
    <dd data-field="hours">${formatNumber(f.hours)}</dd>
    <dt>of which approved</dt>
    <dd>${formatNumber(f.hoursApproved)}</dd>
    <dt>reported, not approved</dt>
    <dd>${formatNumber(f.hoursUnapproved)}</dd>
    <dt>from the shift's length</dt>
    <dd>${formatNumber(f.hoursFromShiftLength)}</dd>
    <dt>Value of the hours</dt>
    <dd data-field="hours-value">${formatMoney(f.hoursValue)}</dd>
    <dt>Attended</dt>
    <dd data-field="attended">${formatNumber(f.attended)}</dd>
    <dt>No-show</dt>
    <dd data-field="no-show">${formatNumber(f.noShow)}</dd>
    <dt>Attendance not recorded</dt>
    <dd data-field="attendance-unknown">${formatNumber(f.attendanceUnknown)}</dd>
    <dt>No-show rate</dt>
    <dd data-field="no-show-rate">${percent(f.noShowRate)}</dd>`;
}

function figureHeaders(): SafeHtml {
  return html`<th scope="col" class="num">Volunteers</th>
    <th scope="col" class="num">Distinct</th>
    <th scope="col" class="num">Hours</th>
    <th scope="col" class="num">Value</th>
    <th scope="col" class="num">Attended</th>
    <th scope="col" class="num">No-show</th>
    <th scope="col" class="num">Not recorded</th>
    <th scope="col" class="num">No-show rate</th>`;
}

function figureCells(f: ImpactFigures): SafeHtml {
  return html`<td class="num">${formatNumber(f.volunteers)}</td>
    <td class="num">${formatNumber(f.distinctVolunteers)}</td>
    <td class="num">${formatNumber(f.hours)}</td>
    <td class="num">${formatMoney(f.hoursValue)}</td>
    <td class="num">${formatNumber(f.attended)}</td>
    <td class="num">${formatNumber(f.noShow)}</td>
    <td class="num">${formatNumber(f.attendanceUnknown)}</td>
    <td class="num">${percent(f.noShowRate)}</td>`;
}

function outcomeText(outcome: VolunteerImpact['roles'][number]['outcome']): SafeHtml {
  if (!outcome) return html`<span class="muted">-</span>`;
  const reported = `${formatNumber(outcome.reported)} ${outcome.unit}`;
  return outcome.target === null ? html`${reported}` : html`${reported} of ${formatNumber(outcome.target)} (${percent(outcome.shareOfTarget)})`;
}

/** A share as a whole percent; "-" where there is nothing to measure. */
function percent(share: number | null): string {
  return share === null ? '-' : `${Math.round(share * 100)}%`;
}

/** An amount in the city's currency (VOLUNTEER_HOUR_VALUE has none named), with its cents. */
function formatMoney(value: number): string {
  return new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
}
