/**
 * Typed access to the few parts of `natural` the NLU uses, loaded file by file.
 *
 * Why not `import natural from 'natural'`: the package root loads every module it has, including
 * storage back ends that pull in database drivers and a dotenv that prints to stdout. Its
 * submodules are plain CommonJS files without types of their own, so the shapes used here are
 * declared next to the `require` that loads them.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const NATURAL = 'natural/lib/natural';

/** One label and natural's score for it (for Bayes: prior × likelihood, not normalized). */
export interface NaturalClassification {
  label: string;
  value: number;
}

/** The part of natural's text classifiers the NLU calls; documents are pre-made token lists. */
export interface NaturalTextClassifier {
  addDocument(tokens: string[], label: string): void;
  train(): void;
  getClassifications(tokens: string[]): NaturalClassification[];
  /** The vocabulary, in the order of natural's feature vectors. */
  features: Record<string, unknown>;
  /** The underlying (apparatus) classifier, which also scores sparse observations. */
  classifier: ApparatusBayes;
}

/**
 * natural's Bayes model underneath (apparatus): per label, a count per feature index, the
 * label's document count, and all documents'. Scoring reads only these.
 */
export interface ApparatusBayes {
  getClassifications(observation: Record<number, number>): NaturalClassification[];
  classFeatures: Record<string, Record<number, number>>;
  classTotals: Record<string, number>;
  totalExamples: number;
  smoothing: number;
}

/**
 * Adds one document `copies` times to natural's Bayes model, by its feature indexes (each
 * once), exactly as `copies` calls of natural's `addDocument` + `train` would count it.
 *
 * Why not natural's own training: `train` turns every document into a dense 0/1 vector as long
 * as the vocabulary (with an `indexOf` per entry), and balancing repeats small labels' documents
 * up to the largest's count, so start-up spent most of its 1-2 s there. apparatus's own sparse
 * `addExample` would do, but it assigns an undeclared variable (a global) on every call.
 */
export function addWeightedExample(model: ApparatusBayes, indexes: readonly number[], label: string, copies: number): void {
  if (copies <= 0) return;
  let features = model.classFeatures[label];
  if (!features) {
    features = model.classFeatures[label] = {};
    model.classTotals[label] = 1; // apparatus starts every label at one, to smooth
  }
  model.totalExamples += copies;
  model.classTotals[label] = (model.classTotals[label] ?? 1) + copies;
  for (const index of new Set(indexes)) {
    const count = features[index];
    // The first sighting counts 1 + smoothing, each later one 1 (apparatus's rule).
    features[index] = count ? count + copies : 1 + model.smoothing + (copies - 1);
  }
}

type ClassifierConstructor = new (stemmer?: unknown, smoothing?: number) => NaturalTextClassifier;

/**
 * natural's Bayes classifier over binary features. `smoothing` is the count an unseen feature
 * gets (a seen one gets 1 + smoothing, then +1 per document), so with the default of 1 a word
 * seen once in a class only doubles that class's score.
 */
export function newBayesClassifier(smoothing = 1): NaturalTextClassifier {
  const Bayes = require(`${NATURAL}/classifiers/bayes_classifier.js`) as ClassifierConstructor;
  return new Bayes(undefined, smoothing);
}

/**
 * natural's logistic regression classifier. Kept for measuring against Bayes only: its dense
 * full-batch gradient descent took 82-91 s per locale on this data (Bayes: about 0.3 s).
 */
export function newLogisticRegressionClassifier(): NaturalTextClassifier {
  const Logistic = require(`${NATURAL}/classifiers/logistic_regression_classifier.js`) as ClassifierConstructor;
  return new Logistic();
}

/** Turns a word into its stem, so "lights", "lighting" and "light" are one feature. */
export interface Stemmer {
  stem(word: string): string;
}

// natural's Snowball/Porter stemmers by language; each file exports a ready instance.
const STEMMER_FILES: Readonly<Record<string, string>> = {
  en: 'porter_stemmer.js',
  es: 'porter_stemmer_es.js',
  fr: 'porter_stemmer_fr.js',
  de: 'porter_stemmer_de.js',
  it: 'porter_stemmer_it.js',
  pt: 'porter_stemmer_pt.js',
  nl: 'porter_stemmer_nl.js',
  no: 'porter_stemmer_no.js',
  sv: 'porter_stemmer_sv.js',
  ru: 'porter_stemmer_ru.js',
  uk: 'porter_stemmer_uk.js',
  fa: 'porter_stemmer_fa.js',
};

const IDENTITY_STEMMER: Stemmer = { stem: (word) => word };

/**
 * The stemmer for a locale ('es', 'es-MX' → Spanish). A language natural has no stemmer for
 * still works, unstemmed: every inflection is then learnt as its own word.
 */
export function stemmerFor(locale: string): Stemmer {
  const language = locale.toLowerCase().split(/[-_]/)[0] ?? '';
  const file = STEMMER_FILES[language];
  return file ? (require(`${NATURAL}/stemmers/${file}`) as Stemmer) : IDENTITY_STEMMER;
}

type Similarity = (a: string, b: string) => number;

/** Jaro-Winkler similarity (0..1), kind to typos near the end of a word ("potholle"). */
export const jaroWinkler: Similarity = require(`${NATURAL}/distance/jaro-winkler_distance.js`) as Similarity;
