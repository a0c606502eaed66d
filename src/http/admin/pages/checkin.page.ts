/**
 * The check-in pages (issue 20), made for a coordinator's phone at the door: big tap targets, one
 * column, nothing wider than the screen. `/admin/checkin` lists today's shifts (CITY_TIMEZONE);
 * `/admin/checkin/:id` lists a shift's confirmed volunteers with Attended / No-show buttons,
 * their reported hours with approve or correct, "approve all reported", and a message to the
 * shift's volunteers (a broadcast). Every button is a plain form POST with the CSRF field, so it
 * works without JavaScript; each carries the sign-up's revision, so two coordinators' phones do
 * not overwrite each other unseen (a 409 page says to look again).
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import type { ShiftRecord, VolunteerRoleRecord } from '../../../domain/records.js';
import { MAX_MESSAGE_LENGTH } from '../../../staff/broadcasts.js';
import {
  approveAllReported,
  approveHours,
  markAttendance,
  MAX_SHIFT_HOURS,
  shiftVolunteers,
  todaysShifts,
  type ShiftOfDay,
  type VolunteerView,
} from '../../../staff/shift-checkin.js';
import { messageShiftVolunteers } from '../../../staff/shift-desk.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { formatCityTime } from '../../../domain/city-time.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, errorList, field, flashOf, formFields, humanize, sendPage, timeOf, type Flash } from './layout.js';
import { shiftIdOf } from './roles.page.js';

const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 });

const CHECKIN_FLASH: Readonly<Record<string, string>> = {
  attended: 'Marked attended.',
  no_show: 'Marked no-show.',
  hours: 'Hours approved.',
  all_hours: 'Reported hours approved.',
};

/** The check-in routes. */
export function checkinPages(service: Service): Router {
  const router = express.Router();
  const timeZone = service.config.cityTimeZone;
  const frame = (res: express.Response, title: string, flash?: Flash) => ({
    title,
    section: 'checkin' as const,
    actor: actorOf(res),
    cityName: service.config.cityName,
    ...(flash ? { flash } : {}),
  });

  const showShift = async (
    res: express.Response,
    id: string,
    flash?: Flash,
    status = 200,
    messageErrors: string[] = [],
    message: Record<string, string> = {},
  ) => {
    const { shift, role, volunteers } = await shiftVolunteers(service.staff, id);
    sendPage(
      res,
      frame(res, `Check-in: ${role.title}`, flash),
      shiftCheckinView({ shift, role, volunteers, actor: actorOf(res), timeZone, locales: service.i18n.locales, messageErrors, message }),
      status,
    );
  };

  router.get('/checkin', async (req, res) => {
    const shifts = await todaysShifts(service.staff);
    sendPage(res, frame(res, 'Check-in', flashOf(req.query, CHECKIN_FLASH)), todayView(shifts, timeZone));
  });

  router.get('/checkin/:id', (req, res) => showShift(res, shiftIdOf(req.params.id), flashOf(req.query, CHECKIN_FLASH)));

  /** Runs a volunteer's change; a stale page or a bad number shows the shift again with why. */
  const onVolunteer =
    (change: (id: string, fields: Map<string, string[]>, rev: number | undefined, res: express.Response) => Promise<string>) =>
    async (req: express.Request, res: express.Response) => {
      const id = shiftIdOf(req.params.id);
      const fields = formFields(req.body);
      const rev = Number(field(fields, 'rev'));
      try {
        const done = await change(id, fields, Number.isInteger(rev) && rev > 0 ? rev : undefined, res);
        res.redirect(303, `/admin/checkin/${encodeURIComponent(id)}?done=${done}#v-${field(fields, 'key') ?? ''}`);
      } catch (error) {
        if (!(error instanceof StaffError) || error.status === 404) throw error;
        return showShift(res, id, { kind: 'error', text: error.message }, error.status);
      }
    };

  router.post(
    '/checkin/:id/attendance',
    formParser,
    onVolunteer(async (id, fields, rev, res) => {
      const attendance = field(fields, 'attendance');
      if (attendance !== 'attended' && attendance !== 'no_show') throw new StaffError(400, 'attendance: attended or no_show');
      await markAttendance(service.staff, id, field(fields, 'key') ?? '', attendance, actorOf(res), new Date(), rev);
      return attendance;
    }),
  );

  router.post(
    '/checkin/:id/hours',
    formParser,
    onVolunteer(async (id, fields, rev, res) => {
      const typed = field(fields, 'hours');
      const hours = field(fields, 'approve') === 'reported' ? 'reported' : typed === undefined ? Number.NaN : Number(typed);
      await approveHours(service.staff, id, field(fields, 'key') ?? '', hours, actorOf(res), new Date(), rev);
      return 'hours';
    }),
  );

  router.post('/checkin/:id/approve-reported', formParser, async (req, res) => {
    const id = shiftIdOf(req.params.id);
    await approveAllReported(service.staff, id, actorOf(res));
    res.redirect(303, `/admin/checkin/${encodeURIComponent(id)}?done=all_hours`);
  });

  router.post('/checkin/:id/message', formParser, async (req, res) => {
    const id = shiftIdOf(req.params.id);
    const fields = formFields(req.body);
    const messages: Record<string, string> = {};
    for (const locale of service.i18n.locales) {
      const text = field(fields, `message_${locale}`);
      if (text) messages[locale] = text;
    }
    try {
      const { broadcast } = await messageShiftVolunteers(service, id, messages, actorOf(res));
      service.broadcasts.kick();
      res.redirect(303, `/admin/broadcasts/${encodeURIComponent(broadcast._id)}?done=created`);
    } catch (error) {
      // A bad message (400), or the same one going out already (409, a double tap): shown by the form.
      if (!(error instanceof StaffError) || error.status === 404) throw error;
      return showShift(res, id, undefined, error.status, [error.message], messages);
    }
  });

  return router;
}

/** Today's shifts, one big link each. */
export function todayView(shifts: ShiftOfDay[], timeZone: string): SafeHtml {
  return html`<h1>Check-in: today</h1>
    ${
      shifts.length === 0
        ? html`<p class="muted">No shifts today.</p>`
        : html`<ul class="checkin-list">
            ${shifts.map(
              (row) =>
                html`<li>
                  <a class="tap-card" href="/admin/checkin/${encodeURIComponent(row.shift._id)}">
                    <strong>${row.role.title}</strong>
                    <span>${clock(row.shift.startsAt, timeZone)} – ${clock(row.shift.endsAt, timeZone)} · ${row.shift.place ?? row.role.place}</span>
                    <span class="muted">${row.checkedIn} of ${row.confirmed} checked in</span>
                  </a>
                </li>`,
            )}
          </ul>`
    }`;
}

/** One shift's check-in: its volunteers with their buttons, the hours, and the message form. */
export function shiftCheckinView(view: {
  shift: ShiftRecord;
  role: VolunteerRoleRecord;
  volunteers: VolunteerView[];
  actor: StaffActor;
  timeZone: string;
  locales: readonly string[];
  messageErrors: string[];
  message: Record<string, string>;
}): SafeHtml {
  const { shift, role, actor, timeZone } = view;
  const id = encodeURIComponent(shift._id);
  const reportedWaiting = view.volunteers.filter((v) => v.hoursReported !== undefined && v.hoursApproved === undefined).length;
  return html`<p><a href="/admin/checkin">&larr; Today</a> · <a href="/admin/roles/${encodeURIComponent(role._id)}#shifts">${role._id}</a></p>
    <h1>${role.title} <span class="badge ${shift.status}">${humanize(shift.status)}</span></h1>
    <p>${timeOf(shift.startsAt, timeZone)} – ${clock(shift.endsAt, timeZone)} · ${shift.place ?? role.place}</p>
    ${
      view.volunteers.length === 0
        ? html`<p class="muted">No confirmed volunteers.</p>`
        : html`<ul class="checkin-list">
            ${view.volunteers.map((v) => volunteerCard(v, id, actor))}
          </ul>`
    }
    ${
      reportedWaiting > 0
        ? html`<form method="post" action="/admin/checkin/${id}/approve-reported" class="tap">
            ${csrfField(actor)}<button type="submit">Approve all reported hours (${reportedWaiting})</button>
          </form>`
        : ''
    }
    ${
      shift.status === 'open'
        ? html`<h2 id="message">Message these volunteers</h2>
            <section class="card">
              <p class="hint muted">
                Sent to the confirmed volunteers of this shift, in their language, as a broadcast: not during quiet hours, never to anyone who opted out.
                Replies reach the inbox.
              </p>
              ${errorList(view.messageErrors)}
              <form class="stack tap" method="post" action="/admin/checkin/${id}/message">
                ${csrfField(actor)}
                ${view.locales.map(
                  (locale) =>
                    html`<label for="message_${locale}">Message (${locale})</label>
                      <textarea id="message_${locale}" name="message_${locale}" maxlength="${MAX_MESSAGE_LENGTH}">${view.message[locale] ?? ''}</textarea>`,
                )}
                <button type="submit">Send to ${view.volunteers.length} volunteer(s)</button>
              </form>
            </section>`
        : ''
    }`;
}

function volunteerCard(v: VolunteerView, shiftId: string, actor: StaffActor): SafeHtml {
  const hidden = html`${csrfField(actor)}<input type="hidden" name="key" value="${v.key}" /><input type="hidden" name="rev" value="${String(v.rev)}" />`;
  const mark = (attendance: 'attended' | 'no_show', label: string) =>
    html`<form method="post" action="/admin/checkin/${shiftId}/attendance">
      ${hidden}<input type="hidden" name="attendance" value="${attendance}" />
      <button type="submit" class="${v.attendance === attendance ? '' : 'secondary'}" aria-pressed="${v.attendance === attendance ? 'true' : 'false'}">
        ${label}
      </button>
    </form>`;
  return html`<li class="card volunteer" id="v-${v.key}">
    <p class="who-line">
      <strong>${v.name}</strong> <span class="muted">${v.maskedAddress}</span>
      ${v.confirmedByReminder ? html`<span class="badge confirmed" title="Answered a reminder: will be there">✓ confirmed by reminder</span>` : ''}
      ${v.attendance ? html`<span class="badge">${humanize(v.attendance)}${v.attendanceBy ? ` (${v.attendanceBy})` : ''}</span>` : ''}
    </p>
    <div class="tap-row">${mark('attended', 'Attended')} ${mark('no_show', 'No-show')}</div>
    <form method="post" action="/admin/checkin/${shiftId}/hours" class="hours-row">
      ${hidden}
      <label for="h-${v.key}"
        >Hours
        ${
          v.hoursReported !== undefined
            ? html`<span class="hint"
                >(reported ${String(v.hoursReported)}${v.hoursApproved !== undefined ? html`, approved ${String(v.hoursApproved)}` : ''})</span
              >`
            : v.hoursApproved !== undefined
              ? html`<span class="hint">(approved ${String(v.hoursApproved)})</span>`
              : ''
        }</label
      >
      <input
        type="number"
        id="h-${v.key}"
        name="hours"
        min="0"
        max="${String(MAX_SHIFT_HOURS)}"
        step="0.25"
        inputmode="decimal"
        value="${v.hoursApproved !== undefined ? String(v.hoursApproved) : ''}"
      />
      <button type="submit" class="secondary">Save hours</button>
      ${v.hoursReported !== undefined ? html`<button type="submit" name="approve" value="reported">Approve ${String(v.hoursReported)} h</button>` : ''}
    </form>
  </li>`;
}

/** "9:00 AM" in the city's time zone (the day is on the page already). */
function clock(at: Date, timeZone: string): string {
  return formatCityTime(at, timeZone).replace(/^.*?, \d{4}, /, '');
}
