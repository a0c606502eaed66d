/**
 * The Open311 page (`/admin/open311`), for admins only. The keys other systems post service
 * requests with, when each was last used and by whom it was made, a form to make one (its key is
 * shown once, on the page that answers the form, and cannot be shown again) and a button to
 * revoke one; each key links to its audit trail (what it posted). And forwarding to the city's own
 * Open311 server (OPEN311_ENDPOINT): whether it is on and reachable, and the form of the category →
 * service_code map it forwards with (the same map as `PUT /admin/api/open311/service-map`, audited).
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
import { open311Status, readServiceMap, saveServiceMap, type Open311Health, type ServiceMap } from '../../../staff/open311-client.js';
import { CATEGORIES } from '../../../domain/vocabulary.js';
import { StaffError } from '../../../staff/staff-deps.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, errorList, field, flashOf, formFields, humanize, sendPage, timeOf } from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });
/** The map's form has a field per category (and per code the API mapped beyond them). */
const mapFormParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 200 });
/** A map's form field: `code_<category>`. */
const CODE_FIELD = 'code_';

const FLASH: Readonly<Record<string, string>> = {
  revoked: 'Key revoked: requests with it now get 403.',
  'map-saved': "Service codes saved: reports forwarded from now on use them (those sent already keep the city's request).",
};

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

  router.post('/open311/service-map', mapFormParser, async (req, res) => {
    const actor = adminOf(res);
    const fields = formFields(req.body);
    const current = await readServiceMap(service.store);
    // A field left blank sends the category as its own id; a category the form did not carry
    // (mapped through the API meanwhile) keeps its code.
    const next: ServiceMap = {};
    for (const category of mapCategories(current)) {
      const sent = fields.get(`${CODE_FIELD}${category}`);
      const code = sent === undefined ? current[category] : sent[0]?.trim();
      if (code) next[category] = code;
    }
    try {
      await saveServiceMap(service.store, next, actor);
    } catch (error) {
      if (!(error instanceof StaffError) || error.status !== 400) throw error;
      return send(res, actor, { errors: [error.message], map: next }, 400);
    }
    res.redirect(303, '/admin/open311?done=map-saved');
  });

  router.post('/open311/keys/:id/revoke', formParser, async (req, res) => {
    const actor = adminOf(res);
    await revokeOpen311Key(service.store, String(req.params.id), actor);
    res.redirect(303, '/admin/open311?done=revoked');
  });

  async function send(
    res: Response,
    actor: StaffActor,
    state: { errors: string[]; created?: { key: string; view: Open311KeyView }; flash?: { kind: 'ok' | 'error'; text: string }; map?: ServiceMap },
    status = 200,
  ): Promise<void> {
    const [keys, map, health] = await Promise.all([listOpen311Keys(service.store), readServiceMap(service.store), open311Status(service.store)]);
    const timeZone = service.config.cityTimeZone;
    sendPage(
      res,
      { title: 'Open311', section: 'open311', actor, cityName: service.config.cityName, ...(state.flash ? { flash: state.flash } : {}) },
      html`${open311KeysView(keys, actor, state.errors, state.created, timeZone)}
      ${serviceMapView({ map: state.map ?? map, actor, endpoint: service.config.open311Client?.endpoint ?? null, health, timeZone })}`,
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

/** The categories the map's form has a row for: every category, then the codes mapped beyond them (through the API). */
function mapCategories(map: ServiceMap): string[] {
  const known: readonly string[] = CATEGORIES;
  return [...known, ...Object.keys(map).filter((category) => !known.includes(category))];
}

/**
 * Forwarding to the city's Open311 server: on or off, reachable or not, and the form of the
 * service-code map (a blank code: the category is sent as its own id, shown as the placeholder).
 */
export function serviceMapView(view: {
  map: ServiceMap;
  actor: StaffActor;
  /** OPEN311_ENDPOINT, or null when forwarding is off. */
  endpoint: string | null;
  health: Open311Health & { waiting: number };
  timeZone: string;
}): SafeHtml {
  const { map, actor, endpoint, health, timeZone } = view;
  return html`<h2 id="service-map">Forwarding to the city's 311 system</h2>
    ${
      endpoint
        ? html`<p>
            On: every new report is sent to <code>${endpoint}</code>.
            ${
              health.failingSince
                ? html`<strong>Unreachable since ${timeOf(new Date(health.failingSince), timeZone)}</strong
                    >${health.lastError ? html` (${health.lastError})` : ''}.`
                : health.lastSuccessAt
                  ? html`Last reached ${timeOf(new Date(health.lastSuccessAt), timeZone)}.`
                  : ''
            }
            ${String(health.waiting)} report${health.waiting === 1 ? '' : 's'} waiting to be sent.
          </p>`
        : html`<p class="muted">Off: set OPEN311_ENDPOINT and OPEN311_API_KEY to forward new reports. The codes below are kept for when it is on.</p>`
    }
    <form method="post" action="/admin/open311/service-map">
      ${csrfField(actor)}
      <table>
        <thead>
          <tr>
            <th scope="col">Category</th>
            <th scope="col">The city's service_code</th>
          </tr>
        </thead>
        <tbody>
          ${mapCategories(map).map(
            (category) =>
              html`<tr>
                <td>${humanize(category)}</td>
                <td>
                  <input
                    type="text"
                    name="${CODE_FIELD}${category}"
                    value="${map[category] ?? ''}"
                    placeholder="${category}"
                    maxlength="100"
                    aria-label="${humanize(category)} service_code"
                  />
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      <p class="hint">Blank: the category is sent as its own id (the placeholder).</p>
      <div class="actions"><button type="submit">Save service codes</button></div>
    </form>`;
}
