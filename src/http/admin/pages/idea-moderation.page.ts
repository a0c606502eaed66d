/**
 * Idea moderation and idea pages on the staff dashboard (issue 21): the moderation queue
 * (`/admin/ideas/moderation`: reported and hidden ideas with how many residents reported them
 * and why, never who; hide / restore with a required note), and one idea's page
 * (`/admin/ideas/:ref`: its supporters week by week as a chart, what was merged, and a form to
 * merge it into another idea). Titles, details and report reasons are residents' words: they
 * only go through `html`'s escaping; links are built from checked references.
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import { HttpError } from '../../../core/errors.js';
import { IDEA_REPORT_REASONS } from '../../../domain/records.js';
import { ideaDetail, supportersByWeek, type IdeaWithSupport, type SupportWeek } from '../../../staff/idea-desk.js';
import { ideaMergeInfo, mergeIdeas, type IdeaMergeInfo } from '../../../staff/idea-merge.js';
import {
  ideaReportSummary,
  moderateIdea,
  moderationQueue,
  moderationSeen,
  type IdeaReportSummary,
  type ModeratedIdea,
} from '../../../staff/idea-moderation.js';
import { maskAddress } from '../../../staff/role-desk.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { ideaMergeBody, ideaModerationBody } from '../ideas.routes.js';
import { barChart } from './charts.js';
import { csrfField, errorList, field, flashOf, formFields, humanize, issuesOf, lines, sendPage, timeOf } from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });
const IDEA_REF = /^[Ii]-?[A-Za-z0-9]{5}$/;

const DONE: Readonly<Record<string, string>> = {
  hidden: 'Idea hidden from residents.',
  restored: 'Idea restored: residents see it again.',
  merged: 'Ideas merged: the supporters are being combined and told (a job, in the background).',
};

/** The queue's and the idea page's routes. */
export function ideaModerationPages(service: Service): Router {
  const router = express.Router();
  const timeZone = service.config.cityTimeZone;

  const showQueue = async (res: express.Response, query: unknown, failed?: { ref: string; errors: string[]; note: string }, status = 400) => {
    const queue = await moderationQueue(service.staff);
    const flash = flashOf(query, DONE);
    sendPage(
      res,
      { title: 'Idea moderation', section: 'ideas', actor: actorOf(res), cityName: service.config.cityName, ...(flash ? { flash } : {}) },
      moderationView({ ...queue, actor: actorOf(res), timeZone, ...(failed ? { failed } : {}) }),
      failed ? status : 200,
    );
  };

  router.get('/ideas/moderation', (req, res) => showQueue(res, req.query));

  router.post('/ideas/:ref/moderation', formParser, async (req, res) => {
    const ref = ideaRefOf(req.params.ref);
    const fields = formFields(req.body);
    const note = field(fields, 'note') ?? '';
    const seen = field(fields, 'seen');
    const body = ideaModerationBody.safeParse({ action: field(fields, 'action') ?? '', note, ...(seen ? { seen } : {}) });
    if (!body.success) return showQueue(res, {}, { ref, errors: issuesOf(body.error), note });
    try {
      const { seen: shown, ...decision } = body.data;
      const idea = await moderateIdea(service.staff, ref, { ...decision, ...(shown !== undefined ? { seen: shown } : {}) }, actorOf(res));
      res.redirect(303, `/admin/ideas/moderation?done=${body.data.action === 'hide' ? 'hidden' : 'restored'}#${idea._id}`);
    } catch (error) {
      // A bad note (400), or a decision taken meanwhile (409): the queue as it is now, with why.
      if (!(error instanceof StaffError) || error.status === 404) throw error;
      return showQueue(res, {}, { ref, errors: [error.message], note }, error.status);
    }
  });

  router.get('/ideas/:ref', async (req, res) => {
    const idea = await ideaDetail(service.staff, ideaRefOf(req.params.ref));
    const [weeks, merges, reports] = await Promise.all([
      supportersByWeek(service.staff, idea),
      ideaMergeInfo(service.staff.store, idea),
      ideaReportSummary(service.staff.store, idea._id),
    ]);
    const flash = flashOf(req.query, DONE);
    sendPage(
      res,
      { title: `Idea ${idea._id}`, section: 'ideas', actor: actorOf(res), cityName: service.config.cityName, ...(flash ? { flash } : {}) },
      ideaPageView({ idea, weeks, merges, reports, actor: actorOf(res), timeZone }),
    );
  });

  router.post('/ideas/:ref/merge', formParser, async (req, res) => {
    const ref = ideaRefOf(req.params.ref);
    const body = ideaMergeBody.safeParse({ into: field(formFields(req.body), 'into') ?? '' });
    if (!body.success) throw new HttpError(400, issuesOf(body.error).join('; '));
    // A refusal (a chain, a hidden idea) is the error page's, with its message and a 409.
    const result = await mergeIdeas(service.staff, body.data.into, ref, actorOf(res));
    res.redirect(303, `/admin/ideas/${encodeURIComponent(result.kept._id)}?done=merged`);
  });

  return router;
}

/** A reference from the path, checked and normalised (`i4f2k9` → `I-4F2K9`); a 404 when it cannot be one. */
function ideaRefOf(raw: unknown): string {
  const text = String(raw);
  if (!IDEA_REF.test(text)) throw new HttpError(404, 'No such idea');
  return `I-${text.replace(/^[Ii]-?/, '').toUpperCase()}`;
}

/** The moderation queue's content: awaiting a decision, then hidden by staff. */
export function moderationView(view: {
  review: ModeratedIdea[];
  hidden: ModeratedIdea[];
  actor: StaffActor;
  timeZone: string;
  failed?: { ref: string; errors: string[]; note: string };
}): SafeHtml {
  const part = (ideas: ModeratedIdea[], empty: string) =>
    ideas.length === 0 ? html`<p class="muted">${empty}</p>` : ideas.map((idea) => moderatedCard(idea, view));
  return html`<h1>Idea moderation</h1>
    <p class="muted">
      Ideas residents reported ("report I-…"), and hidden ones. An idea is hidden from residents by itself once enough residents report it, until you decide.
      Residents who reported are never shown, only how many and why.
    </p>
    <section aria-labelledby="review-title">
      <h2 id="review-title">Awaiting a decision (${view.review.length})</h2>
      ${part(view.review, 'Nothing to review.')}
    </section>
    <section aria-labelledby="hidden-title">
      <h2 id="hidden-title">Hidden by staff (${view.hidden.length})</h2>
      ${part(view.hidden, 'No hidden ideas.')}
    </section>`;
}

function moderatedCard(idea: ModeratedIdea, view: { actor: StaffActor; timeZone: string; failed?: { ref: string; errors: string[]; note: string } }): SafeHtml {
  const hidden = idea.moderation?.state === 'hidden';
  const failed = view.failed?.ref === idea._id ? view.failed : undefined;
  return html`<article class="card moderated-idea" id="${idea._id}">
    <h3>
      <a href="/admin/ideas/${encodeURIComponent(idea._id)}">${idea.title}</a>
      <span class="badge ${hidden ? 'hidden' : 'shown'}">${hidden ? 'Hidden' : 'Shown to residents'}</span>
    </h3>
    <p>${lines(idea.details)}</p>
    <dl class="facts">
      <dt>Reference</dt>
      <dd>${idea._id}</dd>
      <dt>Supporters</dt>
      <dd>${idea.supports}</dd>
      <dt>Submitted</dt>
      <dd>${timeOf(idea.createdAt, view.timeZone)}</dd>
      ${moderationFacts(idea, view.timeZone)}
    </dl>
    ${reportsView(idea.reportSummary)}
    <form class="stack" method="post" action="/admin/ideas/${encodeURIComponent(idea._id)}/moderation" aria-label="Decide on ${idea._id}">
      ${csrfField(view.actor)} <input type="hidden" name="seen" value="${moderationSeen(idea)}" /> ${errorList(failed?.errors ?? [])}
      <label for="note-${idea._id}">Note <span class="hint">(required: why; kept in the audit log)</span></label>
      <textarea id="note-${idea._id}" name="note" maxlength="1000" required>${failed?.note ?? ''}</textarea>
      <div class="actions">
        ${hidden ? html`` : html`<button type="submit" name="action" value="hide">Hide</button>`}
        <button type="submit" name="action" value="restore">${hidden ? 'Restore' : 'Keep shown'}</button>
      </div>
    </form>
  </article>`;
}

function moderationFacts(idea: IdeaWithSupport, timeZone: string): SafeHtml {
  const moderation = idea.moderation;
  if (!moderation) return html``;
  const who = moderation.by === 'system' ? 'automatically, after reports' : `by ${moderation.by}`;
  return html`<dt>Moderation</dt>
    <dd>${humanize(moderation.state)} ${who}, ${timeOf(moderation.at, timeZone)}${moderation.note ? html`: ${moderation.note}` : html``}</dd>`;
}

function reportsView(summary: IdeaReportSummary): SafeHtml {
  if (summary.total === 0) return html`<p class="muted">No reports.</p>`;
  const reasons = IDEA_REPORT_REASONS.filter((reason) => summary.byReason[reason] > 0);
  return html`<div class="reports">
    <p>
      <strong>${summary.total} report${summary.total === 1 ? '' : 's'}:</strong>
      ${reasons.map((reason, i) => html`${i > 0 ? ', ' : ''}${humanize(reason)} ${summary.byReason[reason]}`)}
    </p>
    ${
      summary.texts.length
        ? html`<ul class="report-texts">
            ${summary.texts.map((text) => html`<li>${text}</li>`)}
          </ul>`
        : html``
    }
  </div>`;
}

/** One idea's page: what it is, its supporters by week, its reports, merges and the merge form. */
export function ideaPageView(view: {
  idea: IdeaWithSupport;
  weeks: SupportWeek[];
  merges: IdeaMergeInfo;
  reports: IdeaReportSummary;
  actor: StaffActor;
  timeZone: string;
}): SafeHtml {
  const { idea, merges } = view;
  return html`<p><a href="/admin/ideas">← Ideas</a></p>
    <h1>${idea.title} <span class="badge ${idea.status}">${humanize(idea.status)}</span></h1>
    ${
      merges.mergedInto
        ? html`<p class="flash ok">
            Merged into <a href="/admin/ideas/${encodeURIComponent(merges.mergedInto._id)}">${merges.mergedInto._id}</a> (${merges.mergedInto.title}); residents
            no longer see it.
          </p>`
        : html``
    }
    <section class="card">
      <p>${lines(idea.details)}</p>
      <dl class="facts">
        <dt>Reference</dt>
        <dd>${idea._id}</dd>
        <dt>Supporters</dt>
        <dd>${idea.supports}</dd>
        ${
          idea.neighbourhood &&
          html`<dt>Neighbourhood</dt>
            <dd>${idea.neighbourhood}</dd>`
        }
        <dt>Author</dt>
        <dd>${maskAddress(idea.authorAddress)} (${idea.channel})</dd>
        <dt>Submitted</dt>
        <dd>${timeOf(idea.createdAt, view.timeZone)}</dd>
        ${moderationFacts(idea, view.timeZone)}
      </dl>
      ${reportsView(view.reports)}
    </section>
    <div class="chart-narrow">
      ${barChart({
        id: 'supporters-by-week',
        title: 'Supporters over time (by week)',
        description: 'Supporters by the end of each week, weeks from Monday (UTC).',
        bars: view.weeks.map((week) => ({ label: week.week, value: week.total })),
        empty: 'No supporters yet.',
      })}
    </div>
    ${
      merges.mergedHere.length
        ? html`<section class="card">
            <h2>Merged into this idea</h2>
            <ul>
              ${merges.mergedHere.map(
                (merged) =>
                  html`<li>
                    <a href="/admin/ideas/${encodeURIComponent(merged._id)}">${merged._id}</a> ${merged.title}, ${timeOf(merged.createdAt, view.timeZone)}
                  </li>`,
              )}
            </ul>
          </section>`
        : html``
    }
    ${
      merges.mergedInto
        ? html``
        : html`<section class="card">
            <h2>Merge into another idea</h2>
            <p class="muted">
              This idea stops being listed; its supporters and its author support the idea you keep (each resident counted once), and each of them is told once.
            </p>
            <form class="stack" method="post" action="/admin/ideas/${encodeURIComponent(idea._id)}/merge" aria-label="Merge ${idea._id}">
              ${csrfField(view.actor)}
              <label for="into">Idea to keep (reference)</label>
              <input id="into" name="into" required pattern="[Ii]-?[A-Za-z0-9]{5}" placeholder="I-4F2K9" />
              <div class="actions"><button type="submit">Merge</button></div>
            </form>
          </section>`
    }`;
}
