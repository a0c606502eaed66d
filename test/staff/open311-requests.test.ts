/**
 * Filing a request POSTed through CivicLine's Open311 server, once: a POST whose filing failed
 * leaves no claim behind, so the client's retry files the request instead of being answered with
 * the id of one that does not exist.
 */
import { describe, expect, it } from 'vitest';
import { authenticateOpen311Key, createOpen311Key } from '../../src/staff/open311-keys.js';
import { postOpen311Request } from '../../src/staff/open311-requests.js';
import type { Store } from '../../src/store/store.port.js';
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
