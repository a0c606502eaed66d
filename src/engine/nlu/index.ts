/**
 * The NLU of CivicLine: intent, problem category and entities of what residents text, in every
 * loaded language, plus yes/no, choice matching and language detection. Load once at start-up
 * with `loadNlu`; everything after that is pure.
 */
export type { Nlu, NluEntities, NluResult } from './nlu.types.js';
export { loadNlu, INTENT_THRESHOLD, CATEGORY_THRESHOLD } from './nlu.js';
