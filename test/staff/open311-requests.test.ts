/**
 * Filing a request POSTed through CivicLine's Open311 server, once: a POST whose filing failed
 * leaves no claim behind, so the client's retry files the request instead of being answered with
 * the id of one that does not exist.
 */
import { describe, expect, it } from 'vitest';
import { authenticateOpen311Key, createOpen311Key } from '../../src/staff/open311-keys.js';
import { findOpen311Requests, postOpen311Request } from '../../src/staff/open311-requests.js';
import { withOpenReportKeys } from '../../src/domain/open-report-keys.js';
import type { Store, Unsaved } from '../../src/store/store.port.js';
import type { ReportRecord } from '../../src/domain/records.js';
import { useTestService } from '../support/harness.js';

const service = useTestService();

describe('a POSTed request', () => {
  it('is filed by the retry when the first attempt failed to store it', async () => {
    const { store, i18n, config, geocoder } = service();
    const { key } = await createOpen311Key(store, { name: 'City CRM' }, { username: 'admin-token', role: 'admin' });
    const record = (await authenticateOpen311Key(store, key))!;
    // The store refuses the report once (a moment's outage), then works again.
    let failures = 1;
    const reports = new Proxy(store.reports, {
      get(target, name, receiver) {
        if (name === 'insert' && failures > 0) {
          failures -= 1;
          return async () => {
            throw new Error('store unavailable');
          };
        }
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const deps = { store: { ...store, reports } as Store, i18n, config, geocoder };
    const post = { serviceCode: 'pothole', addressString: '100 N 5th St', attributes: [] };
    await expect(postOpen311Request(deps, record, post)).rejects.toThrow('store unavailable');
    const retried = await postOpen311Request(deps, record, post);
    expect(retried.repeated).toBe(false);
    expect(await store.reports.get(retried.serviceRequestId)).toMatchObject({ channel: 'open311', category: 'pothole' });
  });
});

describe('GET requests over an old date window', () => {
  it('reads from end_date down: the window is answered whole, reading only what is not newer than it', async () => {
    const { store, i18n, config, geocoder } = service();
    const DAY = 86_400_000;
    const now = new Date('2026-12-01T12:00:00Z');
    const report = (id: string, createdAt: Date): Unsaved<ReportRecord> =>
      withOpenReportKeys({
        _id: id,
        category: 'graffiti',
        status: 'open',
        statusGroup: 'open' as const,
        location: { text: `${id} Elm St` },
        description: 'paint',
        photos: [],
        residentAddress: 'sms:+15550000001',
        channel: 'sms' as const,
        locale: 'en',
        createdAt,
        updatedAt: createdAt,
      });
    // 400 recent reports, then 3 in a window 400 days back.
    for (let i = 0; i < 400; i++) await store.reports.insert(report(`R-N${String(i).padStart(4, '0')}`, new Date(now.getTime() - i * 60_000)));
    for (let i = 0; i < 3; i++) await store.reports.insert(report(`R-OLD${i}A`, new Date(now.getTime() - (400 + i) * DAY)));
    let read = 0;
    const reports = new Proxy(store.reports, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (name === 'find')
          return async (...args: Parameters<typeof target.find>) => {
            const found = await target.find(...args);
            read += found.length;
            return found;
          };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const deps = { store: { ...store, reports } as Store, i18n, config, geocoder };
    const start = new Date(now.getTime() - 410 * DAY);
    const end = new Date(now.getTime() - 395 * DAY);
    const answer = await findOpen311Requests(deps, { start, end, page: 1, pageSize: 50 }, now);
    expect(answer.map((r) => r.service_request_id).sort()).toEqual(['R-OLD0A', 'R-OLD1A', 'R-OLD2A']);
    // Nothing newer than end_date was read: only the window's 3 (per status-group index read).
    expect(read).toBeLessThanOrEqual(3);
  });
});
