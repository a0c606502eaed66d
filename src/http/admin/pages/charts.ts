/**
 * Small bar charts drawn on the server as inline SVG: the dashboard's home shows its numbers as
 * pictures without a chart library or a script (the CSP allows no inline script anyway). Each
 * chart is an image with a title and a description for screen readers, and its numbers are
 * printed as text under it too, so nothing is only in the picture.
 */
import { html, type SafeHtml } from '../html.js';

/** One bar: a label and its number. */
export interface Bar {
  label: string;
  /** Null: nothing to measure there (a month with no answers), shown as "-", not as a zero. */
  value: number | null;
  /** Drawn in the lighter colour (a total, a capacity: the thing the other bars are part of). */
  secondary?: boolean;
}

/** What a chart shows. */
export interface BarChart {
  /** Unique on the page: the title and description are referred to by it. Code-chosen, never data. */
  id: string;
  title: string;
  /** One sentence on what the chart shows; the numbers are added to it. */
  description: string;
  bars: readonly Bar[];
  /** Shown when there are no bars ("No reports yet"). */
  empty?: string;
}

// Drawn about the size it is shown at (a grid cell of 20rem or more), so 13px text stays 13px.
const WIDTH = 360;
const ROW = 24;
const LABEL_WIDTH = 125;
const VALUE_WIDTH = 45;
const BAR_HEIGHT = 14;

/** A horizontal bar chart with its numbers as text. */
export function barChart(chart: BarChart): SafeHtml {
  const titleId = `${chart.id}-title`;
  const descId = `${chart.id}-desc`;
  const numbers = chart.bars.map((bar) => `${bar.label}: ${valueText(bar.value)}`).join(', ');
  const description = chart.bars.length ? `${chart.description} ${numbers}.` : `${chart.description} ${chart.empty ?? 'Nothing yet.'}`;
  const max = Math.max(1, ...chart.bars.map((bar) => bar.value ?? 0));
  const height = Math.max(1, chart.bars.length) * ROW + 4;
  const span = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  return html`<figure class="chart" id="${chart.id}">
    <figcaption>${chart.title}</figcaption>
    <svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="${titleId} ${descId}" xmlns="http://www.w3.org/2000/svg">
      <title id="${titleId}">${chart.title}</title>
      <desc id="${descId}">${description}</desc>
      ${
        chart.bars.length === 0
          ? html`<text x="0" y="17">${chart.empty ?? 'Nothing yet.'}</text>`
          : chart.bars.map((bar, i) => {
              const y = i * ROW + 5;
              const width = bar.value !== null && bar.value > 0 ? Math.max(2, Math.round((bar.value / max) * span)) : 0;
              return html`<g>
                <text x="0" y="${y + 11}">${truncate(bar.label, 17)}</text>
                <rect class="track" x="${LABEL_WIDTH}" y="${y}" width="${span}" height="${BAR_HEIGHT}" rx="2" />
                <rect class="bar${bar.secondary ? ' secondary' : ''}" x="${LABEL_WIDTH}" y="${y}" width="${width}" height="${BAR_HEIGHT}" rx="2" />
                <text x="${LABEL_WIDTH + span + 6}" y="${y + 11}">${valueText(bar.value)}</text>
              </g>`;
            })
      }
    </svg>
    <dl class="numbers">
      ${chart.bars.map(
        (bar) =>
          html`<dt>${bar.label}</dt>
            <dd>${valueText(bar.value)}</dd>`,
      )}
    </dl>
  </figure>`;
}

/** A count as staff read it: 12,345. */
export function formatNumber(value: number): string {
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(value);
}

/** "2025-03" as staff read it: "Mar 2025". */
export function monthLabel(month: string): string {
  const [year, m] = month.split('-').map(Number);
  return monthFormat.format(new Date(Date.UTC(year ?? 1970, (m ?? 1) - 1, 1)));
}

// Made once: building a formatter costs far more than using it.
const monthFormat = new Intl.DateTimeFormat('en-US', { month: 'short', year: 'numeric', timeZone: 'UTC' });

/** A bar's number as text: "-" where there is nothing to measure. */
function valueText(value: number | null): string {
  return value === null ? '-' : formatNumber(value);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
