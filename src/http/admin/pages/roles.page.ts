/**
 * The volunteer role pages: the list with confirmed, waitlisted and capacity, the "New role"
 * form (`POST /admin/roles`), and one role (`/admin/roles/:ref`) with its sign-ups, its edit form
 * (`POST /admin/roles/:ref`), close and reopen buttons and the CSV export, and its shifts
 * (`POST /admin/roles/:ref/shifts` adds one, `POST /admin/shifts/:id` edits one,
 * `POST /admin/shifts/:id/cancel` cancels one; see shifts.view.ts).
 *
 * Dates are typed in the city's time zone (CITY_TIMEZONE) whatever the coordinator's computer
 * says: `datetime-local` carries no zone, and "9:00" on a flyer means 9:00 in the city.
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import type { VolunteerRoleRecord } from '../../../domain/records.js';
import {
  createRole,
  listRoles,
  roleDetail,
  roleSignups,
  setRoleProgramme,
  setRoleStatus,
  replaceRole,
  type RoleInput,
  type RoleProgramme,
  type RoleWithCounts,
  type SignupView,
} from '../../../staff/role-desk.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { cancelShift, createShift, getShift, listShifts, updateShift } from '../../../staff/shift-desk.js';
import { EMPTY_SHIFT_FORM, shiftFormOf, shiftInputOf, shiftSection, type ShiftForm } from './shifts.view.js';
import { HttpError } from '../../../core/errors.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { roleFields } from '../roles.routes.js';
import { roleReportsSection } from './love-your-block.view.js';
import { previewAudience } from '../../../staff/broadcasts.js';
import { fromCityLocalInput, toCityLocalInput } from '../../../domain/city-time.js';
import { csrfField, errorList, field, flashOf, formFields, humanize, issuesOf, lines, listField, sendPage, timeOf, type Flash } from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 });
const ROLE_REF = /^[Vv]-?[A-Za-z0-9]{5}$/;

const ROLE_FLASH: Readonly<Record<string, string>> = {
  created: 'Role published. Residents can find it and sign up now.',
  updated: 'Role saved.',
  closed: 'Role closed: no more sign-ups.',
  reopened: 'Role reopened. Free spots were offered to the waitlist.',
  shift_added: 'Shift added. Residents can sign up for it now.',
  shift_saved: 'Shift saved.',
  shift_cancelled: 'Shift cancelled. Its volunteers are being told, in their language.',
  reports_closed: "The role's open reports are closed as fixed; their reporters and followers are being told.",
  programme_saved: 'Reminders and outcome saved. The next planning pass uses them.',
};

/** What the role page shows of a refused shift form. */
interface ShiftFormState {
  form: ShiftForm;
  errors: string[];
  /** The shift being edited; absent for the "Add a shift" form. */
  shiftId?: string;
}

/** The role form's fields as typed (strings), so a refused form comes back as the coordinator left it. */
export interface RoleForm {
  title: string;
  description: string;
  interests: string;
  neighbourhood: string;
  place: string;
  startsAt: string;
  endsAt: string;
  schedule: string;
  capacity: string;
  contact: string;
}

const EMPTY_FORM: RoleForm = {
  title: '',
  description: '',
  interests: '',
  neighbourhood: '',
  place: '',
  startsAt: '',
  endsAt: '',
  schedule: '',
  capacity: '',
  contact: '',
};

/** The role page routes. */
export function rolePages(service: Service): Router {
  const router = express.Router();
  const timeZone = service.config.cityTimeZone;
  const frame = (res: express.Response, title: string, flash?: Flash) => ({
    title,
    section: 'roles' as const,
    actor: actorOf(res),
    cityName: service.config.cityName,
    ...(flash ? { flash } : {}),
  });

  const showList = async (res: express.Response, flash: Flash | undefined, form: RoleForm, errors: string[], status = 200) => {
    const roles = await listRoles(service.staff);
    sendPage(res, frame(res, 'Volunteer roles', flash), roleListView({ roles, form, errors, actor: actorOf(res), timeZone }), status);
  };

  const showDetail = async (
    res: express.Response,
    ref: string,
    flash: Flash | undefined,
    edit?: { form: RoleForm; errors: string[] },
    status = 200,
    shiftForm?: ShiftFormState,
  ) => {
    const role = await roleDetail(service.staff, ref);
    const signups = await roleSignups(service.staff, ref);
    const shifts = shiftSection({
      roleId: role._id,
      rolePlace: role.place,
      shifts: await listShifts(service.staff, ref),
      actor: actorOf(res),
      timeZone,
      form: shiftForm && !shiftForm.shiftId ? shiftForm.form : EMPTY_SHIFT_FORM,
      errors: shiftForm && !shiftForm.shiftId ? shiftForm.errors : [],
      ...(shiftForm?.shiftId ? { editing: { shiftId: shiftForm.shiftId, form: shiftForm.form, errors: shiftForm.errors } } : {}),
    });
    const reports = role.fromReports ? (await Promise.all(role.fromReports.map((id) => service.store.reports.get(id)))).filter((r) => r !== null) : [];
    // How many the call would reach behind its reports (counts only: never who they are).
    const reach = role.fromReports
      ? await previewAudience(service.store, { reports: role.fromReports, optedIn: false }, new Date(), (channel) => service.messenger.reaches(channel))
      : undefined;
    const fromReports = role.fromReports
      ? roleReportsSection({
          role,
          reports,
          ...(reach ? { reach } : {}),
          actor: actorOf(res),
          locales: service.i18n.locales,
          defaultLocale: service.config.defaultLocale,
          answerWindowHours: service.config.volunteerCallAnswerHours,
        })
      : undefined;
    sendPage(
      res,
      frame(res, `${role._id} ${role.title}`, flash),
      roleDetailView({
        role,
        signups,
        shifts,
        actor: actorOf(res),
        timeZone,
        form: edit?.form ?? formOfRole(role, timeZone),
        errors: edit?.errors ?? [],
        ...(fromReports ? { fromReports } : {}),
      }),
      status,
    );
  };
  const roleShiftsUrl = (roleId: string, done: string) => `/admin/roles/${encodeURIComponent(roleId)}?done=${done}#shifts`;

  router.get('/roles', (req, res) => showList(res, flashOf(req.query, ROLE_FLASH), EMPTY_FORM, []));

  router.post('/roles', formParser, async (req, res) => {
    const form = roleFormOf(req.body);
    const input = roleInputOf(form, timeZone, new Date());
    if (!input.ok) return showList(res, undefined, form, input.errors, 400);
    try {
      const role = await createRole(service.staff, input.value, actorOf(res));
      res.redirect(303, `/admin/roles/${encodeURIComponent(role._id)}?done=created`);
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return showList(res, undefined, form, [error.message], 400);
    }
  });

  router.get('/roles/:ref', (req, res) => showDetail(res, refOf(req.params.ref), flashOf(req.query, ROLE_FLASH)));

  router.post('/roles/:ref', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const current = await roleDetail(service.staff, ref);
    const form = roleFormOf(req.body);
    // Editing a role with only a schedule keeps its start; a new one starts now.
    const input = roleInputOf(form, timeZone, current.startsAt);
    if (!input.ok) return showDetail(res, ref, undefined, { form, errors: input.errors }, 400);
    try {
      await replaceRole(service.staff, ref, input.value, actorOf(res));
      res.redirect(303, `/admin/roles/${encodeURIComponent(current._id)}?done=updated`);
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return showDetail(res, ref, undefined, { form, errors: [error.message] }, 400);
    }
  });

  router.post('/roles/:ref/programme', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const parsed = programmeOf(formFields(req.body));
    if ('error' in parsed)
      return showDetail(res, ref, undefined, { form: formOfRole(await roleDetail(service.staff, ref), timeZone), errors: [parsed.error] }, 400);
    try {
      await setRoleProgramme(service.staff, ref, parsed.value, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return showDetail(res, ref, undefined, { form: formOfRole(await roleDetail(service.staff, ref), timeZone), errors: [error.message] }, 400);
    }
    res.redirect(303, `/admin/roles/${encodeURIComponent(ref)}?done=programme_saved#programme`);
  });

  router.post('/roles/:ref/shifts', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const form = shiftFormOf(req.body);
    const input = shiftInputOf(form, timeZone);
    if (!input.ok) return showDetail(res, ref, undefined, undefined, 400, { form, errors: input.errors });
    try {
      await createShift(service.staff, ref, input.value, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return showDetail(res, ref, undefined, undefined, 400, { form, errors: [error.message] });
    }
    res.redirect(303, roleShiftsUrl(ref, 'shift_added'));
  });

  router.post('/shifts/:id', formParser, async (req, res) => {
    const shift = await getShift(service.store, shiftIdOf(req.params.id));
    const form = shiftFormOf(req.body);
    const input = shiftInputOf(form, timeZone);
    if (!input.ok) return showDetail(res, shift.roleId, undefined, undefined, 400, { form, errors: input.errors, shiftId: shift._id });
    try {
      // The form's empty place means the role's place.
      await updateShift(service.staff, shift._id, { ...input.value, place: input.value.place ?? null }, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status === 404) throw error;
      return showDetail(res, shift.roleId, undefined, undefined, error.status, { form, errors: [error.message], shiftId: shift._id });
    }
    res.redirect(303, roleShiftsUrl(shift.roleId, 'shift_saved'));
  });

  router.post('/shifts/:id/cancel', formParser, async (req, res) => {
    const shift = await cancelShift(service.staff, shiftIdOf(req.params.id), actorOf(res));
    res.redirect(303, roleShiftsUrl(shift.roleId, 'shift_cancelled'));
  });

  for (const [action, status, done] of [
    ['close', 'closed', 'closed'],
    ['reopen', 'open', 'reopened'],
  ] as const) {
    router.post(`/roles/:ref/${action}`, formParser, async (req, res) => {
      const role = await setRoleStatus(service.staff, refOf(req.params.ref), status, actorOf(res));
      res.redirect(303, `/admin/roles/${encodeURIComponent(role._id)}?done=${done}`);
    });
  }

  return router;
}

/** The role form's strings from a urlencoded body. */
export function roleFormOf(body: unknown): RoleForm {
  const fields = formFields(body);
  const text = (name: keyof RoleForm) => field(fields, name) ?? '';
  return {
    title: text('title'),
    description: text('description'),
    interests: listField(fields, 'interests').join(', '),
    neighbourhood: text('neighbourhood'),
    place: text('place'),
    startsAt: text('startsAt'),
    endsAt: text('endsAt'),
    schedule: text('schedule'),
    capacity: text('capacity'),
    contact: text('contact'),
  };
}

/**
 * A role's fields from the form, checked with the API's own schema. A role needs a date and time,
 * a schedule in words, or both: with only a schedule ("Saturdays 9-12") it starts at
 * `startWithoutDate` (now for a new role, its old start for an edited one).
 */
export function roleInputOf(form: RoleForm, timeZone: string, startWithoutDate: Date): { ok: true; value: RoleInput } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const startsAt = form.startsAt ? fromCityLocalInput(form.startsAt, timeZone) : null;
  const endsAt = form.endsAt ? fromCityLocalInput(form.endsAt, timeZone) : null;
  if (form.startsAt && !startsAt) errors.push('startsAt: not a valid date and time');
  if (form.endsAt && !endsAt) errors.push('endsAt: not a valid date and time');
  if (!form.startsAt && !form.schedule) errors.push('startsAt: give a date and time, or a schedule in words, or both');
  const parsed = roleFields.safeParse({
    title: form.title,
    description: form.description,
    interests: form.interests
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
    neighbourhood: form.neighbourhood,
    place: form.place,
    startsAt: (startsAt ?? startWithoutDate).toISOString(),
    ...(endsAt ? { endsAt: endsAt.toISOString() } : {}),
    ...(form.schedule ? { schedule: form.schedule } : {}),
    capacity: form.capacity,
    contact: form.contact,
  });
  if (!parsed.success) errors.push(...issuesOf(parsed.error));
  if (errors.length > 0 || !parsed.success) return { ok: false, errors };
  const { endsAt: end, schedule, translations, ...rest } = parsed.data;
  return { ok: true, value: { ...rest, ...(end ? { endsAt: end } : {}), ...(schedule ? { schedule } : {}), ...(translations ? { translations } : {}) } };
}

/** A stored role as the edit form shows it. */
function formOfRole(role: VolunteerRoleRecord, timeZone: string): RoleForm {
  return {
    title: role.title,
    description: role.description,
    interests: role.interests.join(', '),
    neighbourhood: role.neighbourhood,
    place: role.place,
    startsAt: toCityLocalInput(role.startsAt, timeZone),
    endsAt: role.endsAt ? toCityLocalInput(role.endsAt, timeZone) : '',
    schedule: role.schedule ?? '',
    capacity: String(role.capacity),
    contact: role.contact,
  };
}

/** The role list page's content, with the "New role" form. */
export function roleListView(view: { roles: RoleWithCounts[]; form: RoleForm; errors: string[]; actor: StaffActor; timeZone: string }): SafeHtml {
  return html`<h1>Volunteer roles</h1>
    ${
      view.roles.length === 0
        ? html`<p class="muted">No roles yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Reference</th>
                <th scope="col">Title</th>
                <th scope="col">When</th>
                <th scope="col">Neighbourhood</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">Confirmed</th>
                <th scope="col" class="num">Waitlisted</th>
                <th scope="col" class="num">Capacity</th>
              </tr>
            </thead>
            <tbody>
              ${view.roles.map(
                (role) =>
                  html`<tr>
                    <td><a href="/admin/roles/${encodeURIComponent(role._id)}">${role._id}</a></td>
                    <td>${role.title} ${role.demo ? html`<span class="badge">demo</span>` : ''}</td>
                    <td>${role.schedule ?? timeOf(role.startsAt, view.timeZone)}</td>
                    <td>${role.neighbourhood}</td>
                    <td><span class="badge ${role.status}">${humanize(role.status)}</span></td>
                    <td class="num">${role.confirmed}</td>
                    <td class="num">${role.waitlisted}</td>
                    <td class="num">${role.capacity}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <h2 id="new-role">New role</h2>
    <section class="card">
      ${errorList(view.errors)}
      <form class="stack" method="post" action="/admin/roles" aria-labelledby="new-role">
        ${csrfField(view.actor)} ${roleFormFields(view.form, view.timeZone)}
        <div class="actions"><button type="submit">Publish role</button></div>
      </form>
    </section>`;
}

/** One role's page content: facts, sign-ups, actions and the edit form. */
export function roleDetailView(view: {
  role: RoleWithCounts;
  signups: SignupView[];
  /** The shifts section (shifts.view.ts). */
  shifts: SafeHtml;
  actor: StaffActor;
  timeZone: string;
  form: RoleForm;
  errors: string[];
  /** A role made from reports: its Love Your Block section (love-your-block.view.ts). */
  fromReports?: SafeHtml;
}): SafeHtml {
  const { role, timeZone } = view;
  const ref = encodeURIComponent(role._id);
  return html`<p><a href="/admin/roles">&larr; All roles</a></p>
    <h1>${role.title} <span class="badge ${role.status}">${humanize(role.status)}</span> ${role.demo ? html`<span class="badge">demo</span>` : ''}</h1>
    <section class="card">
      <dl class="facts">
        <dt>Reference</dt>
        <dd>${role._id}</dd>
        <dt>Description</dt>
        <dd>${lines(role.description)}</dd>
        <dt>When</dt>
        <dd>
          ${timeOf(role.startsAt, timeZone)}${role.endsAt ? html` to ${timeOf(role.endsAt, timeZone)}` : ''}${role.schedule ? html` (${role.schedule})` : ''}
        </dd>
        <dt>Place</dt>
        <dd>${role.place}, ${role.neighbourhood}</dd>
        <dt>Interests</dt>
        <dd>${role.interests.join(', ') || '-'}</dd>
        <dt>Contact</dt>
        <dd>${role.contact}</dd>
        <dt>Spots</dt>
        <dd>${role.confirmed} confirmed of ${role.capacity}; ${role.waitlisted} waitlisted</dd>
      </dl>
      <div class="actions">
        ${
          role.status === 'open'
            ? html`<form method="post" action="/admin/roles/${ref}/close">
                ${csrfField(view.actor)}<button type="submit" class="secondary">Close sign-ups</button>
              </form>`
            : html`<form method="post" action="/admin/roles/${ref}/reopen">
                ${csrfField(view.actor)}<button type="submit" class="secondary">Reopen</button>
              </form>`
        }
        <a class="button secondary" href="/admin/api/roles/${ref}/signups.csv">Export sign-ups (CSV)</a>
        ${role.status === 'open' ? html`<a class="button secondary" href="/admin/broadcasts/new?role=${ref}">Broadcast a volunteer call</a>` : ''}
      </div>
    </section>
    ${view.shifts} ${programmeSection(role, view.actor)} ${view.fromReports ?? ''}
    <h2>Sign-ups</h2>
    ${
      view.signups.length === 0
        ? html`<p class="muted">Nobody has signed up yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Channel</th>
                <th scope="col">Resident</th>
                <th scope="col">Status</th>
                <th scope="col">Signed up</th>
              </tr>
            </thead>
            <tbody>
              ${view.signups.map(
                (signup) =>
                  html`<tr>
                    <td>${signup.name}</td>
                    <td>${signup.channel}</td>
                    <td>${signup.maskedAddress}</td>
                    <td><span class="badge ${signup.status}">${humanize(signup.status)}</span></td>
                    <td>${timeOf(signup.createdAt, timeZone)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <h2 id="edit-role">Edit</h2>
    <section class="card">
      ${errorList(view.errors)}
      <form class="stack" method="post" action="/admin/roles/${ref}" aria-labelledby="edit-role">
        ${csrfField(view.actor)} ${roleFormFields(view.form, timeZone)}
        <div class="actions"><button type="submit">Save changes</button></div>
      </form>
    </section>`;
}

/** The role form's fields (the new-role, edit and Love Your Block forms share them). */
export function roleFormFields(form: RoleForm, timeZone: string): SafeHtml {
  return html`<label for="title">Title</label>
    <input type="text" id="title" name="title" maxlength="120" required value="${form.title}" />
    <label for="description">Description <span class="hint">(what volunteers will do, and what it achieves)</span></label>
    <textarea id="description" name="description" maxlength="2000" required>${form.description}</textarea>
    <label for="interests">Interests <span class="hint">(comma-separated, e.g. parks, trees, seniors)</span></label>
    <input type="text" id="interests" name="interests" value="${form.interests}" />
    <label for="neighbourhood">Neighbourhood</label>
    <input type="text" id="neighbourhood" name="neighbourhood" maxlength="80" required value="${form.neighbourhood}" />
    <label for="place">Place <span class="hint">(where to meet)</span></label>
    <input type="text" id="place" name="place" maxlength="200" required value="${form.place}" />
    <label for="startsAt">Starts <span class="hint">(${timeZone} time; leave empty for a recurring role with a schedule)</span></label>
    <input type="datetime-local" id="startsAt" name="startsAt" value="${form.startsAt}" />
    <label for="endsAt">Ends <span class="hint">(optional, ${timeZone} time)</span></label>
    <input type="datetime-local" id="endsAt" name="endsAt" value="${form.endsAt}" />
    <label for="schedule">Schedule in words <span class="hint">(optional, e.g. "Saturdays 9-12")</span></label>
    <input type="text" id="schedule" name="schedule" maxlength="120" value="${form.schedule}" />
    <label for="capacity">Capacity <span class="hint">(volunteers needed)</span></label>
    <input type="number" id="capacity" name="capacity" min="1" max="100000" required value="${form.capacity}" />
    <label for="contact">Contact <span class="hint">(how volunteers reach the coordinator)</span></label>
    <input type="text" id="contact" name="contact" maxlength="200" required value="${form.contact}" />`;
}

/** A shift id from the path; a 404 when it cannot be one. */
export function shiftIdOf(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9-]{1,40}$/.test(value)) throw new HttpError(404, 'No such shift');
  return value.toUpperCase();
}

/** A role reference from the path, normalised; a 404 when it cannot be one. */
function refOf(value: unknown): string {
  if (typeof value !== 'string' || !ROLE_REF.test(value)) throw new HttpError(404, 'No such volunteer role');
  return `V-${value.replace(/^[Vv]-?/, '').toUpperCase()}`;
}

/**
 * The role's programme (issue 20): reminder hours before each shift (empty: the city's), the
 * release deadline (empty: never), and the outcome asked after each shift, in English and Spanish.
 */
function programmeSection(role: RoleWithCounts, actor: StaffActor): SafeHtml {
  const ref = encodeURIComponent(role._id);
  const es = role.outcome?.translations?.['es'];
  return html`<section class="card" id="programme">
    <h2>Reminders and outcome</h2>
    <form method="post" action="/admin/roles/${ref}/programme">
      ${csrfField(actor)}
      <label for="reminder-hours"
        >Remind volunteers this many hours before each shift <span class="hint">(comma-separated, like 48, 2; empty: the city's)</span></label
      >
      <input id="reminder-hours" name="reminderHours" value="${(role.reminderHours ?? []).join(', ')}" />
      <label for="release-hours">Release volunteers who have not confirmed this many hours before <span class="hint">(empty: never)</span></label>
      <input id="release-hours" name="releaseUnconfirmedHours" inputmode="decimal" value="${role.releaseUnconfirmedHours ?? ''}" />
      <label for="outcome-unit">Outcome measured <span class="hint">(plural, like bags of trash; empty: none)</span></label>
      <input id="outcome-unit" name="outcomeUnit" maxlength="60" value="${role.outcome?.unit ?? ''}" />
      <label for="outcome-question">Asked after each shift <span class="hint">(ask what each volunteer did: how many bags did you collect?)</span></label>
      <input id="outcome-question" name="outcomeQuestion" maxlength="300" value="${role.outcome?.question ?? ''}" />
      <label for="outcome-unit-es">In Spanish: outcome</label>
      <input id="outcome-unit-es" name="outcomeUnitEs" maxlength="60" value="${es?.unit ?? ''}" />
      <label for="outcome-question-es">In Spanish: question</label>
      <input id="outcome-question-es" name="outcomeQuestionEs" maxlength="300" value="${es?.question ?? ''}" />
      <label for="outcome-target">Target <span class="hint">(in that unit; empty: none)</span></label>
      <input id="outcome-target" name="outcomeTarget" inputmode="numeric" value="${role.outcome?.target ?? ''}" />
      <button type="submit">Save reminders and outcome</button>
    </form>
  </section>`;
}

/** The most reminder hours and the largest outcome target a role may have (the API's bounds, roleProgrammeBody). */
const MAX_REMINDERS = 6;
const MAX_OUTCOME_TARGET = 100_000_000;

/** The programme form as settings, or what is wrong with it. */
export function programmeOf(fields: Map<string, string[]>): { value: RoleProgramme } | { error: string } {
  const hoursText = field(fields, 'reminderHours');
  const reminderHours = hoursText ? hoursText.split(',').map((hours) => Number(hours.trim())) : null;
  if (reminderHours && reminderHours.some((hours) => !Number.isFinite(hours) || hours <= 0 || hours > 720)) {
    return { error: 'Reminder hours must be numbers of hours before the shift, like 48, 2' };
  }
  // As the API allows: each is a text to every volunteer of every shift.
  if (reminderHours && new Set(reminderHours).size > MAX_REMINDERS) return { error: `At most ${MAX_REMINDERS} reminders before a shift` };
  const releaseText = field(fields, 'releaseUnconfirmedHours');
  const release = releaseText === undefined ? null : Number(releaseText);
  if (release !== null && !(Number.isFinite(release) && release >= 0 && release <= 720)) return { error: 'The release deadline must be 0 to 720 hours' };
  const unit = field(fields, 'outcomeUnit');
  const question = field(fields, 'outcomeQuestion');
  if (Boolean(unit) !== Boolean(question)) return { error: 'An outcome needs both what is measured and the question' };
  if ((unit?.length ?? 0) > 60 || (question?.length ?? 0) > 300) return { error: 'The outcome or its question is too long' };
  const targetText = field(fields, 'outcomeTarget');
  const target = targetText === undefined ? undefined : Number(targetText);
  if (target !== undefined && !(Number.isInteger(target) && target >= 0 && target <= MAX_OUTCOME_TARGET)) {
    return { error: `The target must be a whole number up to ${MAX_OUTCOME_TARGET.toLocaleString('en')}` };
  }
  const unitEs = field(fields, 'outcomeUnitEs');
  const questionEs = field(fields, 'outcomeQuestionEs');
  const outcome =
    unit && question
      ? {
          unit,
          question,
          ...(target !== undefined ? { target } : {}),
          ...(unitEs && questionEs ? { translations: { es: { unit: unitEs.slice(0, 60), question: questionEs.slice(0, 300) } } } : {}),
        }
      : null;
  return { value: { reminderHours, releaseUnconfirmedHours: release, outcome } };
}
