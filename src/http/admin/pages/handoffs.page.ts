/**
 * The inbox pages (`/admin/handoffs`): conversations handed to a person, the longest waiting
 * first, and one conversation (`/admin/handoffs/:id`) with its transcript, what the resident has
 * open, and the forms to assign it, reply on the resident's channel (a canned reply or words),
 * hand it back to the bot or close it. The list and the transcript refresh themselves
 * (assets/inbox.js fetches their `/live` fragments), so staff see new messages as they come.
 * Canned replies are kept at `/admin/canned-replies`. Everything residents wrote is escaped.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Service } from '../../../service.js';
import type { CannedReplyRecord, HandoffRecord, StaffUserRecord } from '../../../domain/records.js';
import { CATEGORIES } from '../../../domain/vocabulary.js';
import { maskAddress } from '../../../staff/role-desk.js';
import { StaffError } from '../../../staff/staff-deps.js';
import {
  addCannedReply,
  assignHandoff,
  closeHandoff,
  handBack,
  handoffConversation,
  handoffId,
  listCannedReplies,
  cannedReplyText,
  listHandoffs,
  MAX_STAFF_REPLY_LENGTH,
  removeCannedReply,
  replyToHandoff,
  type HandoffConversation,
} from '../../../staff/handoff-desk.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, sendStaffPage, type SafeHtml } from '../html.js';
import { transcriptView, viewContext, type ReportViewContext } from './reports.page.js';
import { csrfField, errorList, field, flashOf, formFields, humanize, options, sendPage, timeOf, type Flash } from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 });
const INBOX_FLASH: Readonly<Record<string, string>> = {
  closed: 'Request closed. The resident was not told.',
  handed_back: 'Handed back to the bot. The resident is being told.',
};
const CONVERSATION_FLASH: Readonly<Record<string, string>> = {
  replied: 'Reply sent to the resident on their channel.',
  assigned: 'Assignment saved.',
};
const CANNED_FLASH: Readonly<Record<string, string>> = { added: 'Canned reply added.', removed: 'Canned reply removed.' };
const REASONS: Readonly<Record<HandoffRecord['reason'], string>> = {
  asked: 'Asked for a person',
  stuck: 'Got stuck',
  question: 'A question the bot could not answer',
  broadcast_reply: 'Answered a broadcast',
};
const RECENTLY_CLOSED = 20;

/** The inbox page routes. */
export function handoffPages(service: Service): Router {
  const router = express.Router();
  const timeZone = service.config.cityTimeZone;

  router.get('/handoffs', async (req, res) => {
    const [open, closed] = await Promise.all([listHandoffs(service.staff, 'open'), listHandoffs(service.staff, 'closed', RECENTLY_CLOSED)]);
    const actor = actorOf(res);
    sendPage(
      res,
      {
        title: 'Inbox',
        section: 'handoffs',
        actor,
        cityName: service.config.cityName,
        scripts: ['/admin/assets/inbox.js'],
        ...withFlash(flashOf(req.query, INBOX_FLASH)),
      },
      inboxView(open, closed, actor, timeZone, Date.now()),
    );
  });

  // The waiting list alone, for the page's refresh.
  router.get('/handoffs/live', async (_req, res) => {
    sendStaffPage(res, waitingTable(await listHandoffs(service.staff, 'open'), timeZone, Date.now()));
  });

  router.get('/handoffs/:id', async (req, res) => {
    await sendConversation(req, res, String(req.params.id));
  });

  // The transcript alone, for the page's refresh.
  router.get('/handoffs/:id/live', async (req, res) => {
    const conversation = await handoffConversation(service.staff, String(req.params.id));
    sendStaffPage(res, liveTranscript(conversation, viewContext(service, req, actorOf(res))));
  });

  router.post('/handoffs/:id/reply', formParser, async (req, res) => {
    const id = String(req.params.id);
    const fields = formFields(req.body);
    const typed = field(fields, 'text')?.trim() ?? '';
    const cannedId = field(fields, 'canned') ?? '';
    // Without the page's script, a canned reply picked and nothing typed sends the canned text.
    const canned = !typed && cannedId ? await cannedReplyText(service.staff, cannedId) : undefined;
    try {
      await replyToHandoff(service.staff, id, typed || canned || '', actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status === 404) throw error;
      return sendConversation(req, res, id, { errors: [error.message], text: typed }, 400);
    }
    res.redirect(303, `/admin/handoffs/${encodeURIComponent(id)}?done=replied`);
  });

  router.post('/handoffs/:id/assign', formParser, async (req, res) => {
    const id = String(req.params.id);
    const username = field(formFields(req.body), 'username') ?? '';
    try {
      await assignHandoff(service.staff, id, username || null, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status === 404) throw error;
      return sendConversation(req, res, id, { errors: [error.message], text: '' }, 400);
    }
    res.redirect(303, `/admin/handoffs/${encodeURIComponent(id)}?done=assigned`);
  });

  router.post('/handoffs/:id/hand-back', formParser, async (req, res) => {
    const id = String(req.params.id);
    try {
      await handBack(service.staff, id, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status === 404) throw error;
      return sendConversation(req, res, id, { errors: [error.message], text: '' }, 409);
    }
    res.redirect(303, '/admin/handoffs?done=handed_back');
  });

  router.post('/handoffs/:id/close', formParser, async (req, res) => {
    await closeHandoff(service.staff, String(req.params.id), actorOf(res));
    res.redirect(303, '/admin/handoffs?done=closed');
  });

  router.get('/canned-replies', async (req, res) => {
    await sendCanned(req, res);
  });

  router.post('/canned-replies', formParser, async (req, res) => {
    const fields = formFields(req.body);
    const input = {
      locale: field(fields, 'locale') ?? '',
      category: field(fields, 'category') ?? '',
      title: field(fields, 'title') ?? '',
      text: field(fields, 'text') ?? '',
    };
    try {
      await addCannedReply(service.staff, input, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError)) throw error;
      return sendCanned(req, res, { errors: [error.message], form: input }, 400);
    }
    res.redirect(303, '/admin/canned-replies?done=added');
  });

  router.post('/canned-replies/:id/delete', formParser, async (req, res) => {
    await removeCannedReply(service.staff, String(req.params.id), actorOf(res));
    res.redirect(303, '/admin/canned-replies?done=removed');
  });

  async function sendConversation(req: Request, res: Response, id: string, form = { errors: [] as string[], text: '' }, status = 200): Promise<void> {
    const actor = actorOf(res);
    const conversation = await handoffConversation(service.staff, id);
    const [canned, staff] = await Promise.all([
      listCannedReplies(service.staff, conversation.resident.locale),
      service.store.staffUsers
        .find({ field: 'role', equals: 'coordinator' }, { limit: 500 })
        .then(async (coordinators) => [...(await service.store.staffUsers.find({ field: 'role', equals: 'admin' }, { limit: 500 })), ...coordinators]),
    ]);
    sendPage(
      res,
      {
        title: 'Conversation',
        section: 'handoffs',
        actor,
        cityName: service.config.cityName,
        scripts: ['/admin/assets/inbox.js', '/admin/assets/canned-fill.js'],
        ...withFlash(flashOf(req.query, CONVERSATION_FLASH)),
      },
      conversationView(conversation, {
        context: viewContext(service, req, actor),
        canned,
        staff: staff.filter((user) => user.active),
        languageName: (locale) => (service.i18n.locales.includes(locale) ? service.i18n.t(locale, 'language.name') : locale),
        form,
      }),
      status,
    );
  }

  async function sendCanned(
    req: Request,
    res: Response,
    state = { errors: [] as string[], form: { locale: '', category: '', title: '', text: '' } },
    status = 200,
  ): Promise<void> {
    const actor = actorOf(res);
    const replies = await listCannedReplies(service.staff);
    const languages = service.i18n.locales.map((locale) => ({ value: locale, label: service.i18n.t(locale, 'language.name') }));
    sendPage(
      res,
      { title: 'Canned replies', section: 'handoffs', actor, cityName: service.config.cityName, ...withFlash(flashOf(req.query, CANNED_FLASH)) },
      cannedView(replies, languages, actor, state),
      status,
    );
  }

  return router;
}

/** The inbox: who waits for a person, the longest waiting first, and the latest closed. */
export function inboxView(open: readonly HandoffRecord[], closed: readonly HandoffRecord[], actor: StaffActor, timeZone: string, now: number): SafeHtml {
  return html`<h1>Inbox</h1>
    <p class="muted">
      Residents who asked for a person, got stuck, asked something the bot could not answer, or answered a broadcast in words. While a person holds a
      conversation the bot stays quiet; hand it back when you are done. <a href="/admin/canned-replies">Canned replies</a>
    </p>
    <div data-live="/admin/handoffs/live">${waitingTable(open, timeZone, now)}</div>
    <h2>Recently closed</h2>
    ${
      closed.length === 0
        ? html`<p class="muted">None yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Resident</th>
                <th scope="col">Channel</th>
                <th scope="col">Why</th>
                <th scope="col">Asked</th>
                <th scope="col">Closed by</th>
              </tr>
            </thead>
            <tbody>
              ${closed.map(
                (handoff) =>
                  html`<tr>
                    <td><a href="/admin/handoffs/${encodeURIComponent(handoffId(handoff))}">${maskAddress(handoff.address)}</a></td>
                    <td>${handoff.channel}</td>
                    <td>${REASONS[handoff.reason]}</td>
                    <td>${timeOf(handoff.at, timeZone)}</td>
                    <td>${closedByLabel(handoff.closedBy)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

/** The waiting conversations (also the list's live fragment). */
function waitingTable(open: readonly HandoffRecord[], timeZone: string, now: number): SafeHtml {
  return html`<h2>Waiting <span class="count" data-waiting="${open.length}">${open.length}</span></h2>
    ${
      open.length === 0
        ? html`<p>Nobody is waiting for a person.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Resident</th>
                <th scope="col">Channel</th>
                <th scope="col">Language</th>
                <th scope="col">Why</th>
                <th scope="col">Waiting</th>
                <th scope="col">Assigned to</th>
                <th scope="col" class="num">New messages</th>
              </tr>
            </thead>
            <tbody>
              ${open.map(
                (handoff) =>
                  html`<tr>
                    <td><a href="/admin/handoffs/${encodeURIComponent(handoffId(handoff))}">${maskAddress(handoff.address)}</a></td>
                    <td>${handoff.channel}</td>
                    <td>${handoff.locale ?? ''}</td>
                    <td>${REASONS[handoff.reason]}${handoff.answeredAt ? html` <span class="badge">answered</span>` : ''}</td>
                    <td title="${handoff.at.toISOString()}">${age(now - handoff.at.getTime())}</td>
                    <td>${handoff.assignedTo ?? html`<span class="muted">nobody</span>`}</td>
                    <td class="num">${handoff.unread ?? 0}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

/** What the conversation page needs besides the conversation. */
export interface ConversationViewOptions {
  context: ReportViewContext;
  canned: readonly CannedReplyRecord[];
  staff: readonly StaffUserRecord[];
  languageName(locale: string): string;
  form: { errors: readonly string[]; text: string };
}

/** One conversation: who, why, what they have open, the transcript and the forms. */
export function conversationView(conversation: HandoffConversation, view: ConversationViewOptions): SafeHtml {
  const { handoff, resident, openReports, signups } = conversation;
  const { context } = view;
  const { actor, timeZone } = context;
  const id = handoffId(handoff);
  const base = `/admin/handoffs/${encodeURIComponent(id)}`;
  const open = handoff.status === 'open';
  return html`<h1>Conversation with ${maskAddress(handoff.address)}</h1>
    <p><a href="/admin/handoffs">Back to the inbox</a></p>
    <div class="grid">
      <section class="card">
        <h2>Request</h2>
        <dl class="facts">
          <dt>Status</dt>
          <dd><span class="badge ${handoff.status}">${open ? (handoff.answeredAt ? 'with a person' : 'waiting') : 'closed'}</span></dd>
          <dt>Why</dt>
          <dd>${REASONS[handoff.reason]}${handoff.about ? html` (${handoff.about})` : ''}</dd>
          <dt>Channel</dt>
          <dd>${handoff.channel}</dd>
          <dt>Language</dt>
          <dd>${view.languageName(resident.locale)}</dd>
          ${
            resident.name
              ? html`<dt>Name</dt>
                  <dd>${resident.name}</dd>`
              : ''
          }
          <dt>Asked</dt>
          <dd>${timeOf(handoff.at, timeZone)}</dd>
          <dt>Assigned to</dt>
          <dd>${handoff.assignedTo ?? 'nobody'}</dd>
          ${
            handoff.closedAt
              ? html`<dt>Closed</dt>
                  <dd>${timeOf(handoff.closedAt, timeZone)} by ${closedByLabel(handoff.closedBy)}</dd>`
              : ''
          }
        </dl>
        ${resident.optedOut ? html`<p class="errors">This resident opted out of all messages: replies will not be sent.</p>` : ''}
      </section>
      <section class="card">
        <h2>Open reports and sign-ups</h2>
        ${
          openReports.length === 0 && signups.length === 0
            ? html`<p class="muted">Nothing open.</p>`
            : html`<ul>
                ${openReports.map(
                  (report) =>
                    html`<li>
                      <a href="/admin/reports/${encodeURIComponent(report._id)}">${report._id}</a> ${humanize(report.category)},
                      <span class="badge">${humanize(report.status)}</span>
                    </li>`,
                )}
                ${signups.map((signup) => html`<li>Volunteer role ${signup.roleId}: ${signup.status}</li>`)}
              </ul>`
        }
      </section>
    </div>

    <h2>Conversation</h2>
    <div data-live="${base}/live">${liveTranscript(conversation, context)}</div>

    <section class="card">
      <h2>Reply</h2>
      ${errorList(view.form.errors)}
      <form method="post" action="${base}/reply" class="stack">
        ${csrfField(actor)}
        ${
          view.canned.length > 0
            ? html`<label for="canned">Canned reply <span class="hint">(in the resident's language)</span></label>
                <select id="canned" name="canned" data-fills="reply-text">
                  <option value="">Write my own</option>
                  ${view.canned.map((reply) => html`<option value="${reply._id}" data-text="${reply.text}">${reply.title}</option>`)}
                </select>`
            : ''
        }
        <label for="reply-text">Message <span class="hint">(sent on the resident's channel; at most ${MAX_STAFF_REPLY_LENGTH} characters)</span></label>
        <textarea id="reply-text" name="text" maxlength="${MAX_STAFF_REPLY_LENGTH}">${view.form.text}</textarea>
        <div class="actions"><button type="submit">Send reply</button></div>
      </form>
    </section>

    <div class="actions">
      <form method="post" action="${base}/assign">
        ${csrfField(actor)}
        <label
          >Assign to
          <select name="username">
            ${options([{ value: '', label: 'nobody' }, ...view.staff.map((user) => ({ value: user.username, label: `${user.displayName} (${user.username})` }))], handoff.assignedTo ?? '')}
          </select></label
        >
        <button type="submit" class="secondary">Assign</button>
      </form>
      ${
        open
          ? html`<form method="post" action="${base}/hand-back">${csrfField(actor)}<button type="submit">Hand back to the bot</button></form>
              <form method="post" action="${base}/close">
                ${csrfField(actor)}<button type="submit" class="secondary">Close without telling the resident</button>
              </form>`
          : ''
      }
    </div>`;
}

/**
 * The transcript part of the conversation page (also its live fragment), with the replies and
 * hand-backs not sent yet: refreshed together, so a reply that went out leaves "Not sent yet"
 * as it appears in the transcript.
 */
function liveTranscript(conversation: HandoffConversation, context: Pick<ReportViewContext, 'timeZone' | 'ownOrigins'>): SafeHtml {
  const { outbox } = conversation;
  return html`${transcriptView(conversation.transcript, context)}
  ${
    outbox.length > 0
      ? html`<h2>Not sent yet</h2>
          <ul data-outbox>
            ${outbox.map(
              (job) =>
                html`<li>
                  ${job.kind === 'staff_reply' ? 'A reply' : 'The hand-back'}:
                  ${OUTBOX_STATES[job.state] ?? job.state}${job.lastError ? html` (${job.lastError})` : ''}
                </li>`,
            )}
          </ul>`
      : ''
  }`;
}

/** A reply's job state as staff read it. */
const OUTBOX_STATES: Readonly<Record<string, string>> = {
  pending: 'waiting to be sent',
  running: 'being sent',
  failed: 'could not be sent',
  cancelled: 'cancelled',
};

/** The canned replies page: the list by language, and a form to add one. */
export function cannedView(
  replies: readonly CannedReplyRecord[],
  languages: readonly { value: string; label: string }[],
  actor: StaffActor,
  state: { errors: readonly string[]; form: { locale: string; category: string; title: string; text: string } },
): SafeHtml {
  return html`<h1>Canned replies</h1>
    <p><a href="/admin/handoffs">Back to the inbox</a></p>
    <p class="muted">
      Answers staff send often, in each language. The conversation page offers those in the resident's language; one with a report category is also offered as
      the resident's note when staff change the status of a report of that category.
    </p>
    ${
      replies.length === 0
        ? html`<p>No canned replies yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Language</th>
                <th scope="col">Report category</th>
                <th scope="col">Title</th>
                <th scope="col">Text</th>
                <th scope="col"><span class="muted">Action</span></th>
              </tr>
            </thead>
            <tbody>
              ${replies.map(
                (reply) =>
                  html`<tr>
                    <td>${reply.locale}</td>
                    <td>${reply.category ? humanize(reply.category) : html`<span class="muted">any (inbox)</span>`}</td>
                    <td>${reply.title}</td>
                    <td>${reply.text}</td>
                    <td>
                      <form method="post" action="/admin/canned-replies/${encodeURIComponent(reply._id)}/delete">
                        ${csrfField(actor)}<button type="submit" class="secondary">Remove</button>
                      </form>
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <section class="card">
      <h2>Add a canned reply</h2>
      ${errorList(state.errors)}
      <form method="post" action="/admin/canned-replies" class="stack">
        ${csrfField(actor)}
        <label for="canned-locale">Language</label>
        <select id="canned-locale" name="locale">
          ${options(languages, state.form.locale)}
        </select>
        <label for="canned-category">Report category <span class="hint">(optional: offered on the status form of this category's reports)</span></label>
        <select id="canned-category" name="category">
          ${options([{ value: '', label: 'None (inbox only)' }, ...CATEGORIES.map((c) => ({ value: c, label: humanize(c) }))], state.form.category)}
        </select>
        <label for="canned-title">Title</label>
        <input id="canned-title" type="text" name="title" maxlength="80" value="${state.form.title}" />
        <label for="canned-text">Text</label>
        <textarea id="canned-text" name="text" maxlength="${MAX_STAFF_REPLY_LENGTH}">${state.form.text}</textarea>
        <div class="actions"><button type="submit">Add</button></div>
      </form>
    </section>`;
}

function closedByLabel(closedBy: string | undefined): string {
  if (closedBy === 'idle') return 'nobody wrote for a while';
  if (closedBy === 'resident') return 'the resident (back to the bot)';
  if (closedBy === 'opted_out') return 'the resident (opted out of all messages)';
  return closedBy ?? '';
}

/** How long ago, in the largest whole unit ("3 min", "2 h", "4 d"). */
function age(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

function withFlash(flash: Flash | undefined): { flash?: Flash } {
  return flash ? { flash } : {};
}
