/**
 * What staff see of "is it fixed?" (issue 18) on the reports pages: the flag on a report a
 * resident reopened by saying it is not fixed, and the residents' answers on the report's page.
 * Comments are residents' words: they only go through `html`'s escaping. Answers name nobody
 * (no address): staff reach residents through CivicLine, and a deleted resident's stay anonymous.
 */
import type { ReportRecord, ReportSurveyRecord } from '../../../domain/records.js';
import { html, type SafeHtml } from '../html.js';
import { lines, timeOf } from './layout.js';

/** The "reopened by a resident" flag, while the report is open again; nothing otherwise. */
export function reopenedFlag(report: Pick<ReportRecord, 'reopenedByResident' | 'statusGroup'>, timeZone?: string): SafeHtml | '' {
  if (!report.reopenedByResident || report.statusGroup !== 'open') return '';
  return html`<span class="badge reopened" data-flag="reopened-by-resident" title="A resident said it was not fixed"
    >Not fixed, says a resident${timeZone ? html` (${timeOf(report.reopenedByResident, timeZone)})` : ''}</span
  >`;
}

/** The residents' answers to "is it really fixed?" about one report, oldest first. */
export function surveyAnswersView(surveys: readonly ReportSurveyRecord[], timeZone: string): SafeHtml {
  const yes = surveys.filter((survey) => survey.fixed === 'yes').length;
  return html`<h2>Is it fixed? Residents' answers</h2>
    ${
      surveys.length === 0
        ? html`<p class="muted">No answers yet.</p>`
        : html`<table id="survey-answers">
            <caption class="muted">
              ${yes} of ${surveys.length} said it is really fixed
            </caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Really fixed?</th>
                <th scope="col">Rating (1-5)</th>
                <th scope="col">Comment</th>
                <th scope="col">Channel</th>
              </tr>
            </thead>
            <tbody>
              ${surveys.map(
                (survey) =>
                  html`<tr>
                    <td>${timeOf(survey.at, timeZone)}</td>
                    <td>${survey.fixed === 'yes' ? 'Yes' : html`<strong>No</strong>`}</td>
                    <td>${survey.rating ?? ''}</td>
                    <td>${lines(survey.comment)}</td>
                    <td>${survey.channel}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
