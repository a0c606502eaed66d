/**
 * The dashboard's home (`/admin`): how many conversations wait for a person, the impact numbers (what residents asked for and what came of
 * it) as small charts, each with its numbers as text, the median time to fix a report, and the volunteering
 * impact of the last 12 months (hours, volunteers and no-show rate per month; more on /admin/impact).
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import { impactNumbers, type ImpactNumbers } from '../../../staff/impact.js';
import { waitingCount } from '../../../staff/handoff-desk.js';
import { satisfaction, type Satisfaction } from '../../../staff/satisfaction.js';
import { HOME_IMPACT_FRESH_MS, RecentImpact, type ImpactSnapshot } from '../../../staff/recent-impact.js';
import { MISSING_POLLS, open311Status } from '../../../staff/open311-client.js';
import { actorOf } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { barChart, formatNumber, monthLabel } from './charts.js';
import { humanize, sendPage } from './layout.js';
import { volunteeringCharts } from './impact.page.js';

/** The home page route. */
export function homePages(service: Service): Router {
  const router = express.Router();
  const recentImpact = new RecentImpact({ store: service.store, config: service.config });
  router.get('/', async (_req, res) => {
    const [numbers, waiting, satisfied, city, volunteering] = await Promise.all([
      impactNumbers(service.staff),
      waitingCount(service.staff),
      satisfaction(service.staff),
      service.config.open311Client ? open311Status(service.store) : null,
      recentImpact.snapshot(),
    ]);
    const outage = city?.failingSince
      ? { since: formatWhen(city.failingSince, service.config.cityTimeZone), waiting: city.waiting, error: city.lastError }
      : undefined;
    sendPage(
      res,
      { title: 'Home', section: 'home', actor: actorOf(res), cityName: service.config.cityName },
      homeView(numbers, waiting, satisfied, outage, volunteering, city ? { count: city.unknown, refs: city.unknownRefs } : undefined),
    );
  });
  return router;
}

/** The city's Open311 system failing (OPEN311_ENDPOINT): since when (formatted), reports waiting to be sent, the last error. */
export interface CityOutage {
  since: string;
  waiting: number;
  error?: string | undefined;
}

/** Forwarded reports the city's Open311 system no longer knows: how many, and the first few refs. */
export interface CityUnknownRequests {
  count: number;
  refs: readonly string[];
}

function unknownRequestsNotice({ count, refs }: CityUnknownRequests): SafeHtml {
  const one = count === 1;
  return html`<p class="errors" data-field="open311-unknown">
    City 311 system: ${formatNumber(count)} forwarded ${one ? 'report is' : 'reports are'} no longer known there (left out of its answers ${MISSING_POLLS} polls
    in a row; asked about once a day from then on):
    ${refs.map((ref, index) => html`${index > 0 ? ', ' : ''}<a href="/admin/reports/${encodeURIComponent(ref)}">${ref}</a>`)}${count > refs.length ? ', …' : ''}.
    Ask the city's 311 team what became of ${one ? 'it' : 'them'}.
  </p>`;
}

/**
 * The home page's content: an outage of the city's Open311 system when there is one, the
 * forwarded requests it no longer knows, who waits for a person (the inbox), the impact numbers,
 * and satisfaction over time.
 */
export function homeView(
  numbers: ImpactNumbers,
  waiting = 0,
  satisfied?: Satisfaction,
  outage?: CityOutage,
  volunteerImpact?: ImpactSnapshot,
  cityUnknown?: CityUnknownRequests,
): SafeHtml {
  const { reports, ideas, volunteering, broadcasts } = numbers;
  return html`<h1>Home</h1>
    ${
      outage
        ? html`<p class="errors" role="alert" data-field="open311-outage">
            City 311 system: unreachable since ${outage.since}, ${formatNumber(outage.waiting)} ${outage.waiting === 1 ? 'report' : 'reports'}
            waiting${outage.error ? ` (${outage.error})` : ''}.
          </p>`
        : ''
    }
    ${cityUnknown && cityUnknown.count > 0 ? unknownRequestsNotice(cityUnknown) : ''}
    <section class="card" aria-labelledby="inbox-waiting">
      <h2 id="inbox-waiting">Waiting for a person</h2>
      <p>
        <span class="big" data-field="waiting">${formatNumber(waiting)}</span>
        ${waiting === 1 ? 'conversation' : 'conversations'} in the <a href="/admin/handoffs">inbox</a>
      </p>
    </section>
    <h2>Impact</h2>
    <div class="grid">
      <section class="card" aria-labelledby="fix-time">
        <h2 id="fix-time">Median time to fix</h2>
        <p class="big">${reports.medianHoursToFix === null ? '-' : formatDuration(reports.medianHoursToFix)}</p>
        <p class="muted">
          ${
            reports.fixedMeasured === 0
              ? 'No report has been fixed yet.'
              : `From report to fixed, over ${formatNumber(reports.fixedMeasured)} fixed report${reports.fixedMeasured === 1 ? '' : 's'}.`
          }
        </p>
        <dl class="numbers">
          <dt>Reports</dt>
          <dd>${formatNumber(reports.total)}</dd>
          <dt>Ideas</dt>
          <dd>${formatNumber(ideas.total)}</dd>
          <dt>Supports of ideas</dt>
          <dd>${formatNumber(ideas.supports)}</dd>
          <dt>Open volunteer roles</dt>
          <dd>${formatNumber(volunteering.openRoles)}</dd>
          <dt>Broadcasts</dt>
          <dd>${formatNumber(broadcasts.total)}</dd>
        </dl>
      </section>
      ${barChart({
        id: 'chart-status-group',
        title: 'Reports by status',
        description: 'Reports in each status group.',
        bars: (['open', 'fixed', 'closed'] as const).map((group) => ({ label: humanize(group), value: reports.byStatusGroup[group] })),
      })}
      ${barChart({
        id: 'chart-category',
        title: 'Reports by category',
        description: 'Reports per problem category, most first.',
        bars: reports.byCategory.map((entry) => ({ label: humanize(entry.category), value: entry.count })),
        empty: 'No reports yet.',
      })}
      ${barChart({
        id: 'chart-ideas',
        title: 'Ideas by status',
        description: "Residents' ideas in each status.",
        bars: Object.entries(ideas.byStatus).map(([status, count]) => ({ label: humanize(status), value: count })),
      })}
      ${barChart({
        id: 'chart-spots',
        title: 'Volunteer spots',
        description: 'Spots filled by confirmed volunteers against the spots offered, over all roles.',
        bars: [
          { label: 'Filled', value: volunteering.spotsFilled },
          { label: 'Capacity', value: volunteering.spots, secondary: true },
          { label: 'Waitlisted', value: volunteering.waitlisted, secondary: true },
        ],
      })}
      ${barChart({
        id: 'chart-broadcasts',
        title: 'Volunteer calls',
        description: 'Broadcast messages sent, the residents who answered, and those who signed up.',
        bars: [
          { label: 'Sent', value: broadcasts.sent, secondary: true },
          { label: 'Answered', value: broadcasts.answered },
          { label: 'Signed up', value: broadcasts.signedUp },
        ],
      })}
    </div>
    ${volunteerImpact ? volunteeringView(volunteerImpact) : ''} ${satisfied ? satisfactionView(satisfied) : ''}`;
}

/**
 * The impact of volunteering over the last 12 months (issue 20): hours, volunteers and the
 * no-show rate per month, with the totals and a way to the impact page for more.
 */
export function volunteeringView({ impact, computedAt }: ImpactSnapshot): SafeHtml {
  const { overall } = impact;
  return html`<h2 id="volunteering-impact">Volunteering impact</h2>
    <p class="muted">
      The last 12 months: ${formatNumber(overall.volunteers)} volunteers (${formatNumber(overall.distinctVolunteers)} people) gave
      ${formatNumber(overall.hours)} hours at ${formatNumber(overall.shiftsHeld)} shifts
      <span data-field="impact-as-of"
        >(as of ${formatWhen(computedAt.toISOString(), impact.timeZone)}; computed again after ${formatNumber(HOME_IMPACT_FRESH_MS / 60_000)} minutes)</span
      >. Per role, outcomes, other dates and this minute's figures on the <a href="/admin/impact">impact page</a>.
    </p>
    ${volunteeringCharts(impact)}`;
}

/**
 * Satisfaction and time to fix over the last twelve months (issue 18): a chart per measure with a
 * bar per month, so a trend shows, and the same measures per category in a table.
 */
export function satisfactionView(satisfied: Satisfaction): SafeHtml {
  const month = (m: { month: string }) => monthLabel(m.month);
  return html`<h2>Satisfaction and time to fix</h2>
    <p class="muted">The last 12 months. A report counts in the month it was first fixed; an answer to "is it really fixed?" in the month it was given.</p>
    <div class="grid">
      ${barChart({
        id: 'chart-days-to-fix',
        title: 'Median days to fix',
        description: 'Median days from report to fixed, by the month reports were fixed.',
        bars: satisfied.months.map((m) => ({ label: month(m), value: roundTo(m.medianDaysToFix, 1) })),
      })}
      ${barChart({
        id: 'chart-within-target',
        title: 'Fixed within target (%)',
        description: "Of the reports fixed in the month, the share fixed within their category's target days (set at /admin/routing).",
        bars: satisfied.months.map((m) => ({ label: month(m), value: m.shareWithinTarget === null ? null : Math.round(m.shareWithinTarget * 100) })),
      })}
      ${barChart({
        id: 'chart-really-fixed',
        title: 'Really fixed (%)',
        description: 'Of the residents asked "is it really fixed?" who answered, the share who said yes, by month.',
        bars: satisfied.months.map((m) => ({ label: month(m), value: m.shareReallyFixed === null ? null : Math.round(m.shareReallyFixed * 100) })),
      })}
      ${barChart({
        id: 'chart-rating',
        title: 'Average rating (1-5)',
        description: "Residents' average rating of how the city handled their report, by month.",
        bars: satisfied.months.map((m) => ({ label: month(m), value: roundTo(m.averageRating, 1) })),
      })}
    </div>
    <section class="card" aria-labelledby="satisfaction-categories">
      <h3 id="satisfaction-categories">By category, last 12 months</h3>
      ${
        satisfied.categories.length === 0
          ? html`<p class="muted">No report fixed or answered yet.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th scope="col">Category</th>
                  <th scope="col">Fixed</th>
                  <th scope="col">Median days to fix</th>
                  <th scope="col">Within target</th>
                  <th scope="col">Answers</th>
                  <th scope="col">Really fixed</th>
                  <th scope="col">Average rating</th>
                </tr>
              </thead>
              <tbody>
                ${satisfied.categories.map(
                  (c) =>
                    html`<tr data-category="${c.category}">
                      <td>${humanize(c.category)}</td>
                      <td>${formatNumber(c.fixed)}</td>
                      <td>${c.medianDaysToFix === null ? '-' : formatNumber(c.medianDaysToFix)}</td>
                      <td>${c.shareWithinTarget === null ? '-' : `${Math.round(c.shareWithinTarget * 100)}%`}</td>
                      <td>${formatNumber(c.answered)}</td>
                      <td>${c.shareReallyFixed === null ? '-' : `${Math.round(c.shareReallyFixed * 100)}%`}</td>
                      <td>${c.averageRating === null ? '-' : formatNumber(c.averageRating)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>`;
}

function roundTo(value: number | null, digits: number): number | null {
  return value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits;
}

/** Hours as staff think of them: "5.5 hours" under two days, "3.2 days" above. */
export function formatDuration(hours: number): string {
  if (hours < 1) return `${formatNumber(Math.round(hours * 60))} minutes`;
  if (hours < 48) return `${formatNumber(hours)} hours`;
  return `${formatNumber(hours / 24)} days`;
}

/** An ISO instant as staff read it, in the city's time zone. */
function formatWhen(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(iso));
}
