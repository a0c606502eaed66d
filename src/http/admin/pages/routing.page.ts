/**
 * The routing page (`/admin/routing`): which department handles which report categories, and how
 * many days each category may stay open before it is overdue (src/staff/report-routing.ts).
 * Everyone on the staff side sees it; admins ("data staff") add, change and remove departments
 * and set the targets. Nothing here is residents' text, and it is escaped all the same.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Service } from '../../../service.js';
import { CATEGORIES } from '../../../domain/vocabulary.js';
import { categoryTargets, removeDepartment, routingTable, saveDepartment, setTargetDays, type RoutingTable } from '../../../staff/report-routing.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { actorOf, requireAdmin, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { checked, csrfField, errorList, field, flashOf, formFields, humanize, sendPage } from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 100 });

const ROUTING_FLASH: Readonly<Record<string, string>> = {
  saved: 'Department saved.',
  removed: 'Department removed. Reports routed to it by hand go where their category goes.',
  targets: 'Targets saved.',
};

/** What the department form holds (re-filled after a refusal). */
interface DepartmentForm {
  id: string;
  name: string;
  categories: string[];
}

/** The routing page routes. */
export function routingPages(service: Service): Router {
  const router = express.Router();

  router.get('/routing', async (req, res) => {
    await sendRouting(req, res);
  });

  router.post('/routing/departments', requireAdmin(), formParser, async (req, res) => {
    const fields = formFields(req.body);
    const form = { id: field(fields, 'id') ?? '', name: field(fields, 'name') ?? '', categories: fields.get('categories') ?? [] };
    try {
      await saveDepartment(service.staff, form.id, form, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return sendRouting(req, res, { errors: [error.message], form }, 400);
    }
    res.redirect(303, '/admin/routing?done=saved');
  });

  router.post('/routing/departments/:id/delete', requireAdmin(), formParser, async (req, res) => {
    await removeDepartment(service.staff, String(req.params.id), actorOf(res));
    res.redirect(303, '/admin/routing?done=removed');
  });

  router.post('/routing/targets', requireAdmin(), formParser, async (req, res) => {
    const fields = formFields(req.body);
    const changes: Record<string, number | null> = {};
    for (const category of CATEGORIES) {
      const value = field(fields, `target_${category}`);
      if (value === undefined) continue;
      const days = Number(value);
      if (!/^\d{1,3}$/.test(value)) return sendRouting(req, res, { errors: [`${humanize(category)}: the target must be a whole number of days`] }, 400);
      changes[category] = days;
    }
    try {
      await setTargetDays(service.staff, changes, actorOf(res));
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return sendRouting(req, res, { errors: [error.message] }, 400);
    }
    res.redirect(303, '/admin/routing?done=targets');
  });

  async function sendRouting(req: Request, res: Response, state: { errors: string[]; form?: DepartmentForm } = { errors: [] }, status = 200): Promise<void> {
    const actor = actorOf(res);
    const table = await routingTable(service.staff);
    sendPage(
      res,
      {
        title: 'Departments and targets',
        section: 'reports',
        actor,
        cityName: service.config.cityName,
        ...(status === 200 ? withFlash(flashOf(req.query, ROUTING_FLASH)) : {}),
      },
      routingView(table, actor, state.errors, state.form ?? { id: '', name: '', categories: [] }),
      status,
    );
  }

  return router;
}

/** The page's content: departments, the form to add or change one, and the targets. */
export function routingView(table: RoutingTable, actor: StaffActor, errors: readonly string[], form: DepartmentForm): SafeHtml {
  const admin = actor.role === 'admin';
  const handledBy = new Map(table.departments.flatMap((d) => d.categories.map((c) => [c, d.name] as const)));
  return html`<p><a href="/admin/reports">&larr; Reports</a></p>
    <h1>Departments and targets</h1>
    <p class="muted">
      A report goes to the department that handles its category, unless someone routes it by hand on its page. An open report is overdue once it has been open
      longer than its category's target.${admin ? '' : ' Only admins change these.'}
    </p>
    ${errorList(errors)}
    <h2>Departments</h2>
    ${
      table.departments.length === 0
        ? html`<p class="muted">No departments yet: reports show no department until an admin adds some.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Name</th>
                <th scope="col">Categories</th>
                ${admin ? html`<th scope="col"><span class="muted">Action</span></th>` : ''}
              </tr>
            </thead>
            <tbody>
              ${table.departments.map(
                (d) =>
                  html`<tr>
                    <td>${d.id}</td>
                    <td>${d.name}</td>
                    <td>${d.categories.length ? d.categories.map(humanize).join(', ') : html`<span class="muted">none</span>`}</td>
                    ${
                      admin
                        ? html`<td>
                            <form method="post" action="/admin/routing/departments/${encodeURIComponent(d.id)}/delete">
                              ${csrfField(actor)}<button type="submit" class="secondary">Remove</button>
                            </form>
                          </td>`
                        : ''
                    }
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${
      admin
        ? html`<section class="card">
            <h2>Add or change a department</h2>
            <form class="stack" method="post" action="/admin/routing/departments">
              ${csrfField(actor)}
              <label for="department-id">Id <span class="hint">(lower-case letters, digits, - and _; an existing id changes that department)</span></label>
              <input id="department-id" type="text" name="id" maxlength="40" required pattern="[a-z0-9][a-z0-9_\\-]{0,39}" value="${form.id}" />
              <label for="department-name">Name</label>
              <input id="department-name" type="text" name="name" maxlength="80" required value="${form.name}" />
              <fieldset>
                <legend>Categories it handles</legend>
                ${CATEGORIES.map(
                  (c) =>
                    html`<label
                      ><input type="checkbox" name="categories" value="${c}" ${checked(form.categories.includes(c))} /> ${humanize(c)}
                      ${handledBy.has(c) ? html`<span class="hint">(${handledBy.get(c)})</span>` : ''}</label
                    >`,
                )}
              </fieldset>
              <div class="actions"><button type="submit">Save department</button></div>
            </form>
          </section>`
        : ''
    }
    <h2>Targets</h2>
    <form method="post" action="/admin/routing/targets">
      ${csrfField(actor)}
      <table>
        <thead>
          <tr>
            <th scope="col">Category</th>
            <th scope="col" class="num">Days until overdue</th>
            <th scope="col">Department</th>
          </tr>
        </thead>
        <tbody>
          ${categoryTargets(table).map(
            (t) =>
              html`<tr>
                <td>${humanize(t.category)}</td>
                <td class="num">
                  ${
                    admin
                      ? html`<input
                          type="number"
                          name="target_${t.category}"
                          min="1"
                          max="365"
                          required
                          value="${String(t.days)}"
                          aria-label="${humanize(t.category)} target days"
                        />`
                      : String(t.days)
                  }
                  ${t.isDefault ? html`<span class="hint">default</span>` : ''}
                </td>
                <td>${handledBy.get(t.category) ?? html`<span class="muted">-</span>`}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${admin ? html`<div class="actions"><button type="submit">Save targets</button></div>` : ''}
    </form>`;
}

function withFlash(flash: ReturnType<typeof flashOf>): { flash?: NonNullable<ReturnType<typeof flashOf>> } {
  return flash ? { flash } : {};
}
