/**
 * The ideas page (`/admin/ideas`): residents' ideas, newest or most supported first, each with
 * a form to answer it (`POST /admin/ideas/:ref/response`), which tells the author and, if staff
 * choose, the supporters. Titles and details are residents' words: escaped, always.
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import { IDEA_RESPONSES, listIdeas, respondToIdea, setIdeaThreshold, type IdeaWithSupport } from '../../../staff/idea-desk.js';
import { maskAddress } from '../../../staff/role-desk.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { HttpError } from '../../../core/errors.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { ideaQuery, ideaResponseBody, ideaThresholdBody } from '../ideas.routes.js';
import { csrfField, errorList, field, formFields, humanize, issuesOf, lines, options, sendPage, timeOf, type Flash } from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 });
const IDEA_REF = /^[Ii]-?[A-Za-z0-9]{5}$/;
const IDEA_STATUSES = ['new', 'under_review', 'accepted', 'not_planned'] as const;

/** The ideas page routes. */
export function ideaPages(service: Service): Router {
  const router = express.Router();
  const timeZone = service.config.cityTimeZone;

  const show = async (
    req: express.Request,
    res: express.Response,
    extra: { status?: number; flash?: Flash; failed?: { ref: string; errors: string[]; form: AnswerForm } } = {},
  ) => {
    const raw = req.query as Record<string, unknown>;
    const values = Object.fromEntries(['sort', 'status'].flatMap((key) => (typeof raw[key] === 'string' && raw[key] !== '' ? [[key, raw[key]]] : [])));
    const query = ideaQuery.safeParse(values);
    const ideas = query.success ? await listIdeas(service.staff, query.data) : [];
    const flash = extra.flash ?? answeredFlash(raw);
    sendPage(
      res,
      { title: 'Ideas', section: 'ideas', actor: actorOf(res), cityName: service.config.cityName, ...(flash ? { flash } : {}) },
      ideasView({
        ideas,
        filter: values as Record<string, string>,
        errors: query.success ? [] : issuesOf(query.error),
        actor: actorOf(res),
        timeZone,
        ...(extra.failed ? { failed: extra.failed } : {}),
      }),
      extra.status ?? (query.success ? 200 : 400),
    );
  };

  router.get('/ideas', (req, res) => show(req, res));

  router.post('/ideas/:ref/response', formParser, async (req, res) => {
    const raw = String(req.params.ref);
    if (!IDEA_REF.test(raw)) throw new HttpError(404, 'No such idea');
    const ref = `I-${raw.replace(/^[Ii]-?/, '').toUpperCase()}`;
    const fields = formFields(req.body);
    const form: AnswerForm = { status: field(fields, 'status') ?? '', note: field(fields, 'note') ?? '' };
    const body = ideaResponseBody.safeParse({ status: form.status, ...(form.note ? { note: form.note } : {}) });
    if (!body.success) return show(req, res, { status: 400, failed: { ref, errors: issuesOf(body.error), form } });
    try {
      const result = await respondToIdea(service.staff, ref, body.data, actorOf(res));
      // The fragment is a checked reference, and so is the broadcast id; `queued` says whether this status was told before.
      res.redirect(303, `/admin/ideas?done=answered&notice=${result.broadcastId}&queued=${result.queued ? 1 : 0}#${result.idea._id}`);
    } catch (error) {
      // A hidden or merged idea (409) is shown with why, next to its form, like a bad answer.
      if (!(error instanceof StaffError) || error.status === 404) throw error;
      return show(req, res, { status: error.status, failed: { ref, errors: [error.message], form } });
    }
  });

  router.post('/ideas/:ref/threshold', formParser, async (req, res) => {
    const raw = String(req.params.ref);
    if (!IDEA_REF.test(raw)) throw new HttpError(404, 'No such idea');
    const ref = `I-${raw.replace(/^[Ii]-?/, '').toUpperCase()}`;
    const typed = (field(formFields(req.body), 'supportThreshold') ?? '').trim();
    // Empty: back to the city's threshold.
    const body = ideaThresholdBody.safeParse({ supportThreshold: typed === '' ? null : Number(typed) });
    if (!body.success) return show(req, res, { status: 400, flash: { kind: 'error', text: `Threshold not saved: ${issuesOf(body.error).join('; ')}` } });
    const idea = await setIdeaThreshold(service.staff, ref, body.data.supportThreshold, actorOf(res));
    res.redirect(303, `/admin/ideas?done=threshold#${idea._id}`);
  });

  return router;
}

/** What an answer form holds. */
interface AnswerForm {
  status: string;
  note: string;
}

/** The ideas page's content. */
export function ideasView(view: {
  ideas: IdeaWithSupport[];
  filter: Record<string, string>;
  errors: readonly string[];
  actor: StaffActor;
  timeZone: string;
  failed?: { ref: string; errors: string[]; form: AnswerForm };
}): SafeHtml {
  return html`<h1>Ideas</h1>
    <p><a href="/admin/ideas/moderation">Moderation queue</a> <span class="muted">(reported and hidden ideas)</span></p>
    <form class="filters" method="get" action="/admin/ideas" aria-label="Sort and filter ideas">
      <label
        >Sort
        <select name="sort">
          ${options(
            [
              { value: 'newest', label: 'Newest first' },
              { value: 'support', label: 'Most supported first' },
            ],
            view.filter['sort'],
          )}
        </select>
      </label>
      <label
        >Status
        <select name="status">
          ${options([{ value: '', label: 'Any' }, ...IDEA_STATUSES.map((s) => ({ value: s, label: humanize(s) }))], view.filter['status'])}
        </select>
      </label>
      <button type="submit">Show</button>
    </form>
    ${errorList(view.errors)}
    ${
      view.ideas.length === 0
        ? html`<p class="muted">No ideas match.</p>`
        : view.ideas.map((idea) => {
            const failed = view.failed?.ref === idea._id ? view.failed : undefined;
            const form = failed?.form ?? { status: idea.status === 'new' ? 'under_review' : idea.status, note: '' };
            return html`<article class="card" id="${idea._id}">
              <h2>
                <a href="/admin/ideas/${encodeURIComponent(idea._id)}">${idea.title}</a> <span class="badge ${idea.status}">${humanize(idea.status)}</span>
                ${idea.moderation?.state === 'hidden' ? html`<span class="badge hidden">Hidden</span>` : html``}
                ${idea.mergedInto ? html`<span class="badge merged">Merged into ${idea.mergedInto}</span>` : html``}
              </h2>
              <p>${lines(idea.details)}</p>
              <dl class="facts">
                <dt>Reference</dt>
                <dd>${idea._id}</dd>
                <dt>Supporters</dt>
                <dd>${idea.supports}</dd>
                <dt>Support threshold</dt>
                <dd>
                  ${idea.threshold > 0 ? idea.threshold : html`<span class="muted">none</span>`}
                  ${idea.supportThreshold === undefined ? html`<span class="muted">(the city's)</span>` : html`<span class="muted">(this idea's own)</span>`}
                  ${idea.thresholdReachedAt && html`<span class="muted">reached ${timeOf(idea.thresholdReachedAt, view.timeZone)}</span>`}
                </dd>
                ${
                  idea.neighbourhood &&
                  html`<dt>Neighbourhood</dt>
                    <dd>${idea.neighbourhood}</dd>`
                }
                <dt>Author</dt>
                <dd>${maskAddress(idea.authorAddress)} (${idea.channel})</dd>
                <dt>Submitted</dt>
                <dd>${timeOf(idea.createdAt, view.timeZone)}</dd>
                ${
                  idea.response &&
                  html`<dt>Last answer</dt>
                    <dd>
                      ${idea.response.note ?? html`<span class="muted">(no note)</span>`}
                      <span class="muted">by ${idea.response.by}, ${timeOf(idea.response.at, view.timeZone)}</span>
                    </dd>`
                }
              </dl>
              <form class="inline" method="post" action="/admin/ideas/${encodeURIComponent(idea._id)}/threshold">
                ${csrfField(view.actor)}
                <label
                  >This idea's support threshold <span class="hint">(empty: the city's; 0: none)</span>
                  <input name="supportThreshold" inputmode="numeric" pattern="[0-9]*" value="${idea.supportThreshold ?? ''}"
                /></label>
                <button type="submit">Save threshold</button>
              </form>
              <details ${failed ? html`open` : html``}>
                <summary>Answer this idea</summary>
                ${errorList(failed?.errors ?? [])}
                <form class="stack" method="post" action="/admin/ideas/${encodeURIComponent(idea._id)}/response">
                  ${csrfField(view.actor)}
                  <label for="status-${idea._id}">Status</label>
                  <select id="status-${idea._id}" name="status" required>
                    ${options(
                      IDEA_RESPONSES.map((s) => ({ value: s, label: humanize(s) })),
                      form.status,
                    )}
                  </select>
                  <label for="note-${idea._id}">Note <span class="hint">(optional; residents read it)</span></label>
                  <textarea id="note-${idea._id}" name="note" maxlength="1000">${form.note}</textarea>
                  <p class="hint">
                    The author and the ${idea.supports} supporter${idea.supports === 1 ? '' : 's'} are told once per status, by broadcast (opt-outs and quiet
                    hours apply).
                  </p>
                  <div class="actions"><button type="submit">Send answer</button></div>
                </form>
              </details>
            </article>`;
          })
    }`;
}

/** "Answer sent: 3 residents told" from numbers in the query; anything that is not a count is ignored. */
function answeredFlash(query: Record<string, unknown>): Flash | undefined {
  if (query['done'] === 'threshold') return { kind: 'ok', text: 'Support threshold saved.' };
  if (query['done'] !== 'answered') return undefined;
  const notice = typeof query['notice'] === 'string' && /^B-[A-Z0-9]{5}$/.test(query['notice']) ? query['notice'] : null;
  if (!notice) return { kind: 'ok', text: 'Answer saved.' };
  if (query['queued'] !== '1')
    return { kind: 'ok', text: `Answer saved. Its residents were told of this status before (broadcast ${notice}): nobody is told twice.` };
  return { kind: 'ok', text: `Answer saved. Its author and supporters are told by broadcast ${notice}.` };
}
