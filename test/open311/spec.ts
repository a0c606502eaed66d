/**
 * Open311 GeoReport v2 as data: the fields of every document, their types, the enumerations, the
 * XML element names and the defaults of GET requests, from the spec (wiki.open311.org/GeoReport_v2,
 * and /Service_Discovery for discovery). The conformance suite checks servers against these, and
 * the fake server (test/support/fake-open311.ts) is built from them, so the two cannot drift apart.
 */

/** The two formats a GeoReport v2 resource is asked for by its extension (`services.json`, `services.xml`). */
export type Open311Format = 'json' | 'xml';
export const FORMATS: readonly Open311Format[] = ['json', 'xml'];

/** The content types the spec names for each format. */
export const CONTENT_TYPES: Record<Open311Format, string> = { json: 'application/json', xml: 'text/xml' };

/** A service's `type`: realtime answers a service_request_id, batch a token, blackbox neither. */
export const SERVICE_TYPES = ['realtime', 'batch', 'blackbox'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** An attribute's `datatype` in a service definition. */
export const DATATYPES = ['string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist'] as const;
export type Datatype = (typeof DATATYPES)[number];

/** A service request's `status`. */
export const STATUSES = ['open', 'closed'] as const;
export type RequestStatus = (typeof STATUSES)[number];

/** Discovery's `endpoints[].type`. */
export const ENDPOINT_TYPES = ['production', 'test'] as const;

/** GET requests without dates covers the most recent 90 days... */
export const DEFAULT_WINDOW_DAYS = 90;
/** ...and at most the first 1000 requests ("whichever is smallest"). */
export const DEFAULT_LIMIT = 1000;

/**
 * The date-time form the spec requires (the W3C note's profile of ISO 8601): a full date, a time to
 * the minute at least, and a time zone, `Z` or `±HH:MM`. A time without a zone is ambiguous by
 * hours, which is why the spec makes the zone a must.
 */
const W3C_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Whether a value is a date-time the spec allows (and a real date: `2024-02-30T...` is not). */
export function isW3cDatetime(value: unknown): boolean {
  return typeof value === 'string' && W3C_DATETIME.test(value) && !Number.isNaN(Date.parse(value)) && validCalendarDate(value);
}

function validCalendarDate(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * Lists in XML are a wrapper element holding one element per item (Spark convention): the wrapper's
 * name, then the item's. JSON has the plain array under the wrapper's name (or as the document).
 */
export const XML_LIST_ITEMS = {
  services: 'service',
  service_requests: 'request',
  attributes: 'attribute',
  values: 'value',
  errors: 'error',
  endpoints: 'endpoint',
  formats: 'format',
} as const satisfies Record<string, string>;

/** How a field's value is checked. `id` is a string or a number (the spec's own examples use both). */
export type FieldKind = 'id' | 'string' | 'boolean' | 'positive-integer' | 'number' | 'datetime' | 'enum' | 'latitude' | 'longitude' | 'list';

/**
 * How present a field must be: `required` must be there and not null/empty; `expected` is listed by
 * the spec without "may not be returned", so a server leaving it out is warned about (it may be
 * null); `optional` is "may not be returned". Every value that is there is type-checked.
 */
export type Presence = 'required' | 'expected' | 'optional';

/** One field of a document. */
export interface FieldSpec {
  name: string;
  kind: FieldKind;
  presence: Presence;
  /** For `enum`. */
  values?: readonly string[];
}

const field = (name: string, kind: FieldKind, presence: Presence, values?: readonly string[]): FieldSpec => ({
  name,
  kind,
  presence,
  ...(values ? { values } : {}),
});

/** GET services: each service. */
export const SERVICE_FIELDS: readonly FieldSpec[] = [
  field('service_code', 'id', 'required'),
  field('service_name', 'string', 'required'),
  field('description', 'string', 'expected'),
  field('metadata', 'boolean', 'required'),
  field('type', 'enum', 'required', SERVICE_TYPES),
  field('keywords', 'string', 'expected'),
  field('group', 'string', 'expected'),
];

/** GET services/{code}: the service definition. */
export const DEFINITION_FIELDS: readonly FieldSpec[] = [field('service_code', 'id', 'required'), field('attributes', 'list', 'required')];

/** Each attribute of a service definition. */
export const ATTRIBUTE_FIELDS: readonly FieldSpec[] = [
  field('variable', 'boolean', 'required'),
  field('code', 'id', 'required'),
  field('datatype', 'enum', 'required', DATATYPES),
  field('required', 'boolean', 'required'),
  field('datatype_description', 'string', 'expected'),
  field('order', 'positive-integer', 'required'),
  field('description', 'string', 'required'),
  // Required (and not empty) for the two list datatypes: checked apart.
  field('values', 'list', 'optional'),
];

/** Each value of a singlevaluelist or multivaluelist attribute. */
export const VALUE_FIELDS: readonly FieldSpec[] = [field('key', 'id', 'required'), field('name', 'string', 'required')];

/** GET requests and GET requests/{id}: each service request. */
export const REQUEST_FIELDS: readonly FieldSpec[] = [
  field('service_request_id', 'id', 'required'),
  field('status', 'enum', 'required', STATUSES),
  field('status_notes', 'string', 'optional'),
  field('service_name', 'string', 'expected'),
  field('service_code', 'id', 'required'),
  field('description', 'string', 'expected'),
  field('agency_responsible', 'string', 'optional'),
  field('service_notice', 'string', 'optional'),
  field('requested_datetime', 'datetime', 'required'),
  field('updated_datetime', 'datetime', 'expected'),
  field('expected_datetime', 'datetime', 'optional'),
  field('address', 'string', 'expected'),
  field('address_id', 'id', 'optional'),
  field('zipcode', 'id', 'optional'),
  // Expected, may be null: a request filed by address alone has no point.
  field('lat', 'latitude', 'expected'),
  field('long', 'longitude', 'expected'),
  field('media_url', 'string', 'optional'),
];

/** POST requests: each item of the answer (service_request_id xor token is checked apart). */
export const POST_RESPONSE_FIELDS: readonly FieldSpec[] = [
  field('service_request_id', 'id', 'optional'),
  field('token', 'id', 'optional'),
  field('service_notice', 'string', 'optional'),
  field('account_id', 'id', 'optional'),
];

/** GET tokens/{token}: each item. */
export const TOKEN_FIELDS: readonly FieldSpec[] = [field('service_request_id', 'id', 'required'), field('token', 'id', 'required')];

/** Every error answer: a list of these. */
export const ERROR_FIELDS: readonly FieldSpec[] = [field('code', 'id', 'required'), field('description', 'string', 'required')];

/** discovery.{json,xml}: "All fields are required." */
export const DISCOVERY_FIELDS: readonly FieldSpec[] = [
  field('changeset', 'string', 'required'),
  field('contact', 'string', 'required'),
  field('key_service', 'string', 'required'),
  field('endpoints', 'list', 'required'),
];

/** Each endpoint of the discovery document (`formats` is a list of MIME types). */
export const ENDPOINT_FIELDS: readonly FieldSpec[] = [
  field('specification', 'string', 'required'),
  field('url', 'string', 'required'),
  field('changeset', 'string', 'required'),
  field('type', 'enum', 'required', ENDPOINT_TYPES),
  field('formats', 'list', 'required'),
];

/** The specification token a GeoReport v2 endpoint names in discovery. */
export const GEOREPORT_V2 = 'http://wiki.open311.org/GeoReport_v2';
