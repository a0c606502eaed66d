/**
 * The dashboard's home (`/admin`): how many conversations wait for a person, the impact numbers (what residents asked for and what came of
 * it) as small charts, each with its numbers as text, and the median time to fix a report.
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import { impactNumbers, type ImpactNumbers } from '../../../staff/impact.js';
import { waitingCount } from '../../../staff/handoff-desk.js';
import { actorOf } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { barChart, formatNumber } from './charts.js';
import { humanize, sendPage } from './layout.js';

/** The home page route. */
export function homePages(service: Service): Router {
  const router = express.Router();
  router.get('/', async (_req, res) => {
    const [numbers, waiting] = await Promise.all([impactNumbers(service.staff), waitingCount(service.staff)]);
    sendPage(res, { title: 'Home', section: 'home', actor: actorOf(res), cityName: service.config.cityName }, homeView(numbers, waiting));
  });
  return router;
}

/** The home page's content: who waits for a person (the inbox), and the impact numbers. */
export function homeView(numbers: ImpactNumbers, waiting = 0): SafeHtml {
  const { reports, ideas, volunteering, broadcasts } = numbers;
  return html`<h1>Home</h1>
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
    </div>`;
}

/** Hours as staff think of them: "5.5 hours" under two days, "3.2 days" above. */
export function formatDuration(hours: number): string {
  if (hours < 1) return `${formatNumber(Math.round(hours * 60))} minutes`;
  if (hours < 48) return `${formatNumber(hours)} hours`;
  return `${formatNumber(hours / 24)} days`;
}
