/**
 * What the NLU tells the dialog engine about a message, and what it can be asked. The engine
 * depends on these types only, never on how the NLU is built.
 */
import type { Choice } from '../../core/message.js';
import type { Category, Intent } from '../../domain/vocabulary.js';

/** Things named in a message that a dialog may need. */
export interface NluEntities {
  /** A reference in canonical form ('R-7K3QX'), from `extractReference`. */
  reference?: string;
  /** The number a short answer picks: "2", "#2", "the 2nd one", "second", "segundo", "la dos", "option 3". */
  number?: number;
  /** For change_language: the loaded locale asked for ('en', 'es'). */
  language?: string;
}

/** The NLU's reading of one message. */
export interface NluResult {
  /** 'none' when the best intent's confidence is below the threshold. */
  intent: Intent;
  /**
   * 0..1: posterior of the best intent × the share of the message the classifier understood.
   * For 'none' it is the best intent's (too low) confidence, so callers can see how close it was.
   */
  confidence: number;
  /** Only for report_problem (`other` when no category is clear), else null. */
  category: Category | null;
  /** 0..1; 0 when category is null, low when `other` was a fallback. */
  categoryConfidence: number;
  /** The locale used to parse. */
  locale: string;
  entities: NluEntities;
}

/** The NLU as the rest of the service uses it; pure after loading. */
export interface Nlu {
  readonly locales: readonly string[];
  /** Parse with the given locale; without one, detect it (falling back to the first locale). */
  parse(text: string, locale?: string): NluResult;
  /** The terms an idea in this locale is compared by for "similar ideas?" (its meaningful words' stems; see idea-terms.ts). */
  ideaTerms(text: string, locale: string): string[];
  /** The language of a message when confident (for a first message), else null. Short/ambiguous text ("ok", "hi", "5th and main") → null. */
  detectLocale(text: string): string | null;
  /** Whether the message is one word every loaded language uses ("idea", "ok"): no sign of a language, even from a confident parse. */
  isSharedWord(text: string): boolean;
  /** yes/no in any loaded language: "yes", "y", "yep", "sure", "ok", "correct", "sí", "si", "claro", "dale" / "no", "nope", "n", "nah", "not really", "para nada" → else null. */
  yesNo(text: string, locale: string): 'yes' | 'no' | null;
  /** Which of the offered choices the resident meant: a number (1-based; digits, ordinals, "the 2nd one", "segundo", "#2"), an exact or fuzzy label match (typos: "potholle" → "Pothole"; partial: "street light" → "Street light out"), or the choice id. null when nothing matches well enough or two choices match equally. */
  matchChoice(text: string, choices: readonly Choice[], locale: string): string | null;
}
