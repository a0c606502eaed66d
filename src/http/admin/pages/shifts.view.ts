/**
 * The shifts section of a role's page (issue 20): each shift with its counts, an edit form that
 * opens in place (`<details>`, no script), cancel, check-in and message links, and the "Add a
 * shift" form. Dates and times are the city's (CITY_TIMEZONE), as on the role form.
 */
import type { ShiftInput, ShiftWithCounts } from '../../../staff/shift-desk.js';
import { fromCityLocalInput, toCityLocalInput } from '../../../domain/city-time.js';
import type { StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, errorList, field, formFields, humanize, timeOf } from './layout.js';

/** The shift form's fields as typed (strings), so a refused form comes back as it was left. */
export interface ShiftForm {
  /** `2026-12-05` */
  date: string;
  /** `09:00` */
  start: string;
  /** `12:00` */
  end: string;
  place: string;
  capacity: string;
}

/** An empty "Add a shift" form. */
export const EMPTY_SHIFT_FORM: ShiftForm = { date: '', start: '', end: '', place: '', capacity: '' };

/** The form's strings from a urlencoded body. */
export function shiftFormOf(body: unknown): ShiftForm {
  const fields = formFields(body);
  const text = (name: keyof ShiftForm) => field(fields, name) ?? '';
  return { date: text('date'), start: text('start'), end: text('end'), place: text('place'), capacity: text('capacity') };
}

/** A stored shift as its edit form shows it. */
export function formOfShift(shift: ShiftWithCounts, timeZone: string): ShiftForm {
  const start = toCityLocalInput(shift.startsAt, timeZone);
  return {
    date: start.slice(0, 10),
    start: start.slice(11),
    end: toCityLocalInput(shift.endsAt, timeZone).slice(11),
    place: shift.place ?? '',
    capacity: String(shift.capacity),
  };
}

/**
 * A shift's fields from the form: the date with its start and end times in the city's time zone
 * (a shift ends the day it starts: one past midnight is two shifts, or the API), capacity 0 or more.
 */
export function shiftInputOf(form: ShiftForm, timeZone: string): { ok: true; value: ShiftInput } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  if (!/^\d{4}-\d{2}-\d{2}$/.test(form.date)) errors.push('date: give the day of the shift');
  if (!/^\d{2}:\d{2}$/.test(form.start)) errors.push('start: give a start time such as 09:00');
  if (!/^\d{2}:\d{2}$/.test(form.end)) errors.push('end: give an end time such as 12:00');
  const startsAt = errors.length === 0 ? fromCityLocalInput(`${form.date}T${form.start}`, timeZone) : null;
  const endsAt = errors.length === 0 ? fromCityLocalInput(`${form.date}T${form.end}`, timeZone) : null;
  if (errors.length === 0 && (!startsAt || !endsAt)) errors.push('date: not a real day and time');
  if (startsAt && endsAt && endsAt <= startsAt) errors.push('end: must be after the start');
  const capacity = Number(form.capacity);
  if (!/^\d+$/.test(form.capacity) || !Number.isInteger(capacity) || capacity > 100_000) errors.push('capacity: a whole number, 0 or more');
  if (form.place.length > 200) errors.push('place: at most 200 characters');
  if (errors.length > 0 || !startsAt || !endsAt) return { ok: false, errors };
  return { ok: true, value: { startsAt, endsAt, capacity, ...(form.place ? { place: form.place } : {}) } };
}

/** The section: the role's shifts and the "Add a shift" form (with its errors when refused). */
export function shiftSection(view: {
  roleId: string;
  rolePlace: string;
  shifts: ShiftWithCounts[];
  actor: StaffActor;
  timeZone: string;
  form: ShiftForm;
  errors: string[];
  /** The shift whose edit form was refused, shown open with its errors. */
  editing?: { shiftId: string; form: ShiftForm; errors: string[] };
  /** The page's time: a shift that has started is not cancelled (it took place), so it has no button. */
  now?: Date;
}): SafeHtml {
  const { timeZone, actor } = view;
  return html`<h2 id="shifts">Shifts</h2>
    ${
      view.shifts.length === 0
        ? html`<p class="muted">No shifts: residents sign up for the role as a whole.</p>`
        : html`<ul class="shifts">
            ${view.shifts.map((shift) => {
              const id = encodeURIComponent(shift._id);
              const editing = view.editing?.shiftId === shift._id ? view.editing : undefined;
              return html`<li class="card shift" id="shift-${shift._id}">
                <p class="shift-head">
                  <strong>${timeOf(shift.startsAt, timeZone)}</strong> to ${timeOf(shift.endsAt, timeZone)}
                  <span class="badge ${shift.status}">${humanize(shift.status)}</span>
                </p>
                <p>
                  ${shift.place ?? view.rolePlace} ·
                  <span class="counts">${shift.confirmed} confirmed of ${shift.capacity}; ${shift.waitlisted} waitlisted</span>
                </p>
                ${
                  shift.status === 'open'
                    ? html`<div class="actions">
                          <a class="button secondary" href="/admin/checkin/${id}">Check-in and hours</a>
                          <a class="button secondary" href="/admin/checkin/${id}#message">Message volunteers</a>
                          ${
                            shift.startsAt > (view.now ?? new Date())
                              ? html`<form method="post" action="/admin/shifts/${id}/cancel">
                                  ${csrfField(actor)}<button type="submit" class="danger">Cancel shift</button>
                                </form>`
                              : html``
                          }
                        </div>
                        <details ${editing ? html`open` : html``}>
                          <summary>Edit shift</summary>
                          ${errorList(editing?.errors ?? [])}
                          <form class="stack" method="post" action="/admin/shifts/${id}">
                            ${csrfField(actor)} ${shiftFormFields(editing?.form ?? formOfShift(shift, timeZone), timeZone, shift._id)}
                            <div class="actions"><button type="submit">Save shift</button></div>
                          </form>
                        </details>`
                    : html`<div class="actions"><a class="button secondary" href="/admin/checkin/${id}">Sign-ups and hours</a></div>`
                }
              </li>`;
            })}
          </ul>`
    }
    <h3 id="add-shift">Add a shift</h3>
    <section class="card">
      ${errorList(view.errors)}
      <form class="stack" method="post" action="/admin/roles/${encodeURIComponent(view.roleId)}/shifts" aria-labelledby="add-shift">
        ${csrfField(actor)} ${shiftFormFields(view.form, timeZone, 'new')}
        <div class="actions"><button type="submit">Add shift</button></div>
      </form>
    </section>`;
}

function shiftFormFields(form: ShiftForm, timeZone: string, idPrefix: string): SafeHtml {
  const id = (name: string) => `${idPrefix}-${name}`;
  return html`<label for="${id('date')}">Date <span class="hint">(${timeZone})</span></label>
    <input type="date" id="${id('date')}" name="date" required value="${form.date}" />
    <label for="${id('start')}">Starts</label>
    <input type="time" id="${id('start')}" name="start" required value="${form.start}" />
    <label for="${id('end')}">Ends</label>
    <input type="time" id="${id('end')}" name="end" required value="${form.end}" />
    <label for="${id('place')}">Place <span class="hint">(leave empty for the role's place)</span></label>
    <input type="text" id="${id('place')}" name="place" maxlength="200" value="${form.place}" />
    <label for="${id('capacity')}">Capacity <span class="hint">(volunteers needed; 0 to take only a waitlist)</span></label>
    <input type="number" id="${id('capacity')}" name="capacity" min="0" max="100000" required value="${form.capacity}" />`;
}
