/**
 * A role's programme (issue 20): its reminder hours, release deadline and outcome question, set by
 * the staff API (`PATCH /admin/api/roles/:ref/programme`) and by the role page's form, kept when
 * the role itself is edited, refused when out of range, audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../support/http.js';
import { programmeOf } from '../../src/http/admin/pages/roles.page.js';
import { formFields } from '../../src/http/admin/pages/layout.js';
import { listAudit } from '../../src/staff/audit-log.js';

const ADMIN_TOKEN = 'programme-test-admin-token-0123';
let app: RunningApp;

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN });
});
afterAll(async () => {
  await app.close();
});

async function send(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${app.url}/admin/api${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

describe("a role's programme", () => {
  it('sets, keeps through an edit, and removes reminders, release and outcome; refuses bad values', async () => {
    const created = await send('POST', '/roles', {
      title: 'Park clean-up',
      description: 'Pick up litter',
      neighbourhood: 'Riverside',
      place: 'North gate',
      startsAt: '2026-12-20T15:00:00Z',
      capacity: 10,
      contact: 'parks@city.example',
    });
    const ref = created.body.role._id as string;
    const outcome = {
      unit: 'bags of trash',
      question: 'How many bags did you collect?',
      target: 200,
      translations: { es: { unit: 'bolsas', question: '¿Cuántas bolsas?' } },
    };
    const set = await send('PATCH', `/roles/${ref}/programme`, { reminderHours: [2, 48, 2], releaseUnconfirmedHours: 24, outcome });
    expect(set.status).toBe(200);
    expect(set.body.role).toMatchObject({ reminderHours: [48, 2], releaseUnconfirmedHours: 24, outcome });
    // Editing the role keeps them.
    expect((await send('PATCH', `/roles/${ref}`, { capacity: 12 })).status).toBe(200);
    expect(await app.service.store.roles.get(ref)).toMatchObject({ capacity: 12, reminderHours: [48, 2], outcome: { target: 200 } });
    // Refused: hours out of range, an outcome without its question, an unknown field.
    expect((await send('PATCH', `/roles/${ref}/programme`, { reminderHours: [0] })).status).toBe(400);
    expect((await send('PATCH', `/roles/${ref}/programme`, { releaseUnconfirmedHours: 1000 })).status).toBe(400);
    expect((await send('PATCH', `/roles/${ref}/programme`, { outcome: { unit: 'bags' } })).status).toBe(400);
    expect((await send('PATCH', `/roles/${ref}/programme`, { capacity: 3 })).status).toBe(400);
    expect((await send('PATCH', '/roles/V-NONE9/programme', { releaseUnconfirmedHours: 1 })).status).toBe(404);
    // null removes each.
    const removed = await send('PATCH', `/roles/${ref}/programme`, { reminderHours: null, releaseUnconfirmedHours: null, outcome: null });
    expect(removed.body.role.reminderHours).toBeUndefined();
    expect(removed.body.role.releaseUnconfirmedHours).toBeUndefined();
    expect(removed.body.role.outcome).toBeUndefined();
    const audit = await listAudit(app.service.store, { limit: 50 });
    expect(audit.filter((entry) => entry.action === 'role.programme' && entry.target === ref)).toHaveLength(2);
  });

  it("reads the role page's form: empty fields remove, both outcome fields or neither, numbers checked", () => {
    const form = (entries: Record<string, string>) => programmeOf(formFields(entries));
    expect(form({ reminderHours: '48, 2', releaseUnconfirmedHours: '12', outcomeUnit: 'bags', outcomeQuestion: 'How many?', outcomeTarget: '50' })).toEqual({
      value: { reminderHours: [48, 2], releaseUnconfirmedHours: 12, outcome: { unit: 'bags', question: 'How many?', target: 50 } },
    });
    expect(form({})).toEqual({ value: { reminderHours: null, releaseUnconfirmedHours: null, outcome: null } });
    expect(form({ reminderHours: '48, soon' })).toHaveProperty('error');
    expect(form({ outcomeUnit: 'bags' })).toHaveProperty('error');
    expect(form({ releaseUnconfirmedHours: '-1' })).toHaveProperty('error');
    // As the API: at most six reminders (eight would text each volunteer eight times a shift), a target up to 100,000,000.
    expect(form({ reminderHours: '48, 24, 12, 6, 4, 3, 2, 1' })).toHaveProperty('error');
    expect(form({ reminderHours: '48, 24, 12, 6, 4, 2, 2' })).toEqual({
      value: { reminderHours: [48, 24, 12, 6, 4, 2, 2], releaseUnconfirmedHours: null, outcome: null },
    });
    expect(form({ outcomeUnit: 'bags', outcomeQuestion: 'How many?', outcomeTarget: '1e30' })).toHaveProperty('error');
    expect(form({ outcomeUnit: 'bags', outcomeQuestion: 'How many?', outcomeUnitEs: 'bolsas', outcomeQuestionEs: '¿Cuántas?' })).toMatchObject({
      value: { outcome: { translations: { es: { unit: 'bolsas', question: '¿Cuántas?' } } } },
    });
  });
});
