/**
 * A conformance suite for Open311 GeoReport v2 servers, as data: each check names the part of the
 * spec it reads, and runs against a probe of one endpoint to a pass, fail, warn or skip with a
 * message. There is no official suite; this one encodes wiki.open311.org/GeoReport_v2 (see
 * spec.ts) and is run by `npm run open311:check -- <base url>` (check.ts), by vitest against the
 * fake server (conformance.test.ts), and against CivicLine's own server with `runConformance`.
 *
 * Fail means the spec is broken; warn means something optional is missing or a should is not
 * followed (discovery, paging, the XML declaration); skip means the check had nothing to work on
 * (no POST allowed, no service with a definition, no batch service).
 */
import { createProbe, type Exchange, type Form, type Probe, type ProbeOptions } from './probe.js';
import {
  ATTRIBUTE_FIELDS,
  DEFAULT_LIMIT,
  DEFAULT_WINDOW_DAYS,
  DEFINITION_FIELDS,
  DISCOVERY_FIELDS,
  ENDPOINT_FIELDS,
  ERROR_FIELDS,
  FORMATS,
  GEOREPORT_V2,
  POST_RESPONSE_FIELDS,
  REQUEST_FIELDS,
  SERVICE_FIELDS,
  TOKEN_FIELDS,
  VALUE_FIELDS,
  XML_LIST_ITEMS,
  isW3cDatetime,
  type FieldSpec,
  type Open311Format,
} from './spec.js';

/** What a check concluded. */
export type Outcome = 'pass' | 'fail' | 'warn' | 'skip';

/** A check's conclusion and why. */
export interface Verdict {
  outcome: Outcome;
  message: string;
}

/** One check of the suite. */
export interface Check {
  /** Stable, for tests and for reading a table: `services.json`, `post.no-api-key`. */
  id: string;
  /** The spec section it reads (the heading on wiki.open311.org/GeoReport_v2). */
  section: string;
  /** What it checks, in one line. */
  title: string;
  /** Whether it files requests (POST): skipped when the run may not. */
  posts?: boolean;
  run(probe: Probe): Promise<Verdict>;
}

/** A check's result in a run. */
export interface CheckResult extends Verdict {
  id: string;
  section: string;
  title: string;
  ms: number;
}

/** How to run the suite against one endpoint. */
export interface ConformanceOptions extends ProbeOptions {
  /** Whether the suite may POST (it files a few requests and tries refused ones). Needs `apiKey`. */
  post: boolean;
  /** Only these check ids (default all). */
  only?: readonly string[];
}

/** Runs every check, one after the other (some read what earlier ones filed), and returns the results in order. */
export async function runConformance(options: ConformanceOptions): Promise<CheckResult[]> {
  const probe = createProbe(options);
  const results: CheckResult[] = [];
  for (const check of CHECKS) {
    if (options.only && !options.only.includes(check.id)) continue;
    const started = Date.now();
    let verdict: Verdict;
    if (check.posts && !options.post) verdict = skip('POST checks are off (--no-post)');
    else if (check.posts && !options.apiKey) verdict = skip('no api_key given (--api-key)');
    else {
      try {
        verdict = await check.run(probe);
      } catch (error) {
        // A check that throws found something its author did not foresee: that is a fail, with the reason.
        verdict = fail(`the check threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    results.push({ id: check.id, section: check.section, title: check.title, ...verdict, ms: Date.now() - started });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Verdicts and field checks

const pass = (message = ''): Verdict => ({ outcome: 'pass', message });
const fail = (message: string): Verdict => ({ outcome: 'fail', message });
const warn = (message: string): Verdict => ({ outcome: 'warn', message });
const skip = (message: string): Verdict => ({ outcome: 'skip', message });

/** Problems (fail) and warnings found while reading one answer. */
class Findings {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  problem(text: string): void {
    this.problems.push(text);
  }
  warning(text: string): void {
    this.warnings.push(text);
  }
  /** Fail with the first problems, else warn with the first warnings, else pass with `ok`. */
  verdict(ok: string): Verdict {
    if (this.problems.length > 0) return fail(summarize(this.problems));
    if (this.warnings.length > 0) return warn(summarize(this.warnings));
    return pass(ok);
  }
}

function summarize(lines: readonly string[]): string {
  const unique = [...new Set(lines)];
  return unique.slice(0, 3).join('; ') + (unique.length > 3 ? ` (and ${unique.length - 3} more)` : '');
}

type Doc = Record<string, unknown>;

function isDoc(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a value counts as absent: JSON null, an empty string, an empty XML element. */
function empty(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

/** XML carries every value as text; these read that text as the JSON type it stands for. */
const numeric = (value: unknown, format: Open311Format): number | undefined => {
  if (format === 'json') return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  return typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.trim()) ? Number(value) : undefined;
};

/** Whether a present, non-empty value has the field's type, or what is wrong with it. */
function typeProblem(spec: FieldSpec, value: unknown, format: Open311Format): string | undefined {
  const shown = JSON.stringify(value)?.slice(0, 40);
  switch (spec.kind) {
    case 'id':
      return typeof value === 'string' || (format === 'json' && typeof value === 'number') ? undefined : `${shown} is not an id (a string or a number)`;
    case 'string':
      return typeof value === 'string' ? undefined : `${shown} is not a string`;
    case 'boolean':
      return (format === 'json' ? typeof value === 'boolean' : value === 'true' || value === 'false') ? undefined : `${shown} is not a boolean (true or false)`;
    case 'positive-integer': {
      const n = numeric(value, format);
      return n !== undefined && Number.isInteger(n) && n > 0 ? undefined : `${shown} is not a positive integer`;
    }
    case 'number':
      return numeric(value, format) !== undefined ? undefined : `${shown} is not a number`;
    case 'latitude':
    case 'longitude': {
      const n = numeric(value, format);
      const limit = spec.kind === 'latitude' ? 90 : 180;
      return n !== undefined && Math.abs(n) <= limit ? undefined : `${shown} is not a ${spec.kind} (a number within ±${limit})`;
    }
    case 'datetime':
      return isW3cDatetime(value) ? undefined : `${shown} is not an ISO 8601 date-time with a time zone (e.g. 2010-01-01T00:00:00Z)`;
    case 'enum':
      return typeof value === 'string' && spec.values?.includes(value) ? undefined : `${shown} is not one of ${spec.values?.join(', ')}`;
    case 'list':
      return Array.isArray(value) ? undefined : `${shown} is not a list`;
  }
}

/** Checks one object's fields against their specs; `where` names it in messages (`service POTHOLE`). */
function checkFields(doc: unknown, fields: readonly FieldSpec[], format: Open311Format, where: string, findings: Findings): doc is Doc {
  if (!isDoc(doc)) {
    findings.problem(`${where} is not an object`);
    return false;
  }
  for (const spec of fields) {
    const value = doc[spec.name];
    if (value === undefined) {
      if (spec.presence === 'required') findings.problem(`${where} has no ${spec.name}`);
      if (spec.presence === 'expected') findings.warning(`${where} has no ${spec.name}`);
      continue;
    }
    if (empty(value)) {
      if (spec.presence === 'required') findings.problem(`${where}: ${spec.name} is empty`);
      continue;
    }
    const wrong = typeProblem(spec, value, format);
    if (wrong) findings.problem(`${where}: ${spec.name} ${wrong}`);
  }
  return true;
}

/** Checks status, content type and that the body parsed; false when there is nothing to read further. */
function checkAnswer(ex: Exchange, findings: Findings, expected: readonly number[] = [200]): boolean {
  if (ex.status === 0) {
    findings.problem(`${ex.method} ${ex.url}: ${ex.error ?? 'no answer'}`);
    return false;
  }
  if (!expected.includes(ex.status)) {
    findings.problem(
      `${ex.method} ${pathOf(ex)} answered ${ex.status}, not ${expected.join(' or ')}${ex.text ? ` (${ex.text.slice(0, 80).replace(/\s+/g, ' ')})` : ''}`,
    );
    return false;
  }
  checkContentType(ex, findings);
  if (ex.error) {
    findings.problem(`${pathOf(ex)}: ${ex.error}`);
    return false;
  }
  if (ex.format === 'xml') {
    if (ex.xmlDeclarationMissing) findings.warning(`${pathOf(ex)}: no <?xml ... encoding="UTF-8"?> declaration`);
    for (const problem of ex.xmlNameProblems) findings.problem(`${pathOf(ex)}: ${problem}`);
  }
  return true;
}

function checkContentType(ex: Exchange, findings: Findings): void {
  const wanted = ex.format === 'json' ? /^application\/json/i : /^(text|application)\/xml/i;
  if (!wanted.test(ex.contentType))
    findings.problem(`${pathOf(ex)}: content-type is "${ex.contentType}", not ${ex.format === 'json' ? 'application/json' : 'text/xml'}`);
}

/** Checks that an XML answer's root element is `root`. */
function checkRoot(ex: Exchange, root: string, findings: Findings): boolean {
  if (ex.format === 'xml' && ex.xmlRoot !== root) {
    findings.problem(`${pathOf(ex)}: the root element is <${ex.xmlRoot}>, not <${root}>`);
    return false;
  }
  return true;
}

/** Reads a list answer (`services`, `service_requests`...): its items, or undefined after a problem. */
function readList(ex: Exchange, root: keyof typeof XML_LIST_ITEMS, findings: Findings, statuses: readonly number[] = [200]): unknown[] | undefined {
  if (!checkAnswer(ex, findings, statuses) || !checkRoot(ex, root, findings)) return undefined;
  if (!Array.isArray(ex.data)) {
    findings.problem(`${pathOf(ex)}: the answer is not a list${ex.format === 'json' ? ' (a JSON array)' : ''}`);
    return undefined;
  }
  return ex.data;
}

/**
 * Checks an error answer: the status the spec wants (400, 403 or 404) and a body that is a list of
 * {code, description} (`<errors><error><code/><description/></error></errors>` in XML).
 */
function checkError(ex: Exchange, status: 400 | 403 | 404, findings: Findings): void {
  if (ex.status === 0) return findings.problem(`${ex.method} ${ex.url}: ${ex.error ?? 'no answer'}`);
  if (ex.status !== status) findings.problem(`${ex.method} ${pathOf(ex)} answered ${ex.status}, not ${status}`);
  if (ex.status < 400) return;
  checkContentType(ex, findings);
  if (ex.error) return findings.problem(`the error body: ${ex.error}`);
  if (!checkRoot(ex, 'errors', findings)) return;
  for (const problem of ex.xmlNameProblems) findings.problem(`the error body: ${problem}`);
  if (!Array.isArray(ex.data) || ex.data.length === 0) return findings.problem(`the error body is not a list of {code, description}: ${ex.text.slice(0, 80)}`);
  ex.data.forEach((item, i) => checkFields(item, ERROR_FIELDS, ex.format, `error ${i + 1}`, findings));
}

function pathOf(ex: Exchange): string {
  const url = new URL(ex.url);
  return (
    url.pathname
      .split('/')
      .slice(-2)
      .join('/')
      .replace(/^v\d+\//, '') + url.search
  );
}

// ---------------------------------------------------------------------------------------------
// What several checks share

interface ServiceInfo {
  code: string;
  type: string;
  metadata: boolean;
}

/** The services as the JSON list gives them (or the XML one, when JSON is broken), for checks that need a code. */
async function services(probe: Probe): Promise<ServiceInfo[]> {
  for (const format of FORMATS) {
    const ex = await probe.cached('services', format);
    if (ex.status === 200 && Array.isArray(ex.data)) {
      // Read leniently: a service whose metadata is "yes" still has a definition to check, and the
      // services check already fails the wrong type; the checks that build on it should not fail too.
      return ex.data.filter(isDoc).map((s) => ({
        code: String(s['service_code']),
        type: String(s['type']),
        metadata: !empty(s['metadata']) && s['metadata'] !== false && s['metadata'] !== 'false',
      }));
    }
  }
  return [];
}

interface AttributeInfo {
  code: string;
  datatype: string;
  required: boolean;
  variable: boolean;
  keys: string[];
}

/** A service's attributes, from its JSON definition (empty when it has none or it is broken). */
async function attributesOf(probe: Probe, code: string): Promise<AttributeInfo[]> {
  const ex = await probe.cached(`services/${encodeURIComponent(code)}`, 'json');
  if (ex.status !== 200 || !isDoc(ex.data) || !Array.isArray(ex.data['attributes'])) return [];
  return ex.data['attributes'].filter(isDoc).map((a) => ({
    code: String(a['code']),
    datatype: String(a['datatype']),
    required: a['required'] === true || a['required'] === 'true',
    variable: a['variable'] !== false && a['variable'] !== 'false',
    keys: Array.isArray(a['values']) ? a['values'].filter(isDoc).map((v) => String(v['key'])) : [],
  }));
}

/** A form value for an attribute that the server should take. */
function attributeValue(attribute: AttributeInfo): string {
  // An attribute with values takes one of them, whatever its datatype says (or fails to say).
  if (attribute.keys[0] !== undefined) return attribute.keys[0];
  switch (attribute.datatype) {
    case 'number':
      return '1';
    case 'datetime':
      return new Date().toISOString();
    default:
      return 'conformance check';
  }
}

/** The attribute fields of a form, every required one filled (a multivaluelist as `attribute[code][]`). */
function attributeFields(attributes: readonly AttributeInfo[], leaveOut?: string): Form {
  return attributes
    .filter((a) => a.variable && a.required && a.code !== leaveOut)
    .map((a): [string, string] => [a.datatype === 'multivaluelist' ? `attribute[${a.code}][]` : `attribute[${a.code}]`, attributeValue(a)]);
}

/** The point the suite files its requests at (inside the fake's and most cities' bounds: any point is valid WGS84). */
const POINT = { lat: '40.7128', long: '-74.006' };

/** A service to file test requests to: realtime first (its id comes back at once), one with a definition first. */
async function postTarget(probe: Probe, type = 'realtime'): Promise<ServiceInfo | undefined> {
  const all = await services(probe);
  const ofType = all.filter((s) => s.type === type);
  return ofType.find((s) => s.metadata) ?? ofType[0] ?? (type === 'realtime' ? all[0] : undefined);
}

/** A valid POST to a service, with a description that tells the suite's requests apart. */
async function validForm(probe: Probe, service: ServiceInfo, format: Open311Format): Promise<Form> {
  const attributes = service.metadata ? await attributesOf(probe, service.code) : [];
  return [
    ['service_code', service.code],
    ['lat', POINT.lat],
    ['long', POINT.long],
    ['address_string', '1 Conformance Way'],
    ['description', `Open311 conformance check (${format}) ${new Date().toISOString()}`],
    ['email', 'conformance@example.org'],
    ['first_name', 'Conformance'],
    ['last_name', 'Check'],
    ...attributeFields(attributes),
  ];
}

interface Filed {
  ex: Exchange;
  form: Form;
  service: ServiceInfo;
  id?: string;
  token?: string;
}

/** Files one request in a format, once per run: post.{format} checks it, other checks reuse its id. */
function filed(probe: Probe, format: Open311Format): Promise<Filed | undefined> {
  return probe.memo(`filed ${format}`, async () => {
    const service = await postTarget(probe);
    if (!service) return undefined;
    const form = await validForm(probe, service, format);
    const ex = await probe.post(format, form);
    const first: unknown = Array.isArray(ex.data) ? ex.data[0] : undefined;
    const id = isDoc(first) && !empty(first['service_request_id']) ? String(first['service_request_id']) : undefined;
    const token = isDoc(first) && !empty(first['token']) ? String(first['token']) : undefined;
    return { ex, form, service, ...(id ? { id } : {}), ...(token ? { token } : {}) };
  });
}

/** The requests GET requests.json lists without arguments (the suite's own filing first, when it may POST). */
async function listed(probe: Probe): Promise<Doc[]> {
  const ex = await probe.cached('requests', 'json');
  return ex.status === 200 && Array.isArray(ex.data) ? ex.data.filter(isDoc) : [];
}

/** An id of a request that exists: the suite's own when it filed one, else the newest listed. */
async function knownRequest(probe: Probe): Promise<{ id: string; status?: string } | undefined> {
  // Only what post.json already filed: reading requests must not file one itself (--no-post).
  const filedJson = await probe.memo<Filed | undefined>('filed json', () => Promise.resolve(undefined));
  if (filedJson?.id) return { id: filedJson.id, status: 'open' };
  const first = (await listed(probe))[0];
  return first && !empty(first['service_request_id']) ? { id: String(first['service_request_id']), status: String(first['status']) } : undefined;
}

/** Compares a JSON document with its XML twin as text: XML has no types, so `true` = "true", 1.5 = "1.5", null = "". */
function sameContent(json: unknown, xml: unknown, where: string, findings: Findings): void {
  if (Array.isArray(json) || Array.isArray(xml)) {
    if (!Array.isArray(json) || !Array.isArray(xml)) return findings.problem(`${where}: a list in one format, not in the other`);
    if (json.length !== xml.length) return findings.problem(`${where}: ${json.length} items in JSON, ${xml.length} in XML`);
    json.forEach((item, i) => sameContent(item, xml[i], `${where}[${i}]`, findings));
    return;
  }
  if (isDoc(json) || isDoc(xml)) {
    if (!isDoc(json) || !isDoc(xml)) return findings.problem(`${where}: an object in one format, not in the other`);
    for (const key of new Set([...Object.keys(json), ...Object.keys(xml)])) sameContent(json[key], xml[key], `${where}.${key}`, findings);
    return;
  }
  const text = (value: unknown): string => (empty(value) ? '' : String(value));
  const same = text(json) === text(xml) || (typeof json === 'number' && Number(xml) === json);
  if (!same) findings.problem(`${where}: ${JSON.stringify(json)} in JSON, ${JSON.stringify(xml)} in XML`);
}

function requestIds(items: readonly unknown[]): string[] {
  return items.filter(isDoc).map((r) => String(r['service_request_id']));
}

const DAY_MS = 86_400_000;
/** Clock slack between the suite and the server, for windows and "filed just now". */
const SKEW_MS = 10 * 60_000;

// ---------------------------------------------------------------------------------------------
// The checks

/** One check per format from a template. */
function perFormat(make: (format: Open311Format) => Check): Check[] {
  return FORMATS.map(make);
}

const discoveryChecks = perFormat((format) => ({
  id: `discovery.${format}`,
  section: 'Service Discovery',
  title: `discovery.${format}: changeset, contact, key_service, endpoints (optional here: warn when absent)`,
  async run(probe) {
    const ex = await probe.get('discovery', format);
    // The spec lets discovery live at the jurisdiction's own URL, away from the endpoint: absent here is no failure.
    if (ex.status === 404) return warn('not served at the endpoint (discovery may live elsewhere)');
    const findings = new Findings();
    if (!checkAnswer(ex, findings) || !checkRoot(ex, 'discovery', findings)) return findings.verdict('');
    if (!checkFields(ex.data, DISCOVERY_FIELDS, format, 'discovery', findings)) return findings.verdict('');
    const endpoints = (ex.data as Doc)['endpoints'];
    const list = Array.isArray(endpoints) ? endpoints : [];
    list.forEach((endpoint, i) => {
      if (!checkFields(endpoint, ENDPOINT_FIELDS, format, `endpoint ${i + 1}`, findings)) return;
      const formats = (endpoint as Doc)['formats'];
      if (Array.isArray(formats) && formats.some((f) => typeof f !== 'string')) findings.problem(`endpoint ${i + 1}: formats are not MIME types`);
    });
    if (!list.some((endpoint) => isDoc(endpoint) && endpoint['specification'] === GEOREPORT_V2)) findings.warning(`no endpoint names ${GEOREPORT_V2}`);
    return findings.verdict(`${list.length} endpoint(s)`);
  },
}));

const serviceListChecks = perFormat((format) => ({
  id: `services.${format}`,
  section: 'GET Service List',
  title: `services.${format}: a list of services with their fields and types`,
  async run(probe) {
    const findings = new Findings();
    const items = readList(await probe.cached('services', format), 'services', findings);
    if (!items) return findings.verdict('');
    if (items.length === 0) findings.warning('no services: most checks below have nothing to work on');
    items.forEach((service, i) =>
      checkFields(service, SERVICE_FIELDS, format, `service ${isDoc(service) ? String(service['service_code'] ?? i + 1) : i + 1}`, findings),
    );
    const codes = items.filter(isDoc).map((s) => String(s['service_code']));
    if (new Set(codes).size !== codes.length) findings.problem('service_code is not unique');
    return findings.verdict(`${items.length} services`);
  },
}));

const serviceListSame: Check = {
  id: 'services.xml-matches-json',
  section: 'Format Support',
  title: 'services.xml says what services.json says',
  async run(probe) {
    const [json, xml] = [await probe.cached('services', 'json'), await probe.cached('services', 'xml')];
    if (json.status !== 200 || xml.status !== 200 || json.data === undefined || xml.data === undefined) return skip('needs both formats to answer');
    const findings = new Findings();
    sameContent(json.data, xml.data, 'services', findings);
    return findings.verdict('same content');
  },
};

const definitionChecks = perFormat((format) => ({
  id: `definition.${format}`,
  section: 'GET Service Definition',
  title: `services/{code}.${format} for every service with metadata=true: attributes, datatypes, order, values`,
  async run(probe) {
    const withMetadata = (await services(probe)).filter((s) => s.metadata).slice(0, 10);
    if (withMetadata.length === 0) return skip('no service has metadata=true');
    const findings = new Findings();
    for (const service of withMetadata) {
      const ex = await probe.cached(`services/${encodeURIComponent(service.code)}`, format);
      if (!checkAnswer(ex, findings) || !checkRoot(ex, 'service_definition', findings)) continue;
      const where = `definition ${service.code}`;
      if (!checkFields(ex.data, DEFINITION_FIELDS, format, where, findings)) continue;
      const doc = ex.data as Doc;
      if (!empty(doc['service_code']) && String(doc['service_code']) !== service.code)
        findings.problem(`${where}: service_code is ${String(doc['service_code'])}`);
      const attributes = Array.isArray(doc['attributes']) ? doc['attributes'] : [];
      const orders: number[] = [];
      attributes.forEach((attribute, i) => {
        const at = `${where} attribute ${isDoc(attribute) ? String(attribute['code'] ?? i + 1) : i + 1}`;
        if (!checkFields(attribute, ATTRIBUTE_FIELDS, format, at, findings)) return;
        const a = attribute as Doc;
        const order = numeric(a['order'], format);
        if (order !== undefined) orders.push(order);
        if (a['datatype'] === 'singlevaluelist' || a['datatype'] === 'multivaluelist') {
          const values = a['values'];
          if (!Array.isArray(values) || values.length === 0) findings.problem(`${at}: a ${String(a['datatype'])} with no values`);
          else values.forEach((value, j) => checkFields(value, VALUE_FIELDS, format, `${at} value ${j + 1}`, findings));
        }
      });
      // "Any positive integer not used for other attributes in the same service_code."
      if (new Set(orders).size !== orders.length) findings.problem(`${where}: two attributes share an order`);
    }
    return findings.verdict(`${withMetadata.length} definition(s)`);
  },
}));

const definitionSame: Check = {
  id: 'definition.xml-matches-json',
  section: 'Format Support',
  title: 'services/{code}.xml says what services/{code}.json says',
  async run(probe) {
    const service = (await services(probe)).find((s) => s.metadata);
    if (!service) return skip('no service has metadata=true');
    const path = `services/${encodeURIComponent(service.code)}`;
    const [json, xml] = [await probe.cached(path, 'json'), await probe.cached(path, 'xml')];
    if (json.status !== 200 || xml.status !== 200 || json.data === undefined || xml.data === undefined) return skip('needs both formats to answer');
    const findings = new Findings();
    sameContent(json.data, xml.data, `definition ${service.code}`, findings);
    return findings.verdict('same content');
  },
};

const unknownServiceChecks = perFormat((format) => ({
  id: `definition.unknown.${format}`,
  section: 'Errors',
  title: `services/{unknown code}.${format}: 404 with a list of {code, description}`,
  async run(probe) {
    const findings = new Findings();
    checkError(await probe.get('services/no-such-service-conformance', format), 404, findings);
    return findings.verdict('404');
  },
}));

const requestListChecks = perFormat((format) => ({
  id: `requests.${format}`,
  section: 'GET Service Requests',
  title: `requests.${format}: a list of requests with their fields and types`,
  async run(probe) {
    const findings = new Findings();
    const items = readList(await probe.cached('requests', format), 'service_requests', findings);
    if (!items) return findings.verdict('');
    items.forEach((request, i) =>
      checkFields(request, REQUEST_FIELDS, format, `request ${isDoc(request) ? String(request['service_request_id'] ?? i + 1) : i + 1}`, findings),
    );
    const ids = requestIds(items);
    if (new Set(ids).size !== ids.length) findings.problem('service_request_id is not unique in the list');
    return findings.verdict(`${items.length} requests`);
  },
}));

const defaultWindow: Check = {
  id: 'requests.default-window',
  section: 'GET Service Requests',
  title: `requests without dates covers the last ${DEFAULT_WINDOW_DAYS} days only`,
  async run(probe) {
    const ex = await probe.cached('requests', 'json');
    // An error answer is a list too (of errors): only a 200 lists requests.
    if (ex.status !== 200 || !Array.isArray(ex.data)) return skip('requests.json gave no list (see requests.json)');
    const oldest = Date.now() - DEFAULT_WINDOW_DAYS * DAY_MS - SKEW_MS;
    const old = ex.data.filter(isDoc).filter((r) => isW3cDatetime(r['requested_datetime']) && Date.parse(String(r['requested_datetime'])) < oldest);
    if (old.length > 0)
      return fail(
        `${old.length} request(s) older than ${DEFAULT_WINDOW_DAYS} days, e.g. ${String(old[0]!['service_request_id'])} of ${String(old[0]!['requested_datetime'])}`,
      );
    return pass(`${ex.data.length} requests, all within ${DEFAULT_WINDOW_DAYS} days`);
  },
};

const defaultLimit: Check = {
  id: 'requests.default-limit',
  section: 'GET Service Requests',
  title: `requests answers at most ${DEFAULT_LIMIT} requests`,
  async run(probe) {
    const ex = await probe.cached('requests', 'json');
    // An error answer is a list too (of errors): only a 200 lists requests.
    if (ex.status !== 200 || !Array.isArray(ex.data)) return skip('requests.json gave no list (see requests.json)');
    if (ex.data.length > DEFAULT_LIMIT) return fail(`${ex.data.length} requests in one answer`);
    // Below the limit the limit is not exercised: say so rather than claim it holds.
    return pass(
      ex.data.length === DEFAULT_LIMIT ? `${DEFAULT_LIMIT}: the limit holds` : `${ex.data.length} requests (fewer than ${DEFAULT_LIMIT}: not exercised)`,
    );
  },
};

const statusFilter: Check = {
  id: 'requests.filter.status',
  section: 'GET Service Requests',
  title: 'status=open and status=closed answer only requests of that status',
  async run(probe) {
    const findings = new Findings();
    let seen = 0;
    for (const status of ['open', 'closed']) {
      const items = readList(await probe.get('requests', 'json', { status }), 'service_requests', findings);
      if (!items) continue;
      seen += items.length;
      // Requests without a status are the field checks' to fail; this one judges the filter only.
      const others = items.filter(isDoc).filter((r) => !empty(r['status']) && r['status'] !== status);
      if (others.length > 0)
        findings.problem(
          `status=${status} answered ${others.length} request(s) of another status (e.g. ${String(others[0]!['service_request_id'])}: ${String(others[0]!['status'])})`,
        );
    }
    if (seen === 0 && findings.problems.length === 0) return skip('no requests to filter');
    return findings.verdict(`${seen} requests, each of the status asked`);
  },
};

const serviceCodeFilter: Check = {
  id: 'requests.filter.service_code',
  section: 'GET Service Requests',
  title: 'service_code=X answers only requests of X',
  async run(probe) {
    const code = (await listed(probe))[0]?.['service_code'] ?? (await services(probe))[0]?.code;
    if (empty(code)) return skip('no request or service to filter by');
    const findings = new Findings();
    const items = readList(await probe.get('requests', 'json', { service_code: String(code) }), 'service_requests', findings);
    if (!items) return findings.verdict('');
    const others = items.filter(isDoc).filter((r) => String(r['service_code']) !== String(code));
    if (others.length > 0)
      findings.problem(`service_code=${String(code)} answered ${others.length} request(s) of other services (e.g. ${String(others[0]!['service_code'])})`);
    if (items.length === 0) findings.problem(`service_code=${String(code)} answered nothing, though requests.json lists one of it`);
    return findings.verdict(`${items.length} requests of ${String(code)}`);
  },
};

const dateFilter: Check = {
  id: 'requests.filter.dates',
  section: 'GET Service Requests',
  title: 'start_date/end_date bound requested_datetime; a start in the future answers nothing',
  async run(probe) {
    const findings = new Findings();
    const end = new Date(Date.now() - 10 * DAY_MS);
    const start = new Date(end.getTime() - 30 * DAY_MS);
    const range = { start_date: iso(start), end_date: iso(end) };
    const items = readList(await probe.get('requests', 'json', range), 'service_requests', findings);
    if (items) {
      const outside = items.filter(isDoc).filter((r) => {
        if (!isW3cDatetime(r['requested_datetime'])) return false;
        const at = Date.parse(String(r['requested_datetime']));
        return !(at >= start.getTime() - 1000 && at <= end.getTime() + 1000);
      });
      if (outside.length > 0)
        findings.problem(
          `${range.start_date}..${range.end_date} answered ${outside.length} request(s) outside it (e.g. ${String(outside[0]!['requested_datetime'])})`,
        );
    }
    const future = readList(await probe.get('requests', 'json', { start_date: iso(new Date(Date.now() + DAY_MS)) }), 'service_requests', findings);
    if (future && future.length > 0) findings.problem(`a start_date tomorrow answered ${future.length} request(s)`);
    return findings.verdict(`${items?.length ?? 0} requests in a 30-day range, none from tomorrow`);
  },
};

const idFilter: Check = {
  id: 'requests.filter.service_request_id',
  section: 'GET Service Requests',
  title: 'service_request_id=A,B answers exactly those, and overrides the other arguments',
  async run(probe) {
    const known = await knownRequest(probe);
    if (!known) return skip('no request to ask for');
    const others = requestIds(await listed(probe)).filter((id) => id !== known.id);
    const second = others[0];
    const wanted = second ? [known.id, second] : [known.id];
    const findings = new Findings();
    const items = readList(
      await probe.get('requests', 'json', { service_request_id: [...wanted, 'no-such-request-conformance'].join(',') }),
      'service_requests',
      findings,
    );
    if (items) {
      const got = requestIds(items).sort();
      if (JSON.stringify(got) !== JSON.stringify([...wanted].sort()))
        findings.problem(
          `service_request_id=${wanted.join(',')},no-such-request answered ${got.length > 8 ? `${got.length} requests` : `[${got.join(', ')}]`}`,
        );
    }
    // "This overrides all other arguments": a status and a service_code that exclude it must not matter.
    const contrary = { service_request_id: known.id, status: known.status === 'closed' ? 'open' : 'closed', service_code: 'no-such-service-conformance' };
    const overridden = readList(await probe.get('requests', 'json', contrary), 'service_requests', findings);
    if (overridden && !requestIds(overridden).includes(known.id))
      findings.problem(`service_request_id=${known.id} with status=${contrary.status} did not answer it (the id should override the other arguments)`);
    return findings.verdict(`asked for ${wanted.join(',')}`);
  },
};

const badDate: Check = {
  id: 'requests.bad-date',
  section: 'Errors',
  title: 'start_date that is not a date-time: 400 with a list of {code, description}',
  async run(probe) {
    const findings = new Findings();
    checkError(await probe.get('requests', 'json', { start_date: 'last tuesday' }), 400, findings);
    return findings.verdict('400');
  },
};

const paging: Check = {
  id: 'requests.paging',
  section: 'Extensions: Pagination',
  title: 'page/page_size (a common extension, not GeoReport v2: warn when ignored)',
  async run(probe) {
    const findings = new Findings();
    const first = readList(await probe.get('requests', 'json', { page: '1', page_size: '1' }), 'service_requests', findings);
    if (!first) return warn(`page/page_size made the server fail: ${summarize(findings.problems)}`);
    if (first.length > 1) return warn(`page_size=1 answered ${first.length} requests: paging not supported (optional)`);
    if (first.length === 0) return skip('no requests to page through');
    const second = readList(await probe.get('requests', 'json', { page: '2', page_size: '1' }), 'service_requests', findings);
    if (!second) return findings.verdict('');
    if (second.length === 1 && requestIds(second)[0] === requestIds(first)[0]) return fail('page=2 answered the same request as page=1');
    return pass('page_size=1 pages one at a time');
  },
};

const requestChecks = perFormat((format) => ({
  id: `request.${format}`,
  section: 'GET Service Request',
  title: `requests/{id}.${format}: a list of exactly that one request`,
  async run(probe) {
    const known = await knownRequest(probe);
    if (!known) return skip('no request to ask for');
    const findings = new Findings();
    const items = readList(await probe.cached(`requests/${encodeURIComponent(known.id)}`, format), 'service_requests', findings);
    if (!items) return findings.verdict('');
    if (items.length !== 1) findings.problem(`${items.length} items, not 1`);
    items.forEach((request) => checkFields(request, REQUEST_FIELDS, format, `request ${known.id}`, findings));
    if (items.length > 0 && requestIds(items)[0] !== known.id) findings.problem(`asked for ${known.id}, answered ${requestIds(items)[0]}`);
    return findings.verdict(`request ${known.id}`);
  },
}));

const requestSame: Check = {
  id: 'request.xml-matches-json',
  section: 'Format Support',
  title: 'requests/{id}.xml says what requests/{id}.json says',
  async run(probe) {
    const known = await knownRequest(probe);
    if (!known) return skip('no request to ask for');
    const path = `requests/${encodeURIComponent(known.id)}`;
    const [json, xml] = [await probe.cached(path, 'json'), await probe.cached(path, 'xml')];
    if (json.status !== 200 || xml.status !== 200 || json.data === undefined || xml.data === undefined) return skip('needs both formats to answer');
    const findings = new Findings();
    sameContent(json.data, xml.data, `request ${known.id}`, findings);
    return findings.verdict('same content');
  },
};

const unknownRequestChecks = perFormat((format) => ({
  id: `request.unknown.${format}`,
  section: 'Errors',
  title: `requests/{unknown id}.${format}: 404 with a list of {code, description}`,
  async run(probe) {
    const findings = new Findings();
    checkError(await probe.get('requests/no-such-request-conformance', format), 404, findings);
    return findings.verdict('404');
  },
}));

const postChecks = perFormat((format) => ({
  id: `post.${format}`,
  section: 'POST Service Request',
  title: `requests.${format} (POST): files a request; its id or token comes back; it reads back as filed`,
  posts: true,
  async run(probe) {
    const mine = await filed(probe, format);
    if (!mine) return skip('no service to file a request to');
    const findings = new Findings();
    // The spec names no success status for POST: 200 is usual, 201 Created is as right.
    const items = readList(mine.ex, 'service_requests', findings, [200, 201]);
    if (!items) return findings.verdict('');
    if (items.length === 0) return fail('the answer is an empty list');
    items.forEach((item, i) => {
      if (!checkFields(item, POST_RESPONSE_FIELDS, format, `answer ${i + 1}`, findings)) return;
      const hasId = !empty((item as Doc)['service_request_id']);
      const hasToken = !empty((item as Doc)['token']);
      // "This should not be returned if token is returned" (and the other way round); blackbox returns neither.
      if (hasId && hasToken) findings.problem(`answer ${i + 1} has both a service_request_id and a token`);
      if (!hasId && !hasToken && mine.service.type !== 'blackbox')
        findings.problem(`answer ${i + 1} has neither a service_request_id nor a token (service type ${mine.service.type})`);
    });
    if (!mine.id) return findings.verdict(mine.token ? `token ${mine.token}` : 'filed');
    const back = readList(await probe.get(`requests/${encodeURIComponent(mine.id)}`, 'json'), 'service_requests', findings);
    const request = back?.find(isDoc);
    if (back && !request) findings.problem(`requests/${mine.id}.json does not list the request just filed`);
    if (request) {
      const sent = Object.fromEntries(mine.form);
      if (String(request['service_code']) !== sent['service_code'])
        findings.problem(`read back with service_code ${String(request['service_code'])}, filed as ${sent['service_code']}`);
      if (!empty(request['status']) && request['status'] !== 'open') findings.warning(`a request just filed reads back as ${String(request['status'])}`);
      if (request['description'] !== sent['description'])
        findings.warning(`the description reads back as ${JSON.stringify(request['description'])?.slice(0, 60)}`);
      const lat = Number(request['lat']);
      const long = Number(request['long']);
      if (!empty(request['lat']) && (Math.abs(lat - Number(POINT.lat)) > 1e-4 || Math.abs(long - Number(POINT.long)) > 1e-4))
        findings.warning(`filed at ${POINT.lat},${POINT.long}, reads back at ${lat},${long}`);
      const at = Date.parse(String(request['requested_datetime']));
      if (Number.isFinite(at) && Math.abs(at - Date.now()) > SKEW_MS)
        findings.warning(`requested_datetime ${String(request['requested_datetime'])} is not about now`);
    }
    return findings.verdict(`service_request_id ${mine.id}`);
  },
}));

/** A POST check that must be refused with `status`: `form` builds what to send, null when there is nothing to try. */
function refusedPost(
  id: string,
  title: string,
  format: Open311Format,
  status: 400 | 403 | 404,
  form: (probe: Probe) => Promise<{ form: Form; apiKey?: string | null } | null>,
  severity: 'fail' | 'warn' = 'fail',
): Check {
  return {
    id,
    section: status === 403 ? 'Errors' : 'POST Service Request',
    title,
    posts: true,
    async run(probe) {
      const sending = await form(probe);
      if (!sending) return skip('nothing to try it with');
      const findings = new Findings();
      checkError(await probe.post(format, sending.form, sending.apiKey), status, findings);
      const verdict = findings.verdict(String(status));
      return verdict.outcome === 'fail' && severity === 'warn' ? warn(verdict.message) : verdict;
    },
  };
}

/** A valid form to the suite's target service, changed by `edit`. */
const editedForm =
  (edit: (form: Form, service: ServiceInfo) => Form | null, apiKey?: string | null) =>
  async (probe: Probe): Promise<{ form: Form; apiKey?: string | null } | null> => {
    const service = await postTarget(probe);
    if (!service) return null;
    const form = edit(await validForm(probe, service, 'json'), service);
    return form ? { form, ...(apiKey !== undefined ? { apiKey } : {}) } : null;
  };

const without = (form: Form, ...names: string[]): Form => form.filter(([name]) => !names.includes(name));

const refusedPosts: Check[] = [
  refusedPost(
    'post.no-api-key',
    'POST without api_key: 403 with a list of {code, description}',
    'json',
    403,
    editedForm((form) => form, null),
  ),
  refusedPost(
    'post.bad-api-key',
    'POST with a wrong api_key (XML): 403 with <errors><error>',
    'xml',
    403,
    editedForm((form) => form, 'not-the-key-conformance'),
  ),
  refusedPost(
    'post.no-service-code',
    'POST without service_code: 400',
    'json',
    400,
    editedForm((form) => without(form, 'service_code')),
  ),
  refusedPost(
    'post.unknown-service-code',
    'POST to an unknown service_code: 404',
    'json',
    404,
    editedForm((form) => [...without(form, 'service_code'), ['service_code', 'no-such-service-conformance']]),
  ),
  refusedPost(
    'post.no-location',
    'POST with no lat/long, address_string or address_id: 400',
    'json',
    400,
    editedForm((form) => without(form, 'lat', 'long', 'address_string', 'address_id')),
  ),
  refusedPost(
    'post.bad-latitude',
    'POST with lat=123 (not WGS84) and no address: 400 (warn: the spec does not say it outright)',
    'json',
    400,
    editedForm((form) => [...without(form, 'lat', 'address_string'), ['lat', '123']]),
    'warn',
  ),
  refusedPost('post.missing-required-attribute', 'POST without a required attribute[code]: 400', 'json', 400, async (probe) => {
    for (const service of (await services(probe)).filter((s) => s.metadata)) {
      const required = (await attributesOf(probe, service.code)).find((a) => a.variable && a.required);
      if (!required) continue;
      const form = await validForm(probe, service, 'json');
      return { form: form.filter(([name]) => !name.startsWith(`attribute[${required.code}]`)) };
    }
    return null;
  }),
];

const tokenChecks = perFormat((format) => ({
  id: `tokens.${format}`,
  section: 'GET service_request_id from a token',
  title: `tokens/{token}.${format} after a POST to a batch service: [{service_request_id, token}]`,
  posts: true,
  async run(probe) {
    const service = await postTarget(probe, 'batch');
    if (!service) return skip('no batch service');
    const answer = await probe.memo(`batch post`, async () => probe.post('json', await validForm(probe, service, 'json')));
    const findings = new Findings();
    const items = readList(answer, 'service_requests', findings);
    if (!items) return findings.verdict('');
    const first = items.find(isDoc);
    const token = first && !empty(first['token']) ? String(first['token']) : undefined;
    if (!token)
      return first && !empty(first['service_request_id'])
        ? warn(`the batch service ${service.code} answered an id, not a token`)
        : fail(`a POST to batch service ${service.code} answered no token`);
    const got = readList(await probe.get(`tokens/${encodeURIComponent(token)}`, format), 'service_requests', findings);
    if (!got) return findings.verdict('');
    if (got.length === 0) return warn(`token ${token} does not resolve yet`);
    got.forEach((item) => checkFields(item, TOKEN_FIELDS, format, `token ${token}`, findings));
    if (isDoc(got[0]) && String(got[0]['token']) !== token) findings.problem(`asked for token ${token}, answered ${String(got[0]['token'])}`);
    return findings.verdict(`token ${token} → ${isDoc(got[0]) ? String(got[0]['service_request_id']) : '?'}`);
  },
}));

const unknownToken: Check = {
  id: 'tokens.unknown',
  section: 'Errors',
  title: 'tokens/{unknown}.json: 404 (warn: servers without batch services may not serve tokens)',
  async run(probe) {
    const findings = new Findings();
    checkError(await probe.get('tokens/no-such-token-conformance', 'json'), 404, findings);
    const verdict = findings.verdict('404');
    return verdict.outcome === 'fail' ? warn(verdict.message) : verdict;
  },
};

/**
 * The suite, in the order it runs: discovery, services and definitions first (later checks read
 * them), then the POSTs (so the filed request is there to find), then reading requests back,
 * filters and errors.
 */
export const CHECKS: readonly Check[] = [
  ...discoveryChecks,
  ...serviceListChecks,
  serviceListSame,
  ...definitionChecks,
  definitionSame,
  ...unknownServiceChecks,
  ...postChecks,
  ...refusedPosts,
  ...tokenChecks,
  unknownToken,
  ...requestListChecks,
  defaultWindow,
  defaultLimit,
  statusFilter,
  serviceCodeFilter,
  dateFilter,
  idFilter,
  badDate,
  paging,
  ...requestChecks,
  requestSame,
  ...unknownRequestChecks,
];

function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
