/**
 * The Love Your Block pages (issue 20, src/staff/love-your-block.ts): the role form prefilled from
 * the reports ticked in the reports list (`/admin/roles/from-reports?reports=…`, published with
 * `POST /admin/roles/from-reports`), and on the page of a role made from reports its reports, the
 * volunteer call to their residents and to residents nearby (`POST /admin/roles/:ref/call`) and
 * "Work done: close these reports" (`POST /admin/roles/:ref/close-reports`).
 *
 * Mounted before the role pages, so `/roles/from-reports` is not read as a role reference.
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import type { ReportRecord } from '../../../domain/records.js';
import { closeRoleReports, createRoleCall, createRoleFromReports, draftRoleFromReports, MAX_ROLE_REPORTS } from '../../../staff/love-your-block.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { HttpError } from '../../../core/errors.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, errorList, field, formFields, sendPage } from './layout.js';
import { reportTable } from './love-your-block.view.js';
import { roleFormFields, roleFormOf, roleInputOf, type RoleForm } from './roles.page.js';

// The reports travel as one comma-separated field: staff access reads every form first, with a
// bound on its fields that 200 checkboxes' worth of references would pass.
const formParser = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 50 });
const ROLE_REF = /^[Vv]-?[A-Za-z0-9]{5}$/;

/** The Love Your Block page routes. */
export function loveYourBlockPages(service: Service): Router {
  const router = express.Router();
  const timeZone = service.config.cityTimeZone;
  const frame = (res: express.Response, title: string) => ({ title, section: 'roles' as const, actor: actorOf(res), cityName: service.config.cityName });

  /** The prefilled form, or the refusal (a closed or unknown report) with a way back to the list. */
  const showNew = async (res: express.Response, refs: string[], form?: RoleForm, errors: string[] = [], status = 200) => {
    try {
      const draft = await draftRoleFromReports(service.staff, refs);
      const filled: RoleForm = form ?? {
        title: draft.title,
        description: draft.description,
        interests: '',
        neighbourhood: draft.neighbourhood,
        place: draft.place,
        startsAt: '',
        endsAt: '',
        schedule: '',
        capacity: '',
        contact: '',
      };
      sendPage(res, frame(res, 'New role from reports'), newRoleView({ reports: draft.reports, form: filled, errors, actor: actorOf(res), timeZone }), status);
    } catch (error) {
      if (!(error instanceof StaffError)) throw error;
      sendPage(res, frame(res, 'New role from reports'), refusedView([error.message], '/admin/reports', 'Back to the reports'), error.status);
    }
  };

  router.get('/roles/from-reports', (req, res) => showNew(res, refsOf(req.query['reports'])));

  router.post('/roles/from-reports', formParser, async (req, res) => {
    const refs = refsOf(formFields(req.body).get('reports'));
    const form = roleFormOf(req.body);
    const input = roleInputOf(form, timeZone, new Date());
    if (!input.ok) return showNew(res, refs, form, input.errors, 400);
    try {
      const role = await createRoleFromReports(service.staff, refs, input.value, actorOf(res));
      res.redirect(303, `/admin/roles/${encodeURIComponent(role._id)}?done=created`);
    } catch (error) {
      if (!(error instanceof StaffError)) throw error;
      return showNew(res, refs, form, [error.message], error.status);
    }
  });

  router.post('/roles/:ref/call', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const fields = formFields(req.body);
    const messages: Record<string, string> = {};
    for (const locale of service.i18n.locales) {
      const text = field(fields, `message_${locale}`);
      if (text) messages[locale] = text;
    }
    const hours = Number(field(fields, 'answerWindowHours') ?? service.config.volunteerCallAnswerHours);
    try {
      const { broadcast } = await createRoleCall(
        service,
        ref,
        { messages, audience: { reporters: fields.has('reporters'), nearby: fields.has('nearby') }, answerWindowHours: hours },
        actorOf(res),
      );
      service.broadcasts.kick();
      res.redirect(303, `/admin/broadcasts/${encodeURIComponent(broadcast._id)}?done=created`);
    } catch (error) {
      if (!(error instanceof StaffError)) throw error;
      sendPage(
        res,
        frame(res, 'Volunteer call not sent'),
        refusedView([error.message], `/admin/roles/${encodeURIComponent(ref)}`, 'Back to the role'),
        error.status,
      );
    }
  });

  router.post('/roles/:ref/close-reports', formParser, async (req, res) => {
    const ref = refOf(req.params.ref);
    const revision = Number(field(formFields(req.body), 'revision'));
    try {
      if (!Number.isInteger(revision) || revision < 1) throw new StaffError(400, 'revision: reload the role page and try again');
      await closeRoleReports(service.staff, ref, revision, actorOf(res));
      res.redirect(303, `/admin/roles/${encodeURIComponent(ref)}?done=reports_closed`);
    } catch (error) {
      if (!(error instanceof StaffError)) throw error;
      sendPage(
        res,
        frame(res, 'Reports not closed'),
        refusedView([error.message], `/admin/roles/${encodeURIComponent(ref)}`, 'Back to the role'),
        error.status,
      );
    }
  });

  return router;
}

/** The "new role from these reports" page: the reports, then the prefilled role form. */
export function newRoleView(view: { reports: ReportRecord[]; form: RoleForm; errors: string[]; actor: StaffActor; timeZone: string }): SafeHtml {
  return html`<p><a href="/admin/reports">&larr; All reports</a></p>
    <h1 id="new-role">New volunteer role from ${view.reports.length} report${view.reports.length === 1 ? '' : 's'}</h1>
    <p class="hint muted">
      The description lists the reports' places, never what residents wrote. When the work is done, the role's page closes these reports together and tells
      their reporters and followers.
    </p>
    ${reportTable(view.reports)}
    <section class="card">
      ${errorList(view.errors)}
      <form class="stack" method="post" action="/admin/roles/from-reports" aria-labelledby="new-role">
        ${csrfField(view.actor)} <input type="hidden" name="reports" value="${view.reports.map((report) => report._id).join(',')}" />
        ${roleFormFields(view.form, view.timeZone)}
        <div class="actions"><button type="submit">Publish role</button></div>
      </form>
    </section>`;
}

/** A refusal (a closed report, a changed role...) with the way back. */
function refusedView(errors: string[], back: string, label: string): SafeHtml {
  return html`<p><a href="${back}">&larr; ${label}</a></p>
    <h1>Not done</h1>
    ${errorList(errors)}`;
}

/** The references of `?reports=R-1&reports=R-2` (the list's checkboxes) or of one comma-separated value (the role form). */
function refsOf(value: unknown): string[] {
  const values = Array.isArray(value) ? value : [value];
  return values
    .filter((item): item is string => typeof item === 'string')
    .flatMap((item) => item.split(','))
    .map((item) => item.trim())
    .filter(Boolean)
    .slice(0, MAX_ROLE_REPORTS + 1);
}

/** A role reference from the path, normalised; a 404 when it cannot be one. */
function refOf(value: unknown): string {
  if (typeof value !== 'string' || !ROLE_REF.test(value)) throw new HttpError(404, 'No such volunteer role');
  return `V-${value.replace(/^[Vv]-?/, '').toUpperCase()}`;
}
