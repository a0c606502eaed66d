/**
 * The broadcast pages: the list (`/admin/broadcasts`), the "New broadcast" form
 * (`/admin/broadcasts/new`) with its recipient preview (`POST /admin/broadcasts/preview`, which
 * shows the form again with the counts), sending or scheduling (`POST /admin/broadcasts`), and
 * one broadcast's progress (`/admin/broadcasts/:id`) with pause, resume and cancel.
 *
 * The progress page shows the counts as they are at load, so it works without JavaScript; with
 * it, `/admin/assets/broadcast-progress.js` polls the staff API and updates the numbers in place
 * (a file, because the CSP allows no inline script).
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../../service.js';
import { CHANNEL_NAMES, type ChannelName } from '../../../core/message.js';
import type { AudienceFilter, BroadcastRecord, IdeaNotice, VolunteerRoleRecord } from '../../../domain/records.js';
import {
  DELIVERY_STATES,
  MAX_ANSWER_WINDOW_HOURS,
  MAX_MESSAGE_LENGTH,
  SMS_BROADCAST_SEGMENTS,
  broadcastProgress,
  cancelBroadcast,
  createBroadcastOnce,
  getBroadcast,
  listBroadcasts,
  pauseBroadcast,
  previewAudience,
  resumeBroadcast,
  type AudiencePreview,
  type BroadcastInput,
  type BroadcastProgress,
} from '../../../staff/broadcasts.js';
import { listRoles } from '../../../staff/role-desk.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { HttpError } from '../../../core/errors.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { formatNumber } from './charts.js';
import { fromCityLocalInput, toCityLocalInput } from '../../../domain/city-time.js';
import {
  checked,
  csrfField,
  errorList,
  field,
  flashOf,
  formFields,
  humanize,
  issuesOf,
  lines,
  listField,
  options,
  sendPage,
  timeOf,
  type Flash,
} from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 100 });
const BROADCAST_REF = /^[Bb]-?[A-Za-z0-9]{5}$/;
const ROLE_REF = /^V-[A-Za-z0-9]{5}$/;
/** The progress script, served by the dashboard router from `pages/assets/`. */
export const PROGRESS_SCRIPT = '/admin/assets/broadcast-progress.js';

/**
 * Channels staff can aim a broadcast at. The console is the developer's terminal channel: its
 * residents are people trying the bot out, never an audience.
 */
const AUDIENCE_CHANNELS = CHANNEL_NAMES.filter((channel) => channel !== 'console');

const BROADCAST_FLASH: Readonly<Record<string, string>> = {
  created: 'Broadcast created. The worker sends it now, or at its time.',
  scheduled: 'Broadcast scheduled.',
  paused: 'Broadcast paused: the message in flight finishes, no more are sent.',
  resumed: 'Broadcast resumed.',
  cancelled: 'Broadcast cancelled: the deliveries still queued are skipped.',
};

/** The form's audience part, after the strings are turned into values. */
const audienceForm = z.strictObject({
  channels: z.array(z.enum(AUDIENCE_CHANNELS)),
  locales: z.array(z.string().regex(/^[a-z]{2}$/, 'must be a two-letter language code')),
  interests: z.array(z.string().max(40, 'each interest at most 40 characters')).max(100),
  neighbourhoods: z.array(z.string().max(80, 'each neighbourhood at most 80 characters')).max(100),
  activeWithinDays: z.coerce.number().int().min(1).max(3650).optional(),
});

/** The whole form, after the strings are turned into values. */
const broadcastForm = z.strictObject({
  messages: z.record(z.string(), z.string().max(MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`)),
  roleId: z.string().regex(ROLE_REF, 'must be one of the open roles').optional(),
  audience: audienceForm,
  answerWindowHours: z.coerce.number().int().min(1).max(MAX_ANSWER_WINDOW_HOURS).optional(),
});

/** The form as typed, so it comes back as staff left it after a preview or a refusal. */
export interface BroadcastForm {
  messages: Record<string, string>;
  roleId: string;
  channels: string[];
  locales: string[];
  interests: string;
  neighbourhoods: string;
  activeWithinDays: string;
  when: 'now' | 'later';
  sendAt: string;
  answerWindowHours: string;
}

/** The broadcast page routes. */
export function broadcastPages(service: Service): Router {
  const router = express.Router();
  const { store } = service;
  const timeZone = service.config.cityTimeZone;
  const locales = service.i18n.locales;
  const defaultLocale = service.config.defaultLocale;
  const reaches = (channel: ChannelName) => service.messenger.reaches(channel);
  const frame = (res: express.Response, title: string, flash?: Flash) => ({
    title,
    section: 'broadcasts' as const,
    actor: actorOf(res),
    cityName: service.config.cityName,
    ...(flash ? { flash } : {}),
  });

  const emptyForm = (): BroadcastForm => ({
    messages: {},
    roleId: '',
    channels: [],
    locales: [],
    interests: '',
    neighbourhoods: '',
    activeWithinDays: '',
    when: 'now',
    sendAt: toCityLocalInput(new Date(Date.now() + 3_600_000), timeZone),
    answerWindowHours: String(service.config.volunteerCallAnswerHours),
  });

  const showForm = async (res: express.Response, form: BroadcastForm, extra: { errors?: string[]; preview?: AudiencePreview; status?: number } = {}) => {
    const roles = await listRoles(service.staff, { status: 'open' });
    sendPage(
      res,
      frame(res, 'New broadcast'),
      newBroadcastView({
        form,
        roles,
        locales,
        defaultLocale,
        timeZone,
        actor: actorOf(res),
        errors: extra.errors ?? [],
        ...(extra.preview ? { preview: extra.preview } : {}),
        reaches,
      }),
      extra.status ?? 200,
    );
  };

  router.get('/broadcasts', async (req, res) => {
    const broadcasts = await listBroadcasts(store, 100);
    sendPage(res, frame(res, 'Broadcasts', flashOf(req.query, BROADCAST_FLASH)), broadcastListView(broadcasts, timeZone));
  });

  router.get('/broadcasts/new', (req, res) => {
    const form = emptyForm();
    // "Broadcast a call for this role" from a role's page.
    const role = typeof req.query['role'] === 'string' && ROLE_REF.test(req.query['role']) ? req.query['role'] : '';
    return showForm(res, { ...form, roleId: role });
  });

  router.post('/broadcasts/preview', formParser, async (req, res) => {
    const form = broadcastFormOf(req.body, locales, emptyForm());
    const audience = audienceOf(form);
    if (!audience.ok) return showForm(res, form, { errors: audience.errors, status: 400 });
    const preview = await previewAudience(store, audience.value, new Date(), reaches);
    return showForm(res, form, { preview });
  });

  router.post('/broadcasts', formParser, async (req, res) => {
    const form = broadcastFormOf(req.body, locales, emptyForm());
    const input = inputOf(form, timeZone, defaultLocale);
    if (!input.ok) return showForm(res, form, { errors: input.errors, status: 400 });
    try {
      // A second press of Send (a double click, a reloaded form, a colleague) while the same words
      // to the same residents for the same time are still going out is refused, not sent twice.
      const once = `staff-form|${input.value.sendAt?.toISOString() ?? 'now'}`;
      const { broadcast } = await createBroadcastOnce(service, input.value, once, actorOf(res));
      service.broadcasts.kick();
      res.redirect(303, `/admin/broadcasts/${encodeURIComponent(broadcast._id)}?done=${form.when === 'later' ? 'scheduled' : 'created'}`);
    } catch (error) {
      // Refused input (a closed role, a date too far ahead, the same broadcast going out) comes back with the form.
      if (!(error instanceof StaffError) || (error.status !== 400 && error.status !== 409)) throw error;
      return showForm(res, form, { errors: [error.message], status: error.status });
    }
  });

  router.get('/broadcasts/:id', async (req, res) => {
    const id = refOf(req.params.id);
    const broadcast = await getBroadcast(store, id);
    const progress = await broadcastProgress(store, id);
    if (!broadcast || !progress) throw new HttpError(404, `No broadcast ${id}`);
    const role = broadcast.roleId ? await store.roles.get(broadcast.roleId) : null;
    sendPage(
      res,
      { ...frame(res, `Broadcast ${broadcast._id}`, flashOf(req.query, BROADCAST_FLASH)), scripts: [PROGRESS_SCRIPT] },
      broadcastDetailView({ broadcast, progress, role, actor: actorOf(res), timeZone }),
    );
  });

  router.post('/broadcasts/:id/pause', formParser, async (req, res) => {
    const broadcast = await pauseBroadcast(store, refOf(req.params.id), actorOf(res));
    res.redirect(303, `/admin/broadcasts/${encodeURIComponent(broadcast._id)}?done=paused`);
  });

  router.post('/broadcasts/:id/resume', formParser, async (req, res) => {
    const broadcast = await resumeBroadcast(store, refOf(req.params.id), actorOf(res));
    service.broadcasts.kick();
    res.redirect(303, `/admin/broadcasts/${encodeURIComponent(broadcast._id)}?done=resumed`);
  });

  router.post('/broadcasts/:id/cancel', formParser, async (req, res) => {
    const { broadcast } = await cancelBroadcast(store, refOf(req.params.id), actorOf(res));
    res.redirect(303, `/admin/broadcasts/${encodeURIComponent(broadcast._id)}?done=cancelled`);
  });

  return router;
}

/** The form's strings from a urlencoded body (checkbox groups are repeated fields). */
function broadcastFormOf(body: unknown, locales: readonly string[], defaults: BroadcastForm): BroadcastForm {
  const fields = formFields(body);
  const messages: Record<string, string> = {};
  for (const locale of locales) {
    const text = field(fields, `message_${locale}`);
    if (text) messages[locale] = text;
  }
  return {
    messages,
    roleId: field(fields, 'roleId') ?? '',
    channels: fields.get('channels') ?? [],
    locales: fields.get('locales') ?? [],
    interests: listField(fields, 'interests').join(', '),
    neighbourhoods: listField(fields, 'neighbourhoods').join(', '),
    activeWithinDays: field(fields, 'activeWithinDays') ?? '',
    when: field(fields, 'when') === 'later' ? 'later' : 'now',
    sendAt: field(fields, 'sendAt') ?? defaults.sendAt,
    answerWindowHours: field(fields, 'answerWindowHours') ?? defaults.answerWindowHours,
  };
}

function split(list: string): string[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** The audience filter of a form, checked. */
function audienceOf(form: BroadcastForm): { ok: true; value: AudienceFilter } | { ok: false; errors: string[] } {
  const parsed = audienceForm.safeParse({
    channels: form.channels,
    locales: form.locales,
    interests: split(form.interests),
    neighbourhoods: split(form.neighbourhoods),
    ...(form.activeWithinDays ? { activeWithinDays: form.activeWithinDays } : {}),
  });
  if (!parsed.success) return { ok: false, errors: issuesOf(parsed.error).map((issue) => `audience.${issue}`) };
  const { channels, locales, interests, neighbourhoods, activeWithinDays } = parsed.data;
  return {
    ok: true,
    value: {
      ...(channels.length ? { channels } : {}),
      ...(locales.length ? { locales } : {}),
      ...(interests.length ? { interests } : {}),
      ...(neighbourhoods.length ? { neighbourhoods } : {}),
      ...(activeWithinDays !== undefined ? { activeWithinDays } : {}),
    },
  };
}

/** The broadcast a form asks for, checked; the staff service checks the rest (an open role, the default language's message). */
export function inputOf(form: BroadcastForm, timeZone: string, defaultLocale: string): { ok: true; value: BroadcastInput } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const audience = audienceOf(form);
  if (!audience.ok) errors.push(...audience.errors);
  if (!form.messages[defaultLocale])
    errors.push(`message_${defaultLocale}: the ${defaultLocale} message is required (residents in other languages get it when theirs is empty)`);
  let sendAt: Date | undefined;
  if (form.when === 'later') {
    sendAt = fromCityLocalInput(form.sendAt, timeZone) ?? undefined;
    if (!sendAt) errors.push('sendAt: give the date and time to send at');
  }
  const parsed = broadcastForm.safeParse({
    messages: form.messages,
    ...(form.roleId ? { roleId: form.roleId } : {}),
    audience: { channels: form.channels, locales: form.locales, interests: split(form.interests), neighbourhoods: split(form.neighbourhoods) },
    ...(form.answerWindowHours ? { answerWindowHours: form.answerWindowHours } : {}),
  });
  if (!parsed.success) errors.push(...issuesOf(parsed.error));
  if (errors.length > 0 || !parsed.success || !audience.ok) return { ok: false, errors: [...new Set(errors)] };
  return {
    ok: true,
    value: {
      messages: parsed.data.messages,
      audience: audience.value,
      ...(parsed.data.roleId ? { roleId: parsed.data.roleId } : {}),
      ...(sendAt ? { sendAt } : {}),
      ...(parsed.data.answerWindowHours !== undefined ? { answerWindowHours: parsed.data.answerWindowHours } : {}),
    },
  };
}

/** The list page's content. */
export function broadcastListView(broadcasts: BroadcastRecord[], timeZone: string): SafeHtml {
  return html`<h1>Broadcasts</h1>
    <p><a class="button" href="/admin/broadcasts/new">New broadcast</a></p>
    ${
      broadcasts.length === 0
        ? html`<p class="muted">No broadcasts yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Reference</th>
                <th scope="col">Message</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">Recipients</th>
                <th scope="col">Send at</th>
                <th scope="col">Created</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              ${broadcasts.map(
                (broadcast) =>
                  html`<tr>
                    <td><a href="/admin/broadcasts/${encodeURIComponent(broadcast._id)}">${broadcast._id}</a></td>
                    <td>${broadcast.ideaNotice ? ideaNoticeSummary(broadcast.ideaNotice) : excerpt(Object.values(broadcast.messages)[0] ?? '', 80)}</td>
                    <td><span class="badge ${broadcast.status}">${humanize(broadcast.status)}</span></td>
                    <td class="num">${formatNumber(broadcast.planned)}</td>
                    <td>${timeOf(broadcast.sendAt, timeZone)}</td>
                    <td>${timeOf(broadcast.createdAt, timeZone)}</td>
                    <td>${broadcast.createdBy}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

/** The "New broadcast" page's content, with the preview's counts when there are some. */
export function newBroadcastView(view: {
  form: BroadcastForm;
  roles: VolunteerRoleRecord[];
  locales: readonly string[];
  defaultLocale: string;
  timeZone: string;
  actor: StaffActor;
  errors: string[];
  preview?: AudiencePreview;
  reaches: (channel: ChannelName) => boolean;
}): SafeHtml {
  const { form } = view;
  const ordered = [view.defaultLocale, ...view.locales.filter((locale) => locale !== view.defaultLocale)];
  return html`<p><a href="/admin/broadcasts">&larr; All broadcasts</a></p>
    <h1>New broadcast</h1>
    <p class="muted">A volunteer call to residents who opted in. Residents who said STOP are never messaged: they are counted as skipped.</p>
    ${errorList(view.errors)} ${view.preview && previewView(view.preview)}
    <form class="stack card" method="post" action="/admin/broadcasts">
      ${csrfField(view.actor)}
      <h2>Message</h2>
      <p class="hint muted">
        Up to ${MAX_MESSAGE_LENGTH} characters in each language. By SMS, the Yes/No choices of a volunteer call and "Reply STOP to opt out" (in the resident's
        language) are added, and the whole stays within ${SMS_BROADCAST_SEGMENTS} text segments.
      </p>
      ${ordered.map(
        (locale) =>
          html`<label for="message_${locale}"
              >${
                locale === view.defaultLocale
                  ? html`Message in ${locale} <span class="hint">(required)</span>`
                  : html`Message in ${locale} <span class="hint">(optional; falls back to ${view.defaultLocale})</span>`
              }</label
            >
            <textarea
              id="message_${locale}"
              name="message_${locale}"
              maxlength="${MAX_MESSAGE_LENGTH}"
              ${locale === view.defaultLocale ? html`required` : html``}
            >
${form.messages[locale] ?? ''}</textarea>`,
      )}
      <label for="roleId">Volunteer role <span class="hint">(optional: a "yes" signs the resident up for it)</span></label>
      <select id="roleId" name="roleId">
        ${options([{ value: '', label: 'No role (information only)' }, ...view.roles.map((role) => ({ value: role._id, label: `${role._id}: ${role.title}` }))], form.roleId)}
      </select>
      <label for="answerWindowHours">Answers count for (hours)</label>
      <input type="number" id="answerWindowHours" name="answerWindowHours" min="1" max="${MAX_ANSWER_WINDOW_HOURS}" value="${form.answerWindowHours}" />

      <h2>Audience</h2>
      <p class="hint muted">Everyone who opted in to volunteer calls, narrowed by what you choose here. An empty choice narrows nothing.</p>
      <fieldset>
        <legend>Channels</legend>
        ${AUDIENCE_CHANNELS.map(
          (channel) =>
            html`<label
              ><input type="checkbox" name="channels" value="${channel}" ${checked(form.channels.includes(channel))} /> ${channel}${
                view.reaches(channel) ? '' : ' (off)'
              }</label
            >`,
        )}
      </fieldset>
      <fieldset>
        <legend>Languages</legend>
        ${view.locales.map(
          (locale) => html`<label><input type="checkbox" name="locales" value="${locale}" ${checked(form.locales.includes(locale))} /> ${locale}</label>`,
        )}
      </fieldset>
      <label for="interests">Interests <span class="hint">(comma-separated; any one matches)</span></label>
      <input type="text" id="interests" name="interests" value="${form.interests}" />
      <label for="neighbourhoods">Neighbourhoods <span class="hint">(comma-separated)</span></label>
      <input type="text" id="neighbourhoods" name="neighbourhoods" value="${form.neighbourhoods}" />
      <label for="activeWithinDays">Active within (days) <span class="hint">(optional: wrote to us in the last N days)</span></label>
      <input type="number" id="activeWithinDays" name="activeWithinDays" min="1" max="3650" value="${form.activeWithinDays}" />

      <h2>When</h2>
      <fieldset>
        <legend>Send</legend>
        <label><input type="radio" name="when" value="now" ${checked(form.when === 'now')} /> Now</label>
        <label><input type="radio" name="when" value="later" ${checked(form.when === 'later')} /> At</label>
        <input type="datetime-local" name="sendAt" aria-label="Send at (${view.timeZone} time)" value="${form.sendAt}" />
        <span class="hint muted">${view.timeZone} time. Quiet hours apply either way.</span>
      </fieldset>

      <div class="actions">
        <button type="submit" class="secondary" formaction="/admin/broadcasts/preview" formnovalidate>Preview recipients</button>
        <button type="submit">Create broadcast</button>
      </div>
    </form>`;
}

/** The recipient counts of a preview. */
function previewView(preview: AudiencePreview): SafeHtml {
  const channels = Object.entries(preview.byChannel);
  const languages = Object.entries(preview.byLocale);
  return html`<section class="card" id="preview" aria-labelledby="preview-title">
    <h2 id="preview-title">Recipients</h2>
    <dl class="facts">
      <dt>In the audience</dt>
      <dd data-preview="total">${formatNumber(preview.total)}</dd>
      <dt>Will be sent the message</dt>
      <dd data-preview="sendable">${formatNumber(preview.sendable)}</dd>
      <dt>Opted out (skipped)</dt>
      <dd data-preview="optedOut">${formatNumber(preview.optedOut)}</dd>
      <dt>On a channel that is off (skipped)</dt>
      <dd data-preview="channelOff">${formatNumber(preview.channelOff)}</dd>
      <dt>Per channel</dt>
      <dd>
        ${channels.length ? channels.map(([channel, count], i) => html`${i ? ', ' : ''}${channel}: <span data-preview="channel-${channel}">${count}</span>`) : '-'}
      </dd>
      <dt>Per language</dt>
      <dd>${languages.length ? languages.map(([locale, count], i) => html`${i ? ', ' : ''}${locale}: ${count}`) : '-'}</dd>
    </dl>
  </section>`;
}

/** One broadcast's page content: what it says, to whom, and how far it got (live with the script). */
export function broadcastDetailView(view: {
  broadcast: BroadcastRecord;
  progress: BroadcastProgress;
  role: VolunteerRoleRecord | null;
  actor: StaffActor;
  timeZone: string;
}): SafeHtml {
  const { broadcast, progress, timeZone } = view;
  const ref = encodeURIComponent(broadcast._id);
  const channels = Object.keys(progress.byChannel) as ChannelName[];
  const settled = progress.byState.sent + progress.byState.delivered + progress.byState.failed + progress.byState.skipped;
  const rowTotal = (counts: Record<string, number>) => DELIVERY_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
  const { audience } = broadcast;
  return html`<p><a href="/admin/broadcasts">&larr; All broadcasts</a></p>
    <div data-broadcast-id="${broadcast._id}">
      <h1>Broadcast ${broadcast._id} <span class="badge ${progress.status}" data-field="status">${progress.status}</span></h1>
      <section class="card">
        <dl class="facts">
          ${
            broadcast.ideaNotice &&
            html`<dt>Idea notice</dt>
              <dd>${ideaNoticeSummary(broadcast.ideaNotice)} <span class="muted">(composed in each resident's language)</span></dd>`
          }
          ${Object.entries(broadcast.messages).map(
            ([locale, text]) =>
              html`<dt>Message (${locale})</dt>
                <dd>${lines(text)}</dd>`,
          )}
          <dt>Role</dt>
          <dd>
            ${view.role ? html`<a href="/admin/roles/${encodeURIComponent(view.role._id)}">${view.role._id}: ${view.role.title}</a>` : (broadcast.roleId ?? 'None')}
          </dd>
          ${
            broadcast.ballotId
              ? html`<dt>Ballot</dt>
                  <dd><a href="/admin/ballots/${encodeURIComponent(broadcast.ballotId)}">${broadcast.ballotId}</a> (a reply of numbers votes)</dd>`
              : ''
          }
          <dt>Audience</dt>
          <dd>
            ${
              [
                audience.channels?.length ? `channels: ${audience.channels.join(', ')}` : '',
                audience.locales?.length ? `languages: ${audience.locales.join(', ')}` : '',
                audience.interests?.length ? `interests: ${audience.interests.join(', ')}` : '',
                audience.neighbourhoods?.length ? `neighbourhoods: ${audience.neighbourhoods.join(', ')}` : '',
                audience.activeWithinDays ? `active within ${audience.activeWithinDays} days` : '',
                audience.shiftId ? `the confirmed volunteers of shift ${audience.shiftId}` : '',
                audience.reports?.length
                  ? `the reporters and followers of ${audience.reports.length} report${audience.reports.length === 1 ? '' : 's'}${audience.optedIn === false ? ' only' : ', and opted-in residents'}`
                  : '',
                audience.ideaId ? `the author and supporters of idea ${audience.ideaId}` : '',
                audience.ballotId ? `everyone who voted in ballot ${audience.ballotId}` : '',
              ]
                .filter(Boolean)
                .join('; ') || 'Everyone who opted in to volunteer calls'
            }
          </dd>
          <dt>Send at</dt>
          <dd>${timeOf(broadcast.sendAt, timeZone)}</dd>
          <dt>Created</dt>
          <dd>${timeOf(broadcast.createdAt, timeZone)} by ${broadcast.createdBy}</dd>
          <dt>Answers count for</dt>
          <dd>${broadcast.answerWindowHours} hours</dd>
        </dl>
        <div class="actions">
          <form
            method="post"
            action="/admin/broadcasts/${ref}/pause"
            data-show-when="scheduled sending"
            ${hiddenUnless(progress.status, ['scheduled', 'sending'])}
          >
            ${csrfField(view.actor)}<button type="submit" class="secondary">Pause</button>
          </form>
          <form method="post" action="/admin/broadcasts/${ref}/resume" data-show-when="paused" ${hiddenUnless(progress.status, ['paused'])}>
            ${csrfField(view.actor)}<button type="submit" class="secondary">Resume</button>
          </form>
          <form
            method="post"
            action="/admin/broadcasts/${ref}/cancel"
            data-show-when="scheduled sending paused"
            ${hiddenUnless(progress.status, ['scheduled', 'sending', 'paused'])}
          >
            ${csrfField(view.actor)}<button type="submit" class="danger">Cancel broadcast</button>
          </form>
        </div>
      </section>

      <h2>Progress</h2>
      <p>
        <strong data-field="settled">${formatNumber(settled)}</strong> of <strong data-field="planned">${formatNumber(progress.planned)}</strong> deliveries
        settled; <strong data-field="answered">${formatNumber(progress.answered)}</strong> residents answered.
        <span class="muted" data-field="live" aria-live="polite">${isFinal(progress) ? 'Final.' : 'Counts as of loading the page.'}</span>
      </p>
      ${
        channels.length === 0
          ? html`<p class="muted">Nobody is in this broadcast's audience.</p>`
          : html`<table>
              <caption class="muted">
                Deliveries per channel and state
              </caption>
              <thead>
                <tr>
                  <th scope="col">Channel</th>
                  ${DELIVERY_STATES.map((state) => html`<th scope="col" class="num">${humanize(state)}</th>`)}
                  <th scope="col" class="num">Total</th>
                </tr>
              </thead>
              <tbody>
                ${channels.map((channel) => {
                  const counts = progress.byChannel[channel] ?? {};
                  return html`<tr>
                    <th scope="row">${channel}</th>
                    ${DELIVERY_STATES.map((state) => html`<td class="num" data-count="${channel}.${state}">${counts[state as keyof typeof counts] ?? 0}</td>`)}
                    <td class="num" data-count="${channel}.total">${rowTotal(counts)}</td>
                  </tr>`;
                })}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">All</th>
                  ${DELIVERY_STATES.map((state) => html`<td class="num" data-count="total.${state}">${progress.byState[state]}</td>`)}
                  <td class="num" data-count="total.total">${rowTotal(progress.byState)}</td>
                </tr>
              </tfoot>
            </table>`
      }
      ${
        progress.byReason && Object.keys(progress.byReason).length > 0
          ? html`<p>
              Skipped or failed, by reason (at page load):
              ${Object.entries(progress.byReason).map(([reason, count], i) => html`${i ? ', ' : ''}${humanize(reason)}: ${count}`)}
            </p>`
          : ''
      }
      ${
        progress.byAnswer && Object.keys(progress.byAnswer).length > 0
          ? html`<p>
              Answers (at page load): ${Object.entries(progress.byAnswer).map(([answer, count], i) => html`${i ? ', ' : ''}${humanize(answer)}: ${count}`)}
            </p>`
          : ''
      }
      <p><a href="/admin/broadcasts/${ref}">Reload</a></p>
    </div>`;
}

/** Whether a broadcast's counts can change no more (the script stops polling at this point too). */
function isFinal(progress: BroadcastProgress): boolean {
  return (progress.status === 'done' || progress.status === 'cancelled') && progress.byState.queued + progress.byState.sending === 0;
}

function hiddenUnless(status: string, statuses: readonly string[]): SafeHtml {
  return statuses.includes(status) ? html`` : html`hidden`;
}

function excerpt(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A broadcast reference from the path, normalised; a 404 when it cannot be one. */
function refOf(value: unknown): string {
  if (typeof value !== 'string' || !BROADCAST_REF.test(value)) throw new HttpError(404, 'No such broadcast');
  return `B-${value.replace(/^[Bb]-?/, '').toUpperCase()}`;
}

/** What an idea's notice says, for staff: which idea and what happened (its title is a resident's words: escaped where shown). */
function ideaNoticeSummary(notice: IdeaNotice): string {
  const what = notice.event === 'reached' ? `reached ${notice.supporters ?? 0} supporters` : `answered: ${humanize(notice.status)}`;
  return `Idea ${notice.ideaId} "${notice.title}" ${what}`;
}
