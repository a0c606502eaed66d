/**
 * The hand-offs page (`/admin/handoffs`): residents who asked for a person (or got stuck), with a
 * button to close each request once someone has picked it up (`src/staff/handoff-desk.ts`, as
 * the JSON API).
 */
import express, { type Router } from 'express';
import type { Service } from '../../../service.js';
import type { HandoffRecord } from '../../../domain/records.js';
import { maskAddress } from '../../../staff/role-desk.js';
import { actorOf, type StaffActor } from '../actor.js';
import { html, type SafeHtml } from '../html.js';
import { closeHandoff, handoffId, listHandoffs } from '../../../staff/handoff-desk.js';
import { csrfField, flashOf, sendPage, timeOf } from './layout.js';

const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 });
const HANDOFF_FLASH: Readonly<Record<string, string>> = { closed: 'Hand-off request closed.' };

/** The hand-off page routes. */
export function handoffPages(service: Service): Router {
  const router = express.Router();

  router.get('/handoffs', async (req, res) => {
    const open = await listHandoffs(service.staff, 'open');
    sendPage(
      res,
      { title: 'Hand-offs', section: 'handoffs', actor: actorOf(res), cityName: service.config.cityName, ...withFlash(flashOf(req.query, HANDOFF_FLASH)) },
      handoffsView(open, actorOf(res), service.config.cityTimeZone),
    );
  });

  router.post('/handoffs/:id/close', formParser, async (req, res) => {
    await closeHandoff(service.staff, String(req.params.id), actorOf(res));
    res.redirect(303, '/admin/handoffs?done=closed');
  });

  return router;
}

/** The hand-off page's content. */
export function handoffsView(open: HandoffRecord[], actor: StaffActor, timeZone: string): SafeHtml {
  return html`<h1>Hand-offs</h1>
    <p class="muted">Residents who asked for a person, or whom the bot could not help. Reach them through their channel, then close the request.</p>
    ${
      open.length === 0
        ? html`<p>No open requests.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Resident</th>
                <th scope="col">Channel</th>
                <th scope="col">Why</th>
                <th scope="col">When</th>
                <th scope="col"><span class="muted">Action</span></th>
              </tr>
            </thead>
            <tbody>
              ${open.map(
                (handoff) =>
                  html`<tr>
                    <td>${maskAddress(handoff.address)}</td>
                    <td>${handoff.channel}</td>
                    <td>${handoff.reason === 'asked' ? 'Asked for a person' : 'Got stuck'}</td>
                    <td>${timeOf(handoff.at, timeZone)}</td>
                    <td>
                      <form method="post" action="/admin/handoffs/${encodeURIComponent(handoffId(handoff))}/close">
                        ${csrfField(actor)}<button type="submit" class="secondary">Close</button>
                      </form>
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

function withFlash<T>(flash: T | undefined): { flash?: T } {
  return flash ? { flash } : {};
}
