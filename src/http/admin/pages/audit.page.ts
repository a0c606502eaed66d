/**
 * The audit log page (`/admin/audit`), for admins only: who did what to which record, and when.
 * Coordinators get a 403 page. Details are shown as the JSON they were recorded as, escaped
 * like everything else (they hold staff input such as a role's fields, never residents' words).
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { Service } from '../../../service.js';
import type { AuditEntryRecord } from '../../../domain/records.js';
import { listAudit } from '../../../staff/audit-log.js';
import { actorOf } from '../actor.js';
import { HttpError } from '../../../core/errors.js';
import { html, type SafeHtml } from '../html.js';
import { errorList, issuesOf, sendPage, timeOf } from './layout.js';

const auditQuery = z.strictObject({ actor: z.string().trim().min(1).max(100).optional() });

/** The audit page route. */
export function auditPages(service: Service): Router {
  const router = express.Router();
  router.get('/audit', async (req, res) => {
    const actor = actorOf(res);
    if (actor.role !== 'admin') throw new HttpError(403, 'Only an admin may read the audit log.');
    const raw = req.query as Record<string, unknown>;
    const query = auditQuery.safeParse(typeof raw['actor'] === 'string' && raw['actor'].trim() !== '' ? { actor: raw['actor'] } : {});
    const entries = query.success ? await listAudit(service.store, { ...query.data, limit: 300 }) : [];
    sendPage(
      res,
      { title: 'Audit log', section: 'audit', actor, cityName: service.config.cityName },
      auditView(entries, query.success ? (query.data.actor ?? '') : '', query.success ? [] : issuesOf(query.error), service.config.cityTimeZone),
      query.success ? 200 : 400,
    );
  });
  return router;
}

/** The audit page's content. */
export function auditView(entries: AuditEntryRecord[], actorFilter: string, errors: string[], timeZone: string): SafeHtml {
  return html`<h1>Audit log</h1>
    <form class="filters" method="get" action="/admin/audit" aria-label="Filter the audit log">
      <label>Staff member <input type="text" name="actor" value="${actorFilter}" maxlength="100" /></label>
      <button type="submit">Show</button>
      <a href="/admin/audit">All</a>
    </form>
    ${errorList(errors)}
    ${
      entries.length === 0
        ? html`<p class="muted">No entries.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Record</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              ${entries.map(
                (entry) =>
                  html`<tr>
                    <td>${timeOf(entry.at, timeZone)}</td>
                    <td>${entry.actor}</td>
                    <td>${entry.action}</td>
                    <td>${entry.target ?? ''}</td>
                    <td>${entry.details ? JSON.stringify(entry.details) : ''}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
