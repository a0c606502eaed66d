/**
 * The ballots pages (issue 21): `/admin/ballots` lists the ballots and has the form of a new one
 * (titles and question in English and Spanish, up to twelve projects with their costs, the rule,
 * the window in the city's time); `/admin/ballots/:id` shows one: its projects, the buttons that
 * move it (open, close, send to residents, publish the result), its draft's form, and its results
 * (votes, share, funded projects for a budget ballot, turnout by channel and by language). Forms
 * carry the CSRF field; every text staff or residents wrote is escaped by the `html` tag.
 */
import express, { type Response, type Router } from 'express';
import type { Service } from '../../../service.js';
import { HttpError } from '../../../core/errors.js';
import { fromCityLocalInput, toCityLocalInput } from '../../../domain/city-time.js';
import { ballotText } from '../../../domain/ballots.js';
import type { BallotRecord } from '../../../domain/records.js';
import {
  MAX_BALLOT_PROJECTS,
  ballotReport,
  closeBallot,
  createBallot,
  listBallotsForStaff,
  openBallot,
  publishResults,
  sendBallot,
  updateBallot,
  type BallotInput,
  type BallotReport,
} from '../../../staff/ballot-desk.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, errorList, field, flashOf, formFields, humanize, sendPage, timeOf } from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 120 });
/** The form's languages: the city's two (more are added through the API). */
const FORM_LOCALES = ['en', 'es'] as const;

const FLASH: Readonly<Record<string, string>> = {
  created: 'Ballot saved as a draft.',
  saved: 'Draft saved.',
  opened: 'Ballot open: residents can vote from its opening time (write VOTE / VOTAR).',
  closed: 'Ballot closed: no more votes. Publish the result when ready.',
  sent: 'Ballot sent: the broadcast goes out to opted-in residents.',
  published: 'Result published: every voter is told once, through a broadcast.',
};

/** The ballots page routes. */
export function ballotPages(service: Service): Router {
  const router = express.Router();
  const { store } = service;
  const { defaultLocale, cityTimeZone: timeZone } = service.config;

  router.get('/ballots', async (req, res) => {
    const flash = flashOf(req.query, FLASH);
    await sendList(res, actorOf(res), { errors: [], ...(flash ? { flash } : {}) });
  });

  router.post('/ballots', formParser, async (req, res) => {
    const actor = actorOf(res);
    const fields = formFields(req.body);
    const input = inputOf(fields, timeZone);
    try {
      if ('errors' in input) throw new StaffError(400, input.errors.join(' '));
      const ballot = await createBallot(store, input, actor, defaultLocale);
      res.redirect(303, `/admin/ballots/${ballot._id}?done=created`);
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      await sendList(res, actor, { errors: [error.message], fields }, 400);
    }
  });

  router.get('/ballots/:id', async (req, res) => {
    const flash = flashOf(req.query, FLASH);
    await sendOne(res, actorOf(res), await ballotOf(String(req.params.id)), { errors: [], ...(flash ? { flash } : {}) });
  });

  router.post('/ballots/:id', formParser, async (req, res) => {
    const actor = actorOf(res);
    const ballot = await ballotOf(String(req.params.id));
    const fields = formFields(req.body);
    const input = inputOf(fields, timeZone);
    try {
      if ('errors' in input) throw new StaffError(400, input.errors.join(' '));
      await updateBallot(store, ballot._id, input, actor, defaultLocale);
      res.redirect(303, `/admin/ballots/${ballot._id}?done=saved`);
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      await sendOne(res, actor, ballot, { errors: [error.message], fields }, 400);
    }
  });

  const action = (name: 'open' | 'close' | 'send' | 'publish', done: string, run: (ballot: BallotRecord, actor: StaffActor) => Promise<unknown>) =>
    router.post(`/ballots/:id/${name}`, formParser, async (req, res) => {
      const actor = actorOf(res);
      const ballot = await ballotOf(String(req.params.id));
      try {
        await run(ballot, actor);
      } catch (error) {
        if (!(error instanceof StaffError) || error.status === 404) throw error;
        return sendOne(res, actor, (await store.ballots.get(ballot._id)) ?? ballot, { errors: [error.message] }, error.status);
      }
      res.redirect(303, `/admin/ballots/${ballot._id}?done=${done}`);
    });
  action('open', 'opened', (ballot, actor) => openBallot(store, ballot._id, actor));
  action('close', 'closed', (ballot, actor) => closeBallot(store, ballot._id, actor));
  action('send', 'sent', async (ballot, actor) => {
    await sendBallot(service, ballot._id, {}, actor);
    service.broadcasts.kick();
  });
  action('publish', 'published', async (ballot, actor) => {
    await publishResults(service, ballot._id, actor);
    service.broadcasts.kick();
  });

  async function ballotOf(id: string): Promise<BallotRecord> {
    const ref = /^[Pp]-?[A-Za-z0-9]{5}$/.test(id) ? `P-${id.replace(/^[Pp]-?/, '').toUpperCase()}` : null;
    const ballot = ref ? await store.ballots.get(ref) : null;
    if (!ballot) throw new HttpError(404, 'No such ballot.');
    return ballot;
  }

  async function sendList(res: Response, actor: StaffActor, state: PageState, status = 200): Promise<void> {
    const ballots = await listBallotsForStaff(store);
    sendPage(
      res,
      { title: 'Ballots', section: 'ballots', actor, cityName: service.config.cityName, ...(state.flash ? { flash: state.flash } : {}) },
      html`<h1>Ballots</h1>
        <p class="muted">
          Participatory budgeting by text: residents write VOTE (VOTAR), or reply with numbers to a ballot sent to them, and may change their vote until it
          closes.
        </p>
        ${ballotList(ballots, defaultLocale, timeZone)}
        <section class="card">
          <h2>New ballot</h2>
          ${errorList(state.errors)} ${ballotForm(actor, '/admin/ballots', state.fields ?? new Map(), timeZone, 'Save as draft')}
        </section>`,
      status,
    );
  }

  async function sendOne(res: Response, actor: StaffActor, ballot: BallotRecord, state: PageState, status = 200): Promise<void> {
    const report = ballot.status === 'draft' ? null : await ballotReport(store, ballot, defaultLocale);
    const title = ballotText(ballot.title, defaultLocale, defaultLocale);
    sendPage(
      res,
      { title: `Ballot ${ballot._id}`, section: 'ballots', actor, cityName: service.config.cityName, ...(state.flash ? { flash: state.flash } : {}) },
      html`<p><a href="/admin/ballots">All ballots</a></p>
        <h1>${title} <span class="muted">${ballot._id}</span></h1>
        ${errorList(state.errors)}
        <section class="card">
          <p>
            <strong id="ballot-status">${humanize(ballot.status)}</strong> · ${ruleText(ballot)} · opens ${timeOf(ballot.opensAt, timeZone)}, closes
            ${timeOf(ballot.closesAt, timeZone)}
          </p>
          <p>${ballotText(ballot.question, defaultLocale, defaultLocale)}</p>
          ${actions(actor, ballot)}
        </section>
        ${report ? resultsView(ballot, report) : html``}
        ${
          ballot.status === 'draft'
            ? html`<section class="card">
                <h2>Edit the draft</h2>
                ${ballotForm(actor, `/admin/ballots/${ballot._id}`, state.fields ?? fieldsOf(ballot, timeZone), timeZone, 'Save the draft')}
              </section>`
            : html``
        }`,
      status,
    );
  }

  return router;
}

interface PageState {
  errors: string[];
  flash?: { kind: 'ok' | 'error'; text: string };
  fields?: Map<string, string[]>;
}

function ballotList(ballots: readonly BallotRecord[], defaultLocale: string, timeZone: string): SafeHtml {
  if (ballots.length === 0) return html`<p class="muted">No ballots yet.</p>`;
  return html`<table>
    <thead>
      <tr>
        <th>Ballot</th>
        <th>Status</th>
        <th>Rule</th>
        <th>Closes</th>
      </tr>
    </thead>
    <tbody>
      ${ballots.map(
        (ballot) =>
          html`<tr>
            <td>
              <a href="/admin/ballots/${ballot._id}">${ballotText(ballot.title, defaultLocale, defaultLocale)}</a> <span class="muted">${ballot._id}</span>
            </td>
            <td>${humanize(ballot.status)}${ballot.results ? ' (result published)' : ''}</td>
            <td>${ruleText(ballot)}</td>
            <td>${timeOf(ballot.closesAt, timeZone)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function ruleText(ballot: Pick<BallotRecord, 'rule' | 'budget' | 'maxPicks'>): string {
  return ballot.rule === 'budget' ? `Budget of ${money(ballot.budget ?? 0)}` : `Pick up to ${ballot.maxPicks ?? 0}`;
}

function money(amount: number): string {
  return `$${new Intl.NumberFormat('en', { maximumFractionDigits: 0 }).format(amount)}`;
}

/** The buttons that move a ballot on, by its status. */
function actions(actor: StaffActor, ballot: BallotRecord): SafeHtml {
  const button = (name: string, label: string) =>
    html`<form class="inline" method="post" action="/admin/ballots/${ballot._id}/${name}">${csrfField(actor)}<button type="submit">${label}</button></form>`;
  if (ballot.status === 'draft') return button('open', 'Open for votes');
  if (ballot.status === 'open') return html`${button('send', 'Send to opted-in residents')} ${button('close', 'Close voting now')}`;
  if (!ballot.results) return button('publish', 'Publish the result to voters');
  return html`<p class="muted">
    Result published ${ballot.resultsBroadcastId ? html`(<a href="/admin/broadcasts/${ballot.resultsBroadcastId}">broadcast</a>)` : ''}.
  </p>`;
}

/** Votes and share per project, funding, and turnout by channel and language. */
function resultsView(ballot: BallotRecord, report: BallotReport): SafeHtml {
  const turnout = (title: string, counts: Record<string, number>, id: string) =>
    html`<table id="${id}">
      <caption>
        ${title}
      </caption>
      <tbody>
        ${Object.entries(counts)
          .sort((a, b) => b[1] - a[1])
          .map(
            ([key, count]) =>
              html`<tr>
                <th scope="row">${key}</th>
                <td>${String(count)}</td>
              </tr>`,
          )}
      </tbody>
    </table>`;
  return html`<section class="card">
    <h2>${report.published ? 'Result (published)' : 'Results so far'}</h2>
    <p><strong id="ballot-voters">${String(report.voters)}</strong> voters${report.changed ? html`, ${String(report.changed)} changed their vote` : ''}.</p>
    <table id="ballot-results">
      <thead>
        <tr>
          <th>#</th>
          <th>Project</th>
          <th>Cost</th>
          <th>Votes</th>
          <th>Share of voters</th>
          ${ballot.rule === 'budget' ? html`<th>Funded</th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${report.projects.map(
          (project, i) =>
            html`<tr>
              <td>${String(i + 1)}</td>
              <td>${project.title}</td>
              <td>${money(project.cost)}</td>
              <td>${String(project.votes)}</td>
              <td>${`${Math.round(project.share * 100)}%`}</td>
              ${ballot.rule === 'budget' ? html`<td>${project.funded ? 'Funded' : '-'}</td>` : ''}
            </tr>`,
        )}
      </tbody>
    </table>
    ${ballot.rule === 'budget' ? html`<p>Funded in order of votes within the budget: ${money(report.fundedTotal)} of ${money(ballot.budget ?? 0)}.</p>` : ''}
    ${turnout('Turnout by channel', report.byChannel, 'turnout-channel')} ${turnout('Turnout by language', report.byLocale, 'turnout-language')}
  </section>`;
}

/** The ballot's form: texts per language, project rows, the rule and the window. */
function ballotForm(actor: StaffActor, action: string, fields: Map<string, string[]>, timeZone: string, submit: string): SafeHtml {
  const value = (name: string) => fields.get(name)?.[0] ?? '';
  const rule = value('rule') || 'budget';
  return html`<form class="stack" method="post" action="${action}">
    ${csrfField(actor)}
    ${FORM_LOCALES.map(
      (locale) =>
        html`<label for="title-${locale}">Title (${locale})</label>
          <input id="title-${locale}" type="text" name="title_${locale}" maxlength="120" value="${value(`title_${locale}`)}" />
          <label for="question-${locale}">Question (${locale})</label>
          <input id="question-${locale}" type="text" name="question_${locale}" maxlength="300" value="${value(`question_${locale}`)}" />`,
    )}
    <fieldset>
      <legend>Projects (leave the rest blank)</legend>
      ${Array.from(
        { length: MAX_BALLOT_PROJECTS },
        (_, i) =>
          html`<div class="row">
            <input
              type="text"
              name="project_${String(i)}_en"
              aria-label="Project ${String(i + 1)} (en)"
              placeholder="Project ${String(i + 1)} (en)"
              maxlength="80"
              value="${value(`project_${i}_en`)}"
            />
            <input
              type="text"
              name="project_${String(i)}_es"
              aria-label="Project ${String(i + 1)} (es)"
              placeholder="Proyecto ${String(i + 1)} (es)"
              maxlength="80"
              value="${value(`project_${i}_es`)}"
            />
            <input
              type="number"
              name="project_${String(i)}_cost"
              aria-label="Project ${String(i + 1)} cost"
              placeholder="Cost"
              min="0"
              step="1"
              value="${value(`project_${i}_cost`)}"
            />
          </div>`,
      )}
    </fieldset>
    <label for="ballot-rule">Rule</label>
    <select id="ballot-rule" name="rule">
      <option value="budget" ${rule === 'budget' ? html`selected` : ''}>A budget the picks must fit</option>
      <option value="pick_up_to" ${rule === 'pick_up_to' ? html`selected` : ''}>Pick up to a number of projects</option>
    </select>
    <label for="ballot-budget">Budget (for a budget ballot)</label>
    <input id="ballot-budget" type="number" name="budget" min="1" step="1" value="${value('budget')}" />
    <label for="ballot-max">Most picks (for a pick-up-to ballot)</label>
    <input id="ballot-max" type="number" name="maxPicks" min="1" max="${String(MAX_BALLOT_PROJECTS)}" step="1" value="${value('maxPicks')}" />
    <label for="ballot-opens">Opens (${timeZone} time)</label>
    <input id="ballot-opens" type="datetime-local" name="opensAt" value="${value('opensAt')}" />
    <label for="ballot-closes">Closes (${timeZone} time)</label>
    <input id="ballot-closes" type="datetime-local" name="closesAt" value="${value('closesAt')}" />
    <button type="submit">${submit}</button>
  </form>`;
}

/** A stored draft as the form's fields. */
function fieldsOf(ballot: BallotRecord, timeZone: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const locale of FORM_LOCALES) {
    fields.set(`title_${locale}`, [ballot.title[locale] ?? '']);
    fields.set(`question_${locale}`, [ballot.question[locale] ?? '']);
  }
  ballot.projects.forEach((project, i) => {
    for (const locale of FORM_LOCALES) fields.set(`project_${i}_${locale}`, [project.title[locale] ?? '']);
    fields.set(`project_${i}_cost`, [String(project.cost)]);
  });
  fields.set('rule', [ballot.rule]);
  if (ballot.budget !== undefined) fields.set('budget', [String(ballot.budget)]);
  if (ballot.maxPicks !== undefined) fields.set('maxPicks', [String(ballot.maxPicks)]);
  fields.set('opensAt', [toCityLocalInput(ballot.opensAt, timeZone)]);
  fields.set('closesAt', [toCityLocalInput(ballot.closesAt, timeZone)]);
  return fields;
}

/** The form as the desk's input, or what is wrong with it (the desk checks the rest). */
function inputOf(fields: Map<string, string[]>, timeZone: string): BallotInput | { errors: string[] } {
  const errors: string[] = [];
  const texts = (prefix: string) =>
    Object.fromEntries(FORM_LOCALES.map((locale) => [locale, field(fields, `${prefix}_${locale}`) ?? '']).filter(([, text]) => text));
  const whole = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    if (!/^\d{1,13}$/.test(text)) errors.push(`${name}: a whole number`);
    return Number(text);
  };
  const projects: BallotInput['projects'] = [];
  for (let i = 0; i < MAX_BALLOT_PROJECTS; i++) {
    const title = texts(`project_${i}`);
    const cost = field(fields, `project_${i}_cost`);
    if (Object.keys(title).length === 0 && cost === undefined) continue;
    projects.push({ title, cost: whole(`project ${i + 1} cost`, cost ?? '') ?? 0 });
  }
  const rule = field(fields, 'rule') === 'pick_up_to' ? 'pick_up_to' : 'budget';
  const budget = rule === 'budget' ? whole('budget', field(fields, 'budget')) : undefined;
  const maxPicks = rule === 'pick_up_to' ? whole('most picks', field(fields, 'maxPicks')) : undefined;
  const opensAt = fromCityLocalInput(field(fields, 'opensAt') ?? '', timeZone);
  const closesAt = fromCityLocalInput(field(fields, 'closesAt') ?? '', timeZone);
  if (!opensAt) errors.push('opens: a date and time');
  if (!closesAt) errors.push('closes: a date and time');
  if (errors.length > 0 || !opensAt || !closesAt) return { errors };
  return {
    title: texts('title'),
    question: texts('question'),
    projects,
    rule,
    ...(budget !== undefined ? { budget } : {}),
    ...(maxPicks !== undefined ? { maxPicks } : {}),
    opensAt,
    closesAt,
  };
}
