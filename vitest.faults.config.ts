import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`, also run by `.ci/run`): crashes, retries, concurrency,
 * bad input, forged traffic, store faults and floods, against the real service. Kept out of
 * `npm test`: it is long and loads the machine. One file at a time, so the load one file makes
 * does not skew another's timings (the flood test compares latencies).
 *
 * With MONGODB_URI set, the crash, retry and concurrency checks run again on MongoDB (the
 * `mongodb` project, see test/support/test-store.ts), with the several-instance suite; the
 * store-outage file has its own MongoDB part.
 */
const mongodbUri = process.env['MONGODB_URI'];
if (!mongodbUri) console.info('MONGODB_URI is not set: the crash, retry and concurrency checks on MongoDB are skipped');

export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    projects: [
      // instances.test.ts is MongoDB's only: the embedded store is one process's folder.
      {
        extends: true,
        test: { name: 'embedded', include: ['test/faults/**/*.test.ts'], exclude: ['test/faults/instances.test.ts'], sequence: { groupOrder: 0 } },
      },
      ...(mongodbUri
        ? [
            {
              extends: true,
              test: {
                name: 'mongodb',
                include: ['test/faults/crash.test.ts', 'test/faults/retries.test.ts', 'test/faults/concurrency.test.ts', 'test/faults/instances.test.ts'],
                env: { CIVICLINE_TEST_STORE: 'mongodb' },
                sequence: { groupOrder: 1 },
              },
            },
          ]
        : []),
    ],
  },
});
