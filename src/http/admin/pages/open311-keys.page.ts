/**
 * The Open311 keys page (`/admin/open311`), for admins only: the keys other systems post service
 * requests with, when each was last used and by whom it was made, a form to make one (its key is
 * shown once, on the page that answers the form, and cannot be shown again) and a button to
 * revoke one. Each key links to its audit trail (what it posted).
 */
import express, { type Response, type Router } from 'express';
import type { Service } from '../../../service.js';
import { HttpError } from '../../../core/errors.js';
import {
  createOpen311Key,
  DEFAULT_KEY_PER_MINUTE,
  listOpen311Keys,
  MAX_KEY_PER_MINUTE,
  open311Actor,
  revokeOpen311Key,
  type Open311KeyView,
} from '../../../staff/open311-keys.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, errorList, field, flashOf, formFields, sendPage, timeOf } from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });

const FLASH: Readonly<Record<string, string>> = { revoked: 'Key revoked: requests with it now get 403.' };

/** The Open311 keys page routes. */
export function open311KeyPages(service: Service): Router {
  const router = express.Router();

  router.get('/open311', async (req, res) => {
    const actor = adminOf(res);
    const flash = flashOf(req.query, FLASH);
    await send(res, actor, { errors: [], ...(flash ? { flash } : {}) });
  });

  router.post('/open311/keys', formParser, async (req, res) => {
    const actor = adminOf(res);
    const fields = formFields(req.body);
    const perMinuteText = field(fields, 'perMinute')?.trim() || String(DEFAULT_KEY_PER_MINUTE);
    const perMinute = /^\d{1,5}$/.test(perMinuteText) ? Number(perMinuteText) : NaN;
    try {
      const created = await createOpen311Key(service.store, { name: field(fields, 'name') ?? '', perMinute }, actor);
      res.set('Cache-Control', 'no-store');
      await send(res, actor, { errors: [], created: { key: created.key, view: created.view } });
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      await send(res, actor, { errors: [error.message] }, 400);
    }
  });

  router.post('/open311/keys/:id/revoke', formParser, async (req, res) => {
    const actor = adminOf(res);
    await revokeOpen311Key(service.store, String(req.params.id), actor);
    res.redirect(303, '/admin/open311?done=revoked');
  });

  async function send(
    res: Response,
    actor: StaffActor,
    state: { errors: string[]; created?: { key: string; view: Open311KeyView }; flash?: { kind: 'ok' | 'error'; text: string } },
    status = 200,
  ): Promise<void> {
    const keys = await listOpen311Keys(service.store);
    sendPage(
      res,
      { title: 'Open311 keys', section: 'open311', actor, cityName: service.config.cityName, ...(state.flash ? { flash: state.flash } : {}) },
      open311KeysView(keys, actor, state.errors, state.created, service.config.cityTimeZone),
      status,
    );
  }

  return router;
}

function adminOf(res: Response): StaffActor {
  const actor = actorOf(res);
  if (actor.role !== 'admin') throw new HttpError(403, 'Only an admin may manage Open311 keys.');
  return actor;
}

/** The page's content: the new key (once), the form, and the keys. */
export function open311KeysView(
  keys: readonly Open311KeyView[],
  actor: StaffActor,
  errors: readonly string[],
  created: { key: string; view: Open311KeyView } | undefined,
  timeZone: string,
): SafeHtml {
  return html`<h1>Open311 keys</h1>
    <p class="muted">
      Other systems (the city's CRM, a 311 app) post service requests to <code>/open311/v2/requests</code> with one of these keys; reading requests needs none.
      A request they post is a report like any other, with no resident to tell.
    </p>
    ${
      created
        ? html`<section class="card" role="status">
            <h2>Key for ${created.view.name}</h2>
            <p>Copy it now: it is shown only this once (CivicLine keeps only a hash of it).</p>
            <p><code id="new-open311-key">${created.key}</code></p>
          </section>`
        : ''
    }
    ${errorList(errors)}
    <section class="card">
      <h2>Make a key</h2>
      <form class="stack" method="post" action="/admin/open311/keys">
        ${csrfField(actor)}
        <label for="key-name">Who or what uses it</label>
        <input id="key-name" type="text" name="name" maxlength="80" required />
        <label for="key-rate">Requests it may post a minute</label>
        <input id="key-rate" type="number" name="perMinute" min="1" max="${String(MAX_KEY_PER_MINUTE)}" value="${String(DEFAULT_KEY_PER_MINUTE)}" />
        <button type="submit">Make the key</button>
      </form>
    </section>
    ${
      keys.length === 0
        ? html`<p class="muted">No keys yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">For</th>
                <th scope="col">Per minute</th>
                <th scope="col">Made</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col"><span class="muted">Action</span></th>
              </tr>
            </thead>
            <tbody>
              ${keys.map(
                (key) =>
                  html`<tr>
                    <td><a href="/admin/audit?actor=${encodeURIComponent(open311Actor(key.id))}">${key.id}</a></td>
                    <td>${key.name}</td>
                    <td>${String(key.perMinute)}</td>
                    <td>${timeOf(new Date(key.createdAt), timeZone)} by ${key.createdBy}</td>
                    <td>${key.lastUsedAt ? timeOf(new Date(key.lastUsedAt), timeZone) : html`<span class="muted">never</span>`}</td>
                    <td>
                      ${key.active ? 'active' : html`revoked ${key.revokedAt ? timeOf(new Date(key.revokedAt), timeZone) : ''} by ${key.revokedBy ?? ''}`}
                    </td>
                    <td>
                      ${
                        key.active
                          ? html`<form method="post" action="/admin/open311/keys/${encodeURIComponent(key.id)}/revoke">
                              ${csrfField(actor)}<button type="submit" class="secondary">Revoke</button>
                            </form>`
                          : ''
                      }
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
