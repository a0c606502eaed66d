/**
 * The bad-input corpus, as fast-check arbitraries: nasty strings (control characters, emoji,
 * right-to-left text, lone surrogates, injections, very long text), nasty JSON values (MongoDB
 * operators, prototype keys, deep nesting), records with fields missing, mangled or added, and
 * the ways a body can be wrong (malformed JSON, wrong or missing content type, a form where JSON
 * is expected, unsupported encodings and charsets, huge bodies, deeply nested bodies).
 *
 * Each endpoint of the fault suite builds its cases from a valid request of its own, so that a
 * good share of them get past parsing and authentication and reach its validators (and, when
 * they are valid after all, a real turn).
 */
import fc from 'fast-check';

/** A request case before it is sent: path (with query), headers, body. */
export interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

const CONTROL = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).concat(['\u007f', '\u0085', '\u2028', '\u2029']);

/** Strings people (and attackers) send that a naive service trips on. */
const SPECIAL_STRINGS = [
  '',
  ' ',
  '\u0000',
  'hi\u0000there',
  '\u202Eevil\u202C',
  '\u2066isolate\u2069',
  'مرحبا، هناك حفرة في الشارع',
  'יש בור בכביש ליד הבית',
  'حفرة pothole בור',
  '🙂🚧🕳️',
  '👨‍👩‍👧‍👦🏳️‍🌈',
  '\uD83D',
  '\uDE00',
  'e\u0301\u0301\u0301\u0301',
  'Z̷̢̛͖̱̣̺̘̙̠͉̪̤̖͍̥̱͎̮͇̈́̋̉̂̓͐͋̄̕a̸͕͉͈̲͛l̶̢̧̠͍̥̞̗̲̝̳̀̎́͒g̴̨̛͎̫̞̤o̴',
  '\u200B\u200C\u200D\uFEFF',
  '{"$gt": ""}',
  '$gt',
  '$where',
  '$regex',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'; DROP TABLE reports; --",
  '=HYPERLINK("http://evil.example")',
  '../../../../etc/passwd',
  '%00%0d%0a',
  '\r\n\r\nHTTP/1.1 200 OK',
  'STOP',
  'stop',
  'START',
  'HELP',
  'BAJA',
  'status R-7K3QX',
  'R-00000',
  '#7K3QX',
  '+15551234567',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '9'.repeat(400),
  'ñ'.repeat(3000),
  'pothole '.repeat(600),
  'a'.repeat(20_000),
];

/** Any string, but mostly nasty ones. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...CONTROL), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => `$${s}`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...SPECIAL_STRINGS), fc.constantFrom(...SPECIAL_STRINGS), fc.string({ unit: 'grapheme', maxLength: 10 }))
      .map((parts) => parts.join(' ')),
  },
);

/** MongoDB query operators and other objects where a string or number belongs. */
const OPERATOR_VALUES: unknown[] = [
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(1000)' },
  { $regex: '.*' },
  { $in: ['a', 'b'] },
  { $exists: true },
  [{ $gt: '' }],
  // Own "__proto__" keys, as JSON.parse makes them (an object literal would set the prototype).
  JSON.parse('{"__proto__": {"polluted": true}}'),
  { constructor: { prototype: { polluted: true } } },
  { toString: 'x', valueOf: 1 },
];

/** Any JSON value, with operators and awkward numbers among them. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.constantFrom(...OPERATOR_VALUES) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, -0) },
  { weight: 1, arbitrary: fc.double({ noNaN: true }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(nastyString, nastyString, { maxKeys: 4 }) },
);

/**
 * A valid record with some fields dropped, some replaced by nasty values, and some added
 * (operator keys and prototype keys among them). `keep` is how likely each field survives as is.
 */
export function mutated<T extends Record<string, unknown>>(valid: fc.Arbitrary<T>, keep = 0.7): fc.Arbitrary<Record<string, unknown>> {
  // Few draws per record (generating 10,000 cases per endpoint must stay cheap): each field is
  // kept, replaced by one of a few nasty values drawn for the record, or dropped.
  return fc
    .tuple(
      valid,
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 16, maxLength: 16 }),
      fc.array(nastyValue, { minLength: 1, maxLength: 3 }),
      fc.array(fc.tuple(fc.oneof(nastyString, fc.constantFrom('$where', '$gt', '__proto__', 'constructor', 'extra', '_id', '_rev')), nastyValue), {
        maxLength: 2,
      }),
    )
    .map(([record, rolls, replacements, extras]) => {
      const out: Record<string, unknown> = {};
      Object.entries(record).forEach(([key, value], i) => {
        const roll = rolls[i % rolls.length]!;
        if (roll < keep) out[key] = value;
        else if (roll < keep + (1 - keep) / 2) out[key] = replacements[i % replacements.length];
        // else: the field is missing
      });
      for (const [key, value] of extras) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      return out;
    });
}

/** Deeply nested JSON text: arrays, objects, or a mix, `depth` levels down. */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 50, max: 30_000 }), fc.constantFrom('array', 'object', 'mixed'))
  .map(([depth, kind]) => {
    if (kind === 'array') return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;
  });

/** A record as JSON text with one field replaced by deeply nested JSON. */
export function withDeepField(record: Record<string, unknown>, field: string, deep: string): string {
  const marker = '"__DEEP_MARKER__"';
  return JSON.stringify({ ...record, [field]: '__DEEP_MARKER__' }).replace(marker, deep);
}

/** How a JSON endpoint's body (given as a record) is sent: mostly right, often wrong. */
export type JsonShape =
  | { kind: 'json' }
  | { kind: 'deep'; field: string; deep: string }
  | { kind: 'deepBody'; deep: string }
  | { kind: 'truncated'; at: number }
  | { kind: 'garbage'; text: string }
  | { kind: 'form' }
  | { kind: 'contentType'; type: string | null }
  | { kind: 'encoding'; encoding: string }
  | { kind: 'huge'; size: number }
  | { kind: 'empty' }
  | { kind: 'bytes'; bytes: Uint8Array };

const WRONG_TYPES = [
  null,
  'text/plain',
  'application/xml',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-16',
  'application/json; charset=klingon',
  'application/json, text/html',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/octet-stream',
  '',
  'json',
  'text/html; charset=utf-8',
];

export const jsonShape = (fields: string[]): fc.Arbitrary<JsonShape> =>
  fc.oneof(
    { weight: 55, arbitrary: fc.constant<JsonShape>({ kind: 'json' }) },
    {
      weight: 5,
      arbitrary: fc.tuple(fc.constantFrom(...(fields.length ? fields : ['x'])), deepJson).map(([field, deep]): JsonShape => ({ kind: 'deep', field, deep })),
    },
    { weight: 3, arbitrary: deepJson.map((deep): JsonShape => ({ kind: 'deepBody', deep })) },
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 400 }).map((at): JsonShape => ({ kind: 'truncated', at })) },
    {
      weight: 5,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            "{'a': 1}",
            '{a:1}',
            'NaN',
            '[1,]',
            '{"a":1,}',
            '\uFEFF{}',
            '{"a": undefined}',
            '{"a":1}{"b":2}',
            '"just a string"',
            '42',
            'true',
            'null',
            '[]',
            '{}',
          ),
          fc.string({ unit: 'binary', maxLength: 100 }),
        )
        .map((text): JsonShape => ({ kind: 'garbage', text })),
    },
    { weight: 4, arbitrary: fc.constant<JsonShape>({ kind: 'form' }) },
    { weight: 8, arbitrary: fc.constantFrom(...WRONG_TYPES).map((type): JsonShape => ({ kind: 'contentType', type })) },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'gzip, gzip', 'x-nonsense')
        .map((encoding): JsonShape => ({ kind: 'encoding', encoding })),
    },
    { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 1_500_000 }).map((size): JsonShape => ({ kind: 'huge', size })) },
    { weight: 3, arbitrary: fc.constant<JsonShape>({ kind: 'empty' }) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes): JsonShape => ({ kind: 'bytes', bytes })) },
  );

/** The body and headers of a JSON request shaped as `shape`. */
export function jsonBody(record: unknown, shape: JsonShape): { headers: Record<string, string>; body?: string | Buffer } {
  const json = { 'content-type': 'application/json' };
  const text = () => JSON.stringify(record) ?? 'null';
  switch (shape.kind) {
    case 'json':
      return { headers: json, body: text() };
    case 'deep':
      return { headers: json, body: withDeepField(record as Record<string, unknown>, shape.field, shape.deep) };
    case 'deepBody':
      return { headers: json, body: shape.deep };
    case 'truncated':
      return { headers: json, body: text().slice(0, Math.min(shape.at, Math.max(0, text().length - 1))) };
    case 'garbage':
      return { headers: json, body: shape.text };
    case 'form':
      return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formOf(record) };
    case 'contentType':
      return { headers: shape.type === null ? {} : { 'content-type': shape.type }, body: text() };
    case 'encoding':
      return { headers: { ...json, 'content-encoding': shape.encoding }, body: text() };
    case 'huge':
      return { headers: json, body: `{"text":"${'x'.repeat(shape.size)}"}` };
    case 'empty':
      return { headers: json, body: '' };
    case 'bytes':
      return { headers: json, body: Buffer.from(shape.bytes) };
  }
}

/** A record as a form body (objects as JSON text, arrays as repeated keys). */
export function formOf(record: unknown): string {
  const form = new URLSearchParams();
  if (record && typeof record === 'object') {
    for (const [key, value] of Object.entries(record)) {
      for (const each of Array.isArray(value) ? value : [value]) form.append(key, typeof each === 'string' ? each : (JSON.stringify(each) ?? ''));
    }
  }
  return form.toString();
}

/** A query string of nasty parameters (repeated keys, brackets, operators, very long values). */
export function nastyQuery(known: string[]): fc.Arbitrary<string> {
  return fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...known, ...known.map((k) => `${k}[$gt]`), ...known.map((k) => `${k}[]`), '__proto__[x]', 'constructor'), nastyString),
        fc.oneof(nastyString, fc.integer().map(String), fc.constantFrom('', '-1', '0', '1e9', 'open', 'true')),
      ),
      { maxLength: 5 },
    )
    .map((pairs) => {
      const query = new URLSearchParams();
      for (const [key, value] of pairs) query.append(key, value);
      const text = query.toString();
      return text ? `?${text}` : '';
    });
}

/** A path segment that is not what the route expects (encoded so the URL itself stays valid). */
export const nastySegment: fc.Arbitrary<string> = fc
  .oneof(nastyString, fc.constantFrom('..', '.', '%', '%2e%2e', '%00', 'R-7K3QX', 'r7k3qx', 'V-DEM2P', 'B-AAAAA', 'I-AAAAA', 'a'.repeat(5000)))
  .map((segment) => {
    // Already percent-escaped samples are sent as they are; the rest are encoded.
    if (/^(%[0-9a-fA-F]{2}|%)+$/.test(segment) || segment === '%2e%2e') return segment;
    try {
      return encodeURIComponent(segment) || 'x';
    } catch {
      return 'x'; // a lone surrogate cannot be encoded
    }
  });
