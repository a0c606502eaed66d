import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The files that go through the turn pipeline, the channels, the staff desks and broadcasts: with
 * MONGODB_URI set they run a second time on MongoDB (the `mongodb` project; see
 * test/support/test-store.ts). The store contract covers both adapters by itself.
 */
const ON_BOTH_STORES = [
  'test/pipeline/**/*.test.ts',
  'test/dialogs/**/*.test.ts',
  'test/channels/**/*.test.ts',
  'test/staff/**/*.test.ts',
  'test/http/**/*.test.ts',
];

const mongodbUri = process.env['MONGODB_URI'];
if (!mongodbUri) {
  console.info(
    'MONGODB_URI is not set: the mongodb project (the pipeline, channel and staff tests on MongoDB) is skipped; scripts/ferretdb.sh start gives one',
  );
}

export default defineConfig({
  test: {
    // The fault suite runs on its own: `npm run test:faults` (vitest.faults.config.ts).
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    // Tests start real servers and child processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      // One project after the other (groupOrder), not side by side: the browser and timing-minded
      // tests of the first do not share two cores with FerretDB's load.
      { extends: true, test: { name: 'embedded', include: ['test/**/*.test.ts'], sequence: { groupOrder: 0 } } },
      ...(mongodbUri
        ? [
            {
              extends: true,
              // FerretDB (CI's MongoDB server) does each write in a few milliseconds, sorts and counts in
              // memory: the same tests take longer there, and are given longer.
              test: { name: 'mongodb', include: ON_BOTH_STORES, env: { CIVICLINE_TEST_STORE: 'mongodb' }, testTimeout: 120_000, sequence: { groupOrder: 1 } },
            },
          ]
        : []),
    ],
  },
});
