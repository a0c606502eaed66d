/**
 * "Already reported?" with the optional geocoder on (GEOCODER_URL, a fake Nominatim on
 * 127.0.0.1): a shared point is filed with its street address, a text place with an approximate
 * point; so a resident who types a corner is offered the report someone pinned there, described
 * by its street, and a pinned report is offered to a resident who typed the place. With the
 * geocoder down, everything goes on as without it.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceIn, smsAddress, startTestService, TestConversation, WEB_LIKE } from '../support/harness.js';
import type { Service } from '../../src/service.js';

/** The corner residents type, and where the fake geocoder puts it. */
const CORNER = { lat: 39.7817, lon: -89.6501 };
let server: Server;
let service: Service;
let close: () => Promise<void>;
let geocoderUp = true;

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!geocoderUp) return void res.writeHead(503).end();
    if (url.pathname.endsWith('/search')) {
      const q = (url.searchParams.get('q') ?? '').toLowerCase();
      // Only the one corner is known to this city's fake.
      return json(
        res,
        q.includes('oak') && q.includes('12th')
          ? [{ lat: String(CORNER.lat), lon: String(CORNER.lon), display_name: 'Oak Street & 12th Street, Springfield' }]
          : [],
      );
    }
    return json(res, {
      lat: String(CORNER.lat),
      lon: String(CORNER.lon),
      display_name: '1200, Oak Street, Downtown, Springfield',
      address: { house_number: '1200', road: 'Oak Street', suburb: 'Downtown', city: 'Springfield' },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const started = await startTestService({
    GEOCODER_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    GEOCODER_REQUESTS_PER_SECOND: '100',
  });
  service = started.service;
  close = started.close;
});
afterAll(async () => {
  await close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('already reported, with a geocoder', () => {
  it('files a shared point with its street, and offers it to a resident who types the corner', async () => {
    const pinned = new TestConversation(service, `web:${'g'.repeat(22)}`, WEB_LIKE);
    await pinned.send('report a problem');
    await pinned.send({ choice: 'streetlight' });
    await pinned.send({ location: { lat: CORNER.lat + 0.0002, lon: CORNER.lon } });
    await pinned.send('the lamp has been dark all week');
    const ref = referenceIn(await pinned.send({ choice: 'yes' }));
    const report = await service.store.reports.get(ref);
    expect(report?.location).toMatchObject({ pointFrom: 'resident', point: { label: expect.stringContaining('Oak Street') } });

    const texting = new TestConversation(service, smsAddress());
    const offer = await texting.send('streetlight out at Oak St and 12th St');
    expect(offer).toContain(`Someone already reported this: Street light out at 1200, Oak Street`);
    expect(offer).toContain(`(${ref}, Open)`);
    // Not "m from you": the resident typed a place, they may not be there.
    expect(offer).not.toContain('from you');
  });

  it('files a typed corner with an approximate point, found by a resident who shares their location there', async () => {
    const texting = new TestConversation(service, smsAddress());
    await texting.send('graffiti at 12th and Oak');
    await texting.send('tags on the bus shelter');
    await texting.send('skip');
    const ref = referenceIn(await texting.send('1'));
    expect((await service.store.reports.get(ref))?.location).toEqual({ text: '12th and Oak', point: CORNER, pointFrom: 'geocoder' });

    const sharing = new TestConversation(service, `web:${'h'.repeat(22)}`, WEB_LIKE);
    await sharing.send('report a problem');
    await sharing.send({ choice: 'graffiti' });
    const offer = await sharing.send({ location: { lat: CORNER.lat, lon: CORNER.lon + 0.0003 } });
    expect(offer).toContain(`Someone already reported this: Graffiti at 12th and Oak, today (${ref}, Open).`);
  });

  it('goes on without the geocoder when it is down', async () => {
    geocoderUp = false;
    try {
      const texting = new TestConversation(service, smsAddress());
      await texting.send('pothole at Oak and 12th');
      await texting.send('it is deep');
      await texting.send('skip');
      const ref = referenceIn(await texting.send('1'));
      expect((await service.store.reports.get(ref))?.location).toEqual({ text: 'Oak and 12th' });
    } finally {
      geocoderUp = true;
    }
  });
});
