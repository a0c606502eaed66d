/**
 * A natural text classifier with a confidence that means something.
 *
 * natural's Bayes scores are prior × likelihood products: they rank labels but are not
 * probabilities, and they are just as sure about "asdfgh" (no known feature, so the prior
 * decides) as about "pothole on main". The confidence here is
 *
 *   confidence = posterior(top label) × coverage^COVERAGE_EXPONENT
 *
 * - posterior: a softmax over the log scores, every label starting with the same prior (the
 *   training sets differ in size only because some intents have more ways to be said), with a
 *   temperature that softens Bayes' habit of being 99.9 % sure after a few words;
 * - coverage: the share of the message's words, weighted by how telling they are (idf), that the
 *   classifier has seen in training. "who won the game last night" knows "the" and "night" but
 *   not "won" or "game", so even a confident-looking ranking is discounted.
 * The settings were chosen on the dev sets (numbers below and in nlu.ts).
 */
import {
  addWeightedExample,
  newBayesClassifier,
  newLogisticRegressionClassifier,
  type NaturalClassification,
  type NaturalTextClassifier,
} from './natural-lib.js';
import { isPlaceholder, NUMBER_TOKEN } from './text-features.js';

/** How the posterior and confidence are computed; the defaults are the measured best. */
export interface ScoringOptions {
  /**
   * natural's classifier to use. Logistic regression was measured and rejected: on the same data
   * and features its top-1 intent accuracy on the dev sets was 0.903 (en) / 0.891 (es) against
   * Bayes' 0.921 / 0.903, and it trained in 82-91 s per locale (natural fits it by dense
   * full-batch gradient descent) against about 0.2 s.
   */
  algorithm: 'bayes' | 'logistic';
  /** natural's Bayes smoothing (the count an unseen feature gets). */
  smoothing: number;
  /** Repeat the documents of small labels so every label weighs about as much as the largest. */
  balance: boolean;
  /** Softmax temperature over natural's log scores (Bayes only)... */
  temperature: number;
  /** ...times (number of known features)^temperatureGrowth, as evidence piles up with length. */
  temperatureGrowth: number;
  /** Exponent on coverage: 0 ignores coverage, 1 multiplies by it. */
  coverageExponent: number;
}

/**
 * The settings measured best on the dev sets (top-1 intent accuracy en / es, first data set):
 * - natural's defaults (smoothing 1, unbalanced): 0.830 / 0.806. A word seen once in a class
 *   only doubles its score, and each word of the message a class lacks divides its score by
 *   the class's document count, so the large report_problem class lost most long messages.
 * - smoothing 0.1, balanced by repetition: 0.903 / 0.861. Repetition also divides the
 *   effective smoothing of small classes, so 0.1 is already gentle; 0.3 to 4 lost accuracy.
 * - word pairs as extra features: no gain (0.867 / 0.867) for 4x the training time.
 * - temperature 1.5 × √(known features): the best separation of in-scope from off-topic
 *   messages among fixed temperatures 1-8 and 0.5-2 × k^0.5 or k^1 (curves in nlu.ts).
 */
export const DEFAULT_SCORING: ScoringOptions = {
  algorithm: 'bayes',
  smoothing: 0.1,
  balance: true,
  temperature: 1.5,
  temperatureGrowth: 0.5,
  coverageExponent: 1,
};

/** One labelled training example, already turned into features. */
export interface TrainingDoc<Label extends string> {
  label: Label;
  features: readonly string[];
  /** How many documents this one counts as within its label (default 1). */
  weight?: number;
}

/** The best label for a message and how sure the classifier is of it. */
export interface Prediction<Label extends string> {
  label: Label;
  /** posterior × coverage^exponent, 0..1. */
  confidence: number;
  posterior: number;
  coverage: number;
}

/** A trained classifier over one label set. */
export interface ScoredClassifier<Label extends string> {
  /**
   * null when the message has no word at all to go on (only numbers, emoji, nothing).
   * `guessed` features (typo corrections) count half in coverage.
   */
  classify(features: readonly string[], guessed?: ReadonlySet<string>): Prediction<Label> | null;
}

/**
 * Trains a classifier on the documents, synchronously: Bayes counts each document once, however
 * many times balancing repeats it (a few ms per set; natural's own training took 0.15-0.3 s).
 */
export function trainScoredClassifier<Label extends string>(
  docs: readonly TrainingDoc<Label>[],
  options: ScoringOptions = DEFAULT_SCORING,
): ScoredClassifier<Label> {
  const natural: NaturalTextClassifier = options.algorithm === 'bayes' ? newBayesClassifier(options.smoothing) : newLogisticRegressionClassifier();
  const documentFrequency = new Map<string, number>();
  const labelWeights = new Map<string, number>();
  for (const doc of docs) labelWeights.set(doc.label, (labelWeights.get(doc.label) ?? 0) + (doc.weight ?? 1));
  const largest = Math.max(...labelWeights.values());
  // Each label's documents are repeated to `largest` in total, each in proportion to its weight
  // (cumulative rounding): rounding one factor per label would leave labels a few percent apart,
  // enough to flip one-word messages such as "help" between two intents that both use it.
  const position = new Map<string, number>();
  // Bayes: the vocabulary in first-seen order, as natural would number it; the counts go
  // straight into its model (see addWeightedExample for why natural's train is not used).
  const vocabulary = new Map<string, number>();
  for (const doc of docs) {
    const weight = doc.weight ?? 1;
    const before = position.get(doc.label) ?? 0;
    position.set(doc.label, before + weight);
    const scale = options.balance ? largest / (labelWeights.get(doc.label) ?? 1) : 1;
    const copies = Math.floor((before + weight) * scale) - Math.floor(before * scale);
    if (options.algorithm === 'bayes') {
      const indexes = doc.features.map((feature) => vocabulary.get(feature) ?? vocabulary.set(feature, vocabulary.size).size - 1);
      if (indexes.length > 0) addWeightedExample(natural.classifier, indexes, doc.label, copies);
    } else {
      for (let i = 0; i < copies; i++) natural.addDocument([...doc.features], doc.label);
    }
    for (const feature of new Set(doc.features)) {
      documentFrequency.set(feature, (documentFrequency.get(feature) ?? 0) + 1);
    }
  }
  if (options.algorithm !== 'bayes') natural.train();
  const classifyTokens = options.algorithm === 'bayes' ? sparseBayes(natural.classifier, vocabulary) : (tokens: string[]) => natural.getClassifications(tokens);

  const total = docs.length;
  // A word never seen counts as much as the rarest seen one: it may be what the message is about.
  const unseenWeight = Math.log(total);
  const weight = (feature: string): number => {
    const df = documentFrequency.get(feature);
    return df === undefined ? unseenWeight : Math.max(0.1, Math.log(total / df));
  };
  // Balanced, every label already starts equal. Unbalanced, natural's scores carry the prior
  // (documents of the label / all), which is divided out: a label is not likelier for having
  // more ways to be said.
  const totalWeight = [...labelWeights.values()].reduce((sum, w) => sum + w, 0);
  const logPrior = (label: string): number => (options.balance ? 0 : Math.log((labelWeights.get(label) ?? 1) / (totalWeight + 1)));

  return {
    classify(features, guessed) {
      const unique = [...new Set(features)];
      // Numbers say nothing of intent on their own ("2" is an answer to a question, not a report).
      const informative = unique.filter((feature) => feature !== NUMBER_TOKEN);
      if (informative.length === 0) return null;
      let known = 0;
      let all = 0;
      let knownCount = 0;
      for (const feature of informative) {
        const w = weight(feature);
        all += w;
        if (documentFrequency.has(feature) || isPlaceholder(feature)) {
          known += guessed?.has(feature) ? w / 2 : w;
          knownCount++;
        }
      }
      const coverage = known / all;

      const ranking = classifyTokens(unique);
      const temperature = options.temperature * Math.max(1, knownCount) ** options.temperatureGrowth;
      const posteriors = options.algorithm === 'bayes' ? bayesPosteriors(ranking, logPrior, temperature) : normalized(ranking);
      const [top] = posteriors;
      if (top === undefined) return null;
      return {
        label: top.label as Label,
        posterior: top.value,
        coverage,
        confidence: top.value * coverage ** options.coverageExponent,
      };
    },
  };
}

/**
 * Bayes classification without natural's dense feature vector. natural turns every message
 * into a 0/1 array as long as the whole vocabulary and its Bayes scans all of it, about 100 µs
 * a message here (a fifth of a turn's CPU, measured). Its Bayes (apparatus) also takes a sparse
 * observation, the indexes of the features present, and scores it the same way; the indexes
 * are the ones the documents were counted under.
 */
function sparseBayes(model: NaturalTextClassifier['classifier'], indexOf: ReadonlyMap<string, number>): (tokens: string[]) => NaturalClassification[] {
  return (tokens) => {
    const observation: Record<number, number> = {};
    let count = 0;
    for (const token of tokens) {
      const index = indexOf.get(token);
      if (index !== undefined) observation[count++] = index;
    }
    return model.getClassifications(observation);
  };
}

interface Scored {
  label: string;
  value: number;
}

// Softmax over log scores with the prior removed; computed in log space so long messages,
// whose products come close to underflow, keep their ranking.
function bayesPosteriors(ranking: readonly Scored[], logPrior: (label: string) => number, temperature: number): Scored[] {
  const logs = ranking.map(({ label, value }) => ({
    label,
    value: (Math.log(Math.max(value, Number.MIN_VALUE)) - logPrior(label)) / temperature,
  }));
  const max = Math.max(...logs.map((entry) => entry.value));
  const exps = logs.map(({ label, value }) => ({ label, value: Math.exp(value - max) }));
  return normalized(exps);
}

function normalized(ranking: readonly Scored[]): Scored[] {
  const sum = ranking.reduce((acc, entry) => acc + entry.value, 0);
  return ranking.map(({ label, value }) => ({ label, value: sum > 0 ? value / sum : 1 / ranking.length })).sort((a, b) => b.value - a.value);
}
