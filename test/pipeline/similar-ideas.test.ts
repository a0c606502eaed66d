/**
 * "Similar ideas?" (issue 21): the threshold holds on the labelled set in both languages, and the
 * lookup reads the store as the service does: never an idea without terms (hidden, merged, from
 * before) or one the city will not do, at most two, with their supporters counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bestMatches, readSimilaritySet, scoreAt } from '../../bench/idea-similarity.js';
import { loadNlu, type Nlu } from '../../src/engine/nlu/index.js';
import type { IdeaRecord } from '../../src/domain/records.js';
import { backfillIdeaTerms, findSimilarIdeas, IDEA_TERMS_BACKFILL, SIMILAR_IDEA_THRESHOLD, similarity } from '../../src/pipeline/similar-ideas.js';
import { openEmbeddedStore } from '../../src/store/embedded.store.js';
import type { Store } from '../../src/store/store.port.js';

let nlu: Nlu;
let store: Store;
let dir: string;

beforeAll(async () => {
  nlu = loadNlu(path.resolve('locales'), ['en', 'es']);
  dir = mkdtempSync(path.join(tmpdir(), 'civicline-similar-test-'));
  store = await openEmbeddedStore(dir);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function idea(id: string, title: string, fields: Partial<IdeaRecord> = {}, minute = 0) {
  return {
    _id: id,
    title,
    details: '',
    authorAddress: 'sms:+15550000001',
    channel: 'sms' as const,
    status: 'new' as const,
    kind: 'idea' as const,
    createdAt: new Date(Date.UTC(2026, 10, 1, 0, minute)),
    similarTerms: nlu.ideaTerms(title, 'en'),
    ...fields,
  };
}

describe('the threshold on the labelled set', () => {
  for (const locale of ['en', 'es']) {
    it(`offers rarely wrong and mostly right in ${locale}`, async () => {
      const score = scoreAt(await bestMatches(nlu, locale, readSimilaritySet(locale)), SIMILAR_IDEA_THRESHOLD);
      // docs/idea-similarity.md has the table; these are its floor, so a change that loses either shows.
      expect(score.precision).toBeGreaterThanOrEqual(0.9);
      expect(score.recall).toBeGreaterThanOrEqual(0.6);
    });
  }
});

describe('the lookup', () => {
  it('offers the closest two, with supporters, never a not-planned idea or one without terms', async () => {
    await store.ideas.insert(idea('I-BIKE1', 'More bike racks downtown', {}, 1));
    await store.ideas.insert(idea('I-BIKE2', 'Bike racks at the downtown library', {}, 2));
    await store.ideas.insert(idea('I-BIKE3', 'Bike racks downtown near the shops', { status: 'not_planned' }, 3));
    const { similarTerms: _none, ...hidden } = idea('I-BIKE4', 'Bike racks downtown please', {}, 4);
    await store.ideas.insert(hidden);
    await store.ideas.insert(idea('I-PARK5', 'A dog park in Eastside', {}, 5));
    await store.ideaSupports.insert({ _id: 'I-BIKE1|sms:+1', ideaId: 'I-BIKE1', address: 'sms:+1', at: new Date() });
    await store.ideaSupports.insert({ _id: 'I-BIKE1|sms:+2', ideaId: 'I-BIKE1', address: 'sms:+2', at: new Date() });
    const found = await findSimilarIdeas(store, nlu.ideaTerms('we need bike racks downtown', 'en'));
    expect(found.map((f) => f.ref)).toEqual(['I-BIKE1', 'I-BIKE2']);
    expect(found[0]).toMatchObject({ title: 'More bike racks downtown', supporters: 2 });
    expect(await findSimilarIdeas(store, nlu.ideaTerms('fix the potholes on elm', 'en'))).toEqual([]);
    expect(await findSimilarIdeas(store, [])).toEqual([]);
  });

  it('scores a candidate by how much of the new idea it covers, weighted by rarity', () => {
    const weight = new Map([
      ['bike', 2],
      ['rack', 2],
      ['downtown', 1],
    ]);
    expect(similarity(weight, ['bike', 'rack', 'downtown'])).toBeCloseTo(1);
    expect(similarity(weight, ['bike', 'rack'])).toBeGreaterThan(similarity(weight, ['downtown', 'park']));
    expect(similarity(weight, ['park', 'dog'])).toBe(0);
    expect(similarity(new Map(), ['bike'])).toBe(0);
  });

  it('backfills ideas stored before terms once, in their detected language, and leaves not-planned ones', async () => {
    const { similarTerms: _a, ...old } = idea('I-OLD1A', 'Bancas en las paradas de autobús', {}, 10);
    const { similarTerms: _b, ...refused } = idea('I-OLD2B', 'A casino downtown', { status: 'not_planned' }, 11);
    await store.ideas.insert(old);
    await store.ideas.insert(refused);
    const terms = (text: string) => nlu.ideaTerms(text, nlu.detectLocale(text) ?? 'en');
    const first = await backfillIdeaTerms(store, terms);
    expect(first.updated).toBeGreaterThanOrEqual(1);
    expect((await store.ideas.get('I-OLD1A'))?.similarTerms).toEqual(nlu.ideaTerms('Bancas en las paradas de autobús', 'es'));
    expect((await store.ideas.get('I-OLD2B'))?.similarTerms).toBeUndefined();
    expect(await store.meta.get(IDEA_TERMS_BACKFILL)).not.toBeNull();
    expect((await backfillIdeaTerms(store, terms)).updated).toBe(0);
  });
});
