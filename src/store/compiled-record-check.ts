/**
 * The fast path of `validateRecord`: a check compiled once from a collection's mongoose schema
 * that returns the plain object mongoose would return, but only for a record that is already
 * canonical and valid. Anything else (a value mongoose would cast, a default it would fill in, a
 * field it would refuse) is left to mongoose, which casts it or throws its proper error.
 *
 * Why: building a mongoose document for every write (`new model`, `validate`, `toObject`) cost
 * about 17% of all CPU under load (profiled: `$set`, `doValidate`, `cloneObject`...), and
 * nearly every record the service writes is already canonical.
 *
 * The check reads the same schemas, so it cannot drift from them; and compiling throws on any
 * schema feature it does not handle (`unsupported`), so a schema that grows one fails
 * test/store/compiled-record-check.test.ts (which compiles every collection) instead of silently
 * losing the fast path or its exactness. That test also checks, on random mutations of
 * realistic records, that whatever the fast path accepts mongoose accepts too, with an equal
 * result.
 */
import type { Schema } from 'mongoose';

/** Returns what mongoose would store for a record, or undefined when mongoose must decide. */
export type RecordCheck<T> = (record: unknown) => T | undefined;

/** Compiles the check of a record schema; throws if the schema uses a feature not handled here. */
export function compileRecordCheck<T>(schema: Schema<T>): RecordCheck<T> {
  const check = compileSchema(schema as unknown as Schema, '');
  return (record) => {
    const result = check(record);
    return result === DEFER ? undefined : (result as T);
  };
}

/** What a check returns when mongoose must decide (`undefined` is a value inside Mixed). */
const DEFER: unique symbol = Symbol('defer to mongoose');

/** Checks a present (not undefined) value: what mongoose would store for it, or DEFER. */
type ValueCheck = (value: unknown) => unknown;

/** The parts of a mongoose SchemaType read here (mongoose's own types omit most of them). */
interface SchemaTypeInternals {
  readonly instance: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly validators: readonly ValidatorInternals[];
  readonly setters: readonly unknown[];
  readonly getters: readonly unknown[];
  /** A function for arrays (mongoose defaults them to `[]`), unless `default: undefined`. */
  readonly defaultValue?: unknown;
  readonly isRequired?: boolean;
  readonly originalRequiredValue?: unknown;
  checkRequired(value: unknown): unknown;
  /** Single nested and document arrays: the schema of the nested value. */
  readonly schema?: Schema;
  readonly $isSingleNested?: boolean;
  readonly $isMongooseDocumentArray?: boolean;
  /** Arrays of primitives: the element's type. */
  readonly embeddedSchemaType?: SchemaTypeInternals;
  /** Maps: the type of each value (`of`). */
  readonly $__schemaType?: SchemaTypeInternals;
}

interface ValidatorInternals {
  readonly type?: string;
  readonly validator?: unknown;
  readonly propsParameter?: unknown;
  readonly isAsync?: unknown;
}

interface SchemaInternals {
  readonly paths: Readonly<Record<string, SchemaTypeInternals>>;
  readonly nested?: Readonly<Record<string, unknown>>;
  readonly options: Readonly<Record<string, unknown>>;
  readonly discriminators?: unknown;
  readonly s?: { readonly hooks?: { readonly _pres?: unknown; readonly _posts?: unknown } };
}

/**
 * Schema type options handled here. Anything else (trim, lowercase, get, set, alias, cast,
 * immutable, ref, match, minLength...) changes what mongoose stores or refuses, so it must be
 * taught to this file before a schema uses it. Index options change neither.
 */
const HANDLED_OPTIONS = new Set(['type', 'required', 'default', 'validate', 'enum', 'min', 'max', 'of', 'index', 'unique', 'sparse']);

/** The validators each type may carry here; `required` is handled for every type. */
const HANDLED_VALIDATORS: Readonly<Record<string, readonly string[]>> = {
  String: ['enum', 'user defined'],
  Number: ['min', 'max', 'user defined'],
  Date: ['min', 'max', 'user defined'],
  Boolean: ['user defined'],
  // A Mixed validator gets the value itself, as here. One on an array, Map or subdocument would
  // get mongoose's own array, Map or document instead of the plain value seen here: none allowed.
  Mixed: ['user defined'],
};

/**
 * Object keys that mongoose's `clone` (its `toObject`) skips or treats as one of its own
 * objects (helpers/clone.js, specialProperties.js, isMongooseObject.js, isBsonType.js): a Mixed
 * value holding one would not come back as it went in.
 */
const MONGOOSE_SPECIAL_KEYS = new Set(['__proto__', 'constructor', 'prototype', '$__', '_bsontype', 'isMongooseBuffer', '$isMongooseMap']);

// Deeper Mixed values (or a cycle) are left to mongoose.
const MAX_MIXED_DEPTH = 64;

function unsupported(at: string, what: string): never {
  throw new Error(`compileRecordCheck: ${at || '(record)'}: ${what} is not handled by the fast path; teach compiled-record-check.ts about it`);
}

/** The check of a record or nested schema: a plain object with only its fields. */
function compileSchema(schema: Schema, prefix: string): ValueCheck {
  const internals = schema as unknown as SchemaInternals;
  const at = prefix.slice(0, -1);
  // minimize would drop empty objects from what mongoose returns; hooks could change anything.
  if (internals.options.minimize !== false) unsupported(at, 'a schema without `minimize: false`');
  if (internals.options.toObject !== undefined) unsupported(at, 'a schema with `toObject` options');
  if (internals.options.timestamps) unsupported(at, 'a schema with timestamps');
  if (internals.discriminators) unsupported(at, 'a schema with discriminators');
  const hooks = internals.s?.hooks;
  if (!(hooks?._pres instanceof Map) || !(hooks._posts instanceof Map)) unsupported(at, 'a schema whose hooks cannot be inspected (mongoose changed?)');
  // (A new document runs no other hook before `toObject`; `init` hooks run on loading.)
  if (hooks._pres.get('validate')?.length || hooks._posts.get('validate')?.length) unsupported(at, 'a schema with a validate hook');
  if (Object.keys(internals.nested ?? {}).length > 0) unsupported(at, 'a nested path object without a schema of its own');

  const fields: { name: string; mustBePresent: boolean; check: ValueCheck }[] = [];
  for (const [name, type] of Object.entries(internals.paths)) {
    if (name.endsWith('.$*')) continue; // a Map's value type, compiled with its Map
    if (name.includes('.')) unsupported(prefix + name, 'a nested path object without a schema of its own');
    // Fields are read as `value[name]`, which must not find something on Object.prototype.
    if (name in Object.prototype) unsupported(prefix + name, 'a field named like an Object.prototype property');
    // Absent but required: mongoose refuses it; absent with a default: mongoose fills it in.
    // (Every array has a default, `[]`, unless declared with `default: undefined`.)
    fields.push({ name, mustBePresent: type.isRequired === true || type.defaultValue !== undefined, check: compileValue(type, prefix + name) });
  }
  const names = new Set(fields.map((field) => field.name));

  return (value) => {
    if (!isPlainObject(value)) return DEFER;
    const record = value as Record<string, unknown>;
    let defined = 0;
    for (const key of Object.keys(record)) {
      // A key the schema lacks: mongoose throws (strict: 'throw').
      if (!names.has(key)) return DEFER;
      if (record[key] !== undefined) defined += 1;
    }
    // In schema order, as mongoose returns it. An undefined field is absent, as in mongoose.
    const result: Record<string, unknown> = {};
    let present = 0;
    for (const field of fields) {
      const item = record[field.name];
      if (item === undefined) {
        if (field.mustBePresent) return DEFER;
        continue;
      }
      present += 1;
      const checked = field.check(item);
      if (checked === DEFER) return DEFER;
      result[field.name] = checked;
    }
    // More than Object.keys listed: a non-enumerable field, which mongoose would not see.
    return present === defined ? result : DEFER;
  };
}

/** The check of one path's value: its shape, then `required`, then its validators. */
function compileValue(type: SchemaTypeInternals, at: string): ValueCheck {
  for (const option of Object.keys(type.options)) {
    if (!HANDLED_OPTIONS.has(option)) unsupported(at, `the \`${option}\` option`);
  }
  if (type.setters.length > 0 || type.getters.length > 0) unsupported(at, 'a setter or getter');
  if (typeof type.originalRequiredValue === 'function') unsupported(at, 'a conditional `required`');
  const shape = compileShape(type, at);
  const validators = compileValidators(type, at);
  const required = type.isRequired === true;
  return (value) => {
    const result = shape(value);
    if (result === DEFER) return DEFER;
    // mongoose's own test: a required String may not be empty, a required Mixed not null.
    if (required && !type.checkRequired(result)) return DEFER;
    for (const validator of validators) {
      if (!passes(validator, result)) return DEFER;
    }
    return result;
  };
}

/** Accepts only what mongoose would keep as it is, without casting. */
function compileShape(type: SchemaTypeInternals, at: string): ValueCheck {
  switch (type.instance) {
    case 'String':
      return (value) => (typeof value === 'string' ? value : DEFER);
    case 'Number':
      // mongoose keeps Infinity; deferring to it costs nothing and keeps this obvious.
      return (value) => (typeof value === 'number' && Number.isFinite(value) ? value : DEFER);
    case 'Boolean':
      return (value) => (typeof value === 'boolean' ? value : DEFER);
    case 'Date':
      // The same instance: mongoose returns an equal copy. (It returns a subclass's instance as a number.)
      return (value) => (value instanceof Date && Object.getPrototypeOf(value) === Date.prototype && !Number.isNaN(value.getTime()) ? value : DEFER);
    case 'Mixed':
      // Not copied: see isPlainData.
      return (value) => (isPlainData(value, 0) ? value : DEFER);
    case 'Embedded':
      if (!type.$isSingleNested || !type.schema) unsupported(at, 'a single nested path without a schema');
      return compileSchema(type.schema, `${at}.`);
    case 'Array':
      return compileArray(type, at);
    case 'Map':
      return compileMap(type, at);
    default:
      return unsupported(at, `a path of type ${type.instance}`);
  }
}

/** An array of nested schemas or of primitives; mongoose returns a new plain array. */
function compileArray(type: SchemaTypeInternals, at: string): ValueCheck {
  let element: ValueCheck;
  if (type.$isMongooseDocumentArray) {
    if (!type.schema) unsupported(at, 'a document array without a schema');
    element = compileSchema(type.schema, `${at}.`);
  } else {
    const caster = type.embeddedSchemaType;
    if (!caster || !['String', 'Number', 'Boolean', 'Date'].includes(caster.instance)) unsupported(at, `an array of ${caster?.instance ?? 'unknown'}`);
    if (caster.isRequired || caster.defaultValue !== undefined) unsupported(at, 'an array element with `required` or a default');
    element = compileValue(caster, `${at}.$`);
  }
  return (value) => {
    if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) return DEFER;
    const result: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      if (item === undefined) return DEFER;
      const checked = element(item);
      if (checked === DEFER) return DEFER;
      result[i] = checked;
    }
    return result;
  };
}

/** A Map given as a plain object; mongoose returns a plain object too (`flattenMaps`). */
function compileMap(type: SchemaTypeInternals, at: string): ValueCheck {
  if (!type.$__schemaType) unsupported(at, 'a Map without `of`');
  const element = compileValue(type.$__schemaType, `${at}.$*`);
  return (value) => {
    // A JS Map is cast by mongoose; left to it.
    if (!isPlainObject(value)) return DEFER;
    const map = value as Record<string, unknown>;
    const result: Record<string, unknown> = {};
    for (const key of Object.keys(map)) {
      // mongoose refuses `$...` and dotted keys in a Map; `__proto__` would not be an own key here.
      if (key.startsWith('$') || key.includes('.') || MONGOOSE_SPECIAL_KEYS.has(key)) return DEFER;
      const item = map[key];
      if (item === undefined || item === null) return DEFER;
      const checked = element(item);
      if (checked === DEFER) return DEFER;
      result[key] = checked;
    }
    return result;
  };
}

/** The validators of a path other than `required`, each as a function of the value. */
function compileValidators(type: SchemaTypeInternals, at: string): ((value: unknown) => unknown)[] {
  const handled = HANDLED_VALIDATORS[type.instance] ?? [];
  const validators: ((value: unknown) => unknown)[] = [];
  for (const { type: kind, validator, propsParameter, isAsync } of type.validators) {
    if (kind === 'required') continue;
    if (kind === undefined || !handled.includes(kind)) unsupported(at, `a \`${kind ?? '?'}\` validator on a ${type.instance}`);
    if (typeof validator !== 'function') unsupported(at, 'a validator that is not a function');
    if (isAsync || validator.constructor.name === 'AsyncFunction') unsupported(at, 'an async validator');
    if (propsParameter) unsupported(at, 'a validator with `propsParameter`');
    validators.push(validator as (value: unknown) => unknown);
  }
  return validators;
}

/**
 * Runs a validator and reads its answer as mongoose does (SchemaType#doValidate): it fails when
 * it throws or returns something falsy other than undefined. A promise is left to mongoose.
 * (mongoose calls it with the document as `this`; a validator that needs it throws here, and
 * the record goes to mongoose.)
 */
function passes(validator: (value: unknown) => unknown, value: unknown): boolean {
  let ok: unknown;
  try {
    ok = validator.call(undefined, value);
  } catch {
    return false;
  }
  if (typeof (ok as PromiseLike<unknown> | null)?.then === 'function') return false;
  return ok === undefined || Boolean(ok);
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Whether mongoose's `toObject` would return a Mixed value deep-equal to itself: plain objects
 * and arrays of strings, numbers, booleans, null and Dates (mongoose's `clone` copies these as
 * they are, but drops an object key whose value is undefined and keeps an array's undefined).
 *
 * The value is not copied, unlike mongoose. Copying a conversation's `state` and its 20
 * `recentInbound` receipts is much of the cost this fast path removes, and nothing needs the
 * copy: the embedded store encodes the record (msgpackr) within the write call, and no caller
 * changes a record it handed to the store; mongoose itself kept the caller's Mixed value,
 * uncopied, until its `toObject` after the (asynchronous) validation. Only `upsert` hands a
 * record back, whose Mixed values are then the caller's own; no caller of a collection with a
 * Mixed field (conversations, webchatActivities, meta, audit) uses that result.
 */
function isPlainData(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      // undefined (only as an array item, handled below), bigint, symbol, function.
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_MIXED_DEPTH) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === Array.prototype) {
    const array = value as unknown[];
    for (let i = 0; i < array.length; i += 1) {
      const item = array[i];
      // A hole would come back as an undefined item: equal for most, not for a strict compare.
      if (item === undefined ? !Object.hasOwn(array, i) : !isPlainData(item, depth + 1)) return false;
    }
    return true;
  }
  if (prototype === Object.prototype) {
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      const item = object[key];
      if (item === undefined || MONGOOSE_SPECIAL_KEYS.has(key) || !isPlainData(item, depth + 1)) return false;
    }
    return true;
  }
  return prototype === Date.prototype;
}
