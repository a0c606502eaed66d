/**
 * docs/openapi.json describes the staff API: every path and method it lists is served (none
 * answers the router's "Nothing here"), none answers a 5xx to an empty body, and the document
 * itself is well-formed enough for tools (3.1, every operation with responses).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../support/http.js';

const ADMIN_TOKEN = 'openapi-test-admin-token-0123';
const doc = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'openapi.json'), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
};
let app: RunningApp;

beforeAll(async () => {
  app = await startTestApp({ ADMIN_TOKEN });
});
afterAll(() => app.close());

/** A sample value for each path parameter, of the right shape for its area. */
function samplePath(template: string): string {
  const prefix = template.startsWith('/reports') ? 'R' : template.startsWith('/ideas') ? 'I' : template.startsWith('/roles') ? 'V' : 'B';
  return template.replace('{ref}', `${prefix}-22222`).replace('{id}', 'B-22222').replace('{username}', 'nobody').replace('{n}', '1');
}

describe('docs/openapi.json', () => {
  it('is an OpenAPI 3.1 document whose every operation has responses', () => {
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.values(doc.paths).flatMap((methods) => Object.values(methods));
    expect(operations.length).toBeGreaterThan(25);
    for (const operation of operations) expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
  });

  for (const [template, methods] of Object.entries(doc.paths)) {
    for (const method of Object.keys(methods)) {
      it(`${method.toUpperCase()} ${template} is served`, async () => {
        const response = await fetch(`${app.url}/admin/api${samplePath(template)}`, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          ...(method === 'get' ? {} : { body: '{}' }),
        });
        const text = await response.text();
        expect(response.status, text).toBeLessThan(500);
        expect(text).not.toContain('Nothing here');
      });
    }
  }
});
