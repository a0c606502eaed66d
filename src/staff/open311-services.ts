/**
 * The Open311 services (issue 19): one per report category, named, grouped and with keywords in
 * the city's default language (`locales/<lang>/messages.json`), and the service definitions.
 *
 * Attributes, decided: a category has attributes only where the answer helps a crew and can
 * never name a resident. Two do: a pothole's size (a list) and a street light's pole number
 * (text). Those two are `metadata: true`; every other service is `metadata: false` and its
 * definition, which `GET services/{code}` still answers so a client that always asks is not
 * refused, has no attributes. A POST may answer only the attributes its service defines: an
 * unknown `attribute[code]` is a 400, so a client sending free-form fields (a name, a phone)
 * through attributes learns at once rather than having them dropped silently.
 */
import type { Translator } from '../core/i18n.js';
import { CATEGORIES } from '../domain/vocabulary.js';

/** One service of `GET services`, in the spec's field names. */
// Types rather than interfaces here: the XML writer takes them as plain records of values.
export type Open311Service = {
  service_code: string;
  service_name: string;
  description: string;
  metadata: boolean;
  type: 'realtime' | 'batch' | 'blackbox';
  keywords: string;
  group: string;
};

/** A value of a list attribute. */
export type Open311AttributeValue = {
  key: string;
  name: string;
};

/** One attribute of a service definition, in the spec's field names. */
export type Open311Attribute = {
  variable: boolean;
  code: string;
  datatype: 'string' | 'number' | 'datetime' | 'text' | 'singlevaluelist' | 'multivaluelist';
  required: boolean;
  datatype_description: string;
  order: number;
  description: string;
  values?: Open311AttributeValue[];
};

/** `GET services/{code}`: a service's definition. */
export type Open311ServiceDefinition = {
  service_code: string;
  attributes: Open311Attribute[];
};

/** The longest answer to a text attribute. */
export const ATTRIBUTE_MAX_LENGTH = 100;

/** Which group each category is listed under (`open311.group.<group>` names it). */
const GROUPS: Readonly<Record<string, string>> = {
  pothole: 'streets',
  streetlight: 'streets',
  sidewalk: 'streets',
  traffic_signal: 'streets',
  abandoned_vehicle: 'streets',
  graffiti: 'sanitation',
  trash: 'sanitation',
  illegal_dumping: 'sanitation',
  tree: 'parks',
  park: 'parks',
  water_leak: 'water',
  noise: 'neighbourhood',
  other: 'other',
};

/** The attributes of the categories that have any, without their translated texts. */
const ATTRIBUTES: Readonly<Record<string, readonly { code: string; datatype: 'string' | 'singlevaluelist'; values?: readonly string[] }[]>> = {
  pothole: [{ code: 'size', datatype: 'singlevaluelist', values: ['small', 'medium', 'large'] }],
  streetlight: [{ code: 'pole_number', datatype: 'string' }],
};

/** Whether `code` is a service (a category). */
export function isServiceCode(code: string): boolean {
  return (CATEGORIES as readonly string[]).includes(code);
}

/** The service's name in the city's default language. */
export function serviceName(i18n: Translator, code: string): string {
  return i18n.has(i18n.defaultLocale, `category.${code}`) ? i18n.t(i18n.defaultLocale, `category.${code}`) : code;
}

/** Every service, in the categories' order. */
export function open311Services(i18n: Translator): Open311Service[] {
  const locale = i18n.defaultLocale;
  return CATEGORIES.map((code) => {
    const name = serviceName(i18n, code);
    return {
      service_code: code,
      service_name: name,
      description: name,
      metadata: (ATTRIBUTES[code]?.length ?? 0) > 0,
      // A POST files the report at once and answers with its id.
      type: 'realtime' as const,
      keywords: i18n.t(locale, `open311.keywords.${code}`),
      group: i18n.t(locale, `open311.group.${GROUPS[code] ?? 'other'}`),
    };
  });
}

/** A service's definition, or null for an unknown code. */
export function open311ServiceDefinition(i18n: Translator, code: string): Open311ServiceDefinition | null {
  if (!isServiceCode(code)) return null;
  const locale = i18n.defaultLocale;
  return {
    service_code: code,
    attributes: (ATTRIBUTES[code] ?? []).map((attribute, index) => ({
      variable: true,
      code: attribute.code,
      datatype: attribute.datatype,
      required: false,
      datatype_description:
        attribute.datatype === 'singlevaluelist' ? `One of: ${(attribute.values ?? []).join(', ')}` : `Text, at most ${ATTRIBUTE_MAX_LENGTH} characters`,
      order: index + 1,
      description: i18n.t(locale, `open311.attribute.${attribute.code}`),
      ...(attribute.values ? { values: attribute.values.map((key) => ({ key, name: i18n.t(locale, `open311.attribute.${attribute.code}.${key}`) })) } : {}),
    })),
  };
}

/**
 * Checks a POST's `attribute[code]` answers against the service's definition: the answers in
 * the definition's order, or the first problem as a sentence for the client.
 */
export function checkAttributes(
  code: string,
  given: ReadonlyMap<string, string>,
): { ok: true; attributes: { code: string; value: string }[] } | { ok: false; problem: string } {
  const defined = ATTRIBUTES[code] ?? [];
  for (const name of given.keys()) {
    if (!defined.some((attribute) => attribute.code === name))
      return {
        ok: false,
        problem: `attribute[${name}] is not an attribute of service ${code}${defined.length ? ` (it has: ${defined.map((a) => a.code).join(', ')})` : ' (it has none)'}`,
      };
  }
  const attributes: { code: string; value: string }[] = [];
  for (const attribute of defined) {
    const value = given.get(attribute.code)?.trim();
    if (!value) continue;
    if (attribute.values && !attribute.values.includes(value))
      return { ok: false, problem: `attribute[${attribute.code}] must be one of: ${attribute.values.join(', ')}` };
    if (value.length > ATTRIBUTE_MAX_LENGTH || /\p{Cc}/u.test(value))
      return { ok: false, problem: `attribute[${attribute.code}] must be text of at most ${ATTRIBUTE_MAX_LENGTH} characters` };
    attributes.push({ code: attribute.code, value });
  }
  return { ok: true, attributes };
}
