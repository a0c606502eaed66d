import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`, also run by `.ci/run`): crashes, retries, concurrency,
 * bad input, forged traffic, store faults and floods, against the real service. Kept out of
 * `npm test`: it is long and loads the machine. One file at a time, so the load one file makes
 * does not skew another's timings (the flood test compares latencies).
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
