/**
 * Configuration: the only reader of `process.env`. Every key is validated at start; a bad one
 * stops the service with one clear line per key. A `.env` file in the working directory is read
 * first when present (it is git-ignored; `.env.example` documents every key).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const optionalText = z.string().trim().min(1).optional();

/**
 * A slippy-map tile URL template (`https://tile.openstreetmap.org/{z}/{x}/{y}.png`): http(s),
 * with `{z}`, `{x}` and `{y}`, no credentials, and `{s}` (Leaflet's subdomains) only as the first
 * label of the host, so the staff pages' CSP can name the tile host exactly (or `*.host` for `{s}`).
 */
const tilesUrl = z
  .string()
  .trim()
  .max(500)
  .refine((value) => tileOrigin(value) !== null, 'must be an http(s) tile URL with {z}, {x} and {y}, like https://tile.openstreetmap.org/{z}/{x}/{y}.png');

/** `minLon,minLat,maxLon,maxLat`, each in range and min below max (Nominatim's viewbox order). */
const viewbox = z
  .string()
  .trim()
  .refine((value) => viewboxOf(value) !== null, 'must be minLon,minLat,maxLon,maxLat in degrees, like -89.75,39.70,-89.55,39.88');
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  DEFAULT_LOCALE: z
    .string()
    .regex(/^[a-z]{2}$/, 'must be a two-letter language code such as en')
    .default('en'),
  CITY_NAME: z.string().trim().min(1).max(60).default('Our City'),
  CITY_TIMEZONE: z
    .string()
    .default('America/New_York')
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as America/Chicago'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ADDRESS_HASH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  FLOW_RESUME_PROMPT_AFTER_MINUTES: z.coerce.number().positive().default(60),
  FLOW_EXPIRE_AFTER_HOURS: z.coerce.number().positive().default(24),
  SEED_DEMO_DATA: flag.optional(),
  QUIET_HOURS: z
    .string()
    .regex(/^(off|([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)$/, 'must be like 21:00-08:00 (local time in CITY_TIMEZONE), or off')
    .default('21:00-08:00'),
  VOLUNTEER_CALL_ANSWER_HOURS: z.coerce.number().positive().max(720).default(72),
  IDEA_SUPPORT_THRESHOLD: z.coerce.number().int().min(0).max(1_000_000).default(25),
  BROADCAST_LEASE_SECONDS: z.coerce.number().min(1).max(3600).default(60),
  REPORT_FOLLOW_UP_HOURS: z.coerce.number().positive().max(720).default(72),
  // "Is it fixed?": days after a report is fixed or closed; 0 turns the question off.
  FIX_SURVEY_DAYS: z.coerce.number().min(0).max(90).default(2),
  // Up to 5 km: a lookup reads the grid cells of the circle's box (4 at 250 m, about 300 at 5 km).
  DUPLICATE_RADIUS_METERS: z.coerce.number().min(10).max(5_000).default(250),
  HANDOFF_IDLE_MINUTES: z.coerce.number().positive().max(10_080).default(30),
  // Distinct residents' reports that hide an idea until staff decide.
  IDEA_REPORTS_TO_HIDE: z.coerce.number().int().min(1).max(1_000).default(3),
  // Hours before a shift when its volunteers are reminded; a role may set its own.
  VOLUNTEER_REMINDER_HOURS: z
    .string()
    .regex(/^(off|\d{1,3}(\.\d+)?(,\d{1,3}(\.\d+)?)*)$/, 'must be hours before a shift, like 48,2 (or off)')
    .default('48,2'),
  // What an hour of volunteering is worth, for the impact page (Independent Sector's 2024 US estimate).
  VOLUNTEER_HOUR_VALUE: z.coerce.number().min(0).max(10_000).default(34.79),
  STAFF_SESSION_HOURS: z.coerce.number().positive().max(720).default(12),
  RATE_LIMIT_MESSAGES_PER_MINUTE: z.coerce.number().min(0).max(100_000).default(30),
  RATE_LIMIT_MESSAGE_BURST: z.coerce.number().int().min(1).max(100_000).default(15),
  RATE_LIMIT_NEW_CHATS_PER_MINUTE: z.coerce.number().min(0).max(100_000).default(60),
  RATE_LIMIT_OPEN311_READS_PER_MINUTE: z.coerce.number().min(0).max(100_000).default(120),
  PHOTO_MAX_MB: z.coerce.number().positive().max(100).default(8),
  PHOTOS_PER_CONVERSATION: z.coerce.number().int().min(0).max(100_000).default(10),
  PHOTOS_PER_ADDRESS: z.coerce.number().int().min(0).max(1_000_000).default(50),
  PHOTO_MB_PER_ADDRESS: z.coerce.number().min(0).max(1_000_000).default(200),
  PHOTO_STORAGE_MB: z.coerce.number().min(0).max(100_000_000).default(2048),
  PHOTO_UNATTACHED_HOURS: z.coerce.number().positive().max(720).default(24),
  TWILIO_ACCOUNT_SID: optionalText,
  TWILIO_AUTH_TOKEN: optionalText,
  TWILIO_FROM: optionalText,
  TWILIO_MESSAGING_SERVICE_SID: optionalText,
  TWILIO_MESSAGES_PER_SECOND: z.coerce.number().positive().max(1000).default(1),
  TELEGRAM_BOT_TOKEN: optionalText,
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16-256 letters, digits, _ or - (what Telegram accepts)')
    .optional(),
  TELEGRAM_MODE: z.enum(['webhook', 'polling']).optional(),
  TELEGRAM_API_ROOT: z.url().optional(),
  // Telegram's free limit is about 30 a second; bots with Paid Broadcasts may send up to 1,000.
  TELEGRAM_MESSAGES_PER_SECOND: z.coerce.number().positive().max(1000).default(30),
  MICROSOFT_APP_ID: optionalText,
  MICROSOFT_APP_PASSWORD: optionalText,
  MICROSOFT_APP_TENANT_ID: optionalText,
  MICROSOFT_APP_TYPE: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).optional(),
  BOT_FRAMEWORK_DEV_MODE: flag.default(false),
  WEB_CHAT_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  WEB_CHAT_ACCENT_COLOR: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #0b5cab')
    .default('#0b5cab'),
  MAP_TILES_URL: tilesUrl.optional(),
  // Shown as text in the map's corner (never as HTML): the tile provider's licence asks for it.
  MAP_TILES_ATTRIBUTION: z.string().trim().min(1).max(200).optional(),
  GEOCODER_URL: z.url({ protocol: /^https?$/ }).optional(),
  GEOCODER_EMAIL: z.email().optional(),
  // A resident's turn waits for the geocoder at most this long, then goes on without it.
  GEOCODER_TIMEOUT_MS: z.coerce.number().int().min(100).max(10_000).default(1500),
  // Nominatim's public servers allow 1 a second; a city's own Nominatim may allow more.
  GEOCODER_REQUESTS_PER_SECOND: z.coerce.number().positive().max(100).default(1),
  GEOCODER_VIEWBOX: viewbox.optional(),
  // The city's own Open311 GeoReport v2 server (its base, e.g. https://311.city.example/open311/v2).
  OPEN311_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OPEN311_API_KEY: optionalText,
  OPEN311_JURISDICTION_ID: optionalText,
  // At least 30 s: a city server asked every few seconds for every open request would rate-limit us.
  OPEN311_POLL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(300),
  // How long the photo link sent as a forwarded report's media_url works (the city's system may fetch it late).
  OPEN311_MEDIA_LINK_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  MEDIA_LINK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // Not in GeoReport v2: off by default, as a server that ignores it answers its default list.
  OPEN311_UPDATED_AFTER: z.enum(['off', 'on', 'auto']).default('off'),
});

/** The service's validated configuration. */
export interface Config {
  port: number;
  publicUrl?: string;
  dataDir: string;
  mongodbUri?: string;
  defaultLocale: string;
  cityName: string;
  cityTimeZone: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  adminToken?: string;
  /**
   * Keys the hashes kept in place of a resident's address once they deleted their data (their
   * opt-out, their consent records); made and stored on first use when not set.
   */
  addressHashSecret?: string;
  resumePromptAfterMs: number;
  flowExpiresAfterMs: number;
  /** Seed the demo volunteer roles once; unset: on the embedded store only (a city on MongoDB is in production). */
  seedDemoData: boolean | undefined;
  /** Broadcasts wait out these local hours (CITY_TIMEZONE), minutes after midnight; null = off. */
  quietHours: { start: number; end: number } | null;
  /** How long a "yes" to a volunteer call counts by default. */
  volunteerCallAnswerHours: number;
  /** Supporters an idea needs to go to staff review, unless staff set its own (0: no threshold). */
  ideaSupportThreshold: number;
  /** How long a broadcast delivery claimed by one instance's worker is that worker's; then another may take it over. */
  broadcastLeaseMs: number;
  /** How long a reply to a report's status update is added to the report. */
  reportFollowUpHours: number;
  /** Days after a report is fixed or closed that its reporter and followers are asked whether it really is (0: never). */
  fixSurveyDays: number;
  /** "Already reported?": how far from a resident's point an open report of the same category counts as the same problem. */
  duplicateRadiusM: number;
  /** How many residents' reports hide an idea from residents until staff decide. */
  ideaReportsToHide: number;
  /**
   * After this long with nobody writing, a conversation a person held goes back to the bot
   * and the resident is told (an unanswered request stays in the inbox).
   */
  handoffIdleMs: number;
  /** Hours before a shift when its volunteers are reminded, longest first, unless a role sets its own; empty = none. */
  volunteerReminderHours: number[];
  /** The value of one volunteer hour, in the city's currency, for the impact numbers. */
  volunteerHourValue: number;
  /** How long a staff dashboard session lasts. */
  staffSessionHours: number;
  /**
   * Flood brakes, per instance, in memory: messages one resident address may send (a burst, then
   * so many a minute; 0 a minute = off), and new web chats one client address may open a minute.
   */
  rateLimits: {
    messages: { perMinute: number; burst: number };
    newChats: { perMinute: number; burst: number };
    /** Open311 reads (GET /open311/v2/*) one client address may make a minute: they need no key. */
    open311Reads: { perMinute: number; burst: number };
  };
  /**
   * Photos residents upload through the web chat: the largest one; how many one conversation,
   * and how many and how many bytes one client address, may upload in a day; how many bytes all
   * stored photos may take; and how long an upload never attached to a report is kept. A 0 turns
   * a cap off.
   */
  photos: PhotoLimits;
  /** Signs web chat tokens; made and stored on first start when not set. */
  webChatTokenSecret?: string;
  /** The web chat's colour (buttons, the resident's bubbles), for the city's look. */
  webChatAccentColor: string;
  /** Where `locales/`, `dialogs/` and the page assets are (the project folder). */
  rootDir: string;
  /** Channel credentials, as given; each channel's issue reads its own. */
  twilio: { accountSid?: string; authToken?: string; from?: string; messagingServiceSid?: string; messagesPerSecond: number };
  /** `mode`: webhook when PUBLIC_URL is set, else long polling (a laptop has no public URL). */
  /** `messagesPerSecond`: the bot's overall sending pace (Telegram's limit for the bot). */
  telegram: { botToken?: string; webhookSecret?: string; apiRoot?: string; mode: 'webhook' | 'polling'; messagesPerSecond: number };
  /**
   * `devMode`: with no app id, /api/messages accepts requests from this machine only, and only
   * with a serviceUrl on this machine (botbuilder would otherwise accept anyone and post replies
   * wherever it is told).
   */
  microsoft: { appId?: string; appPassword?: string; tenantId?: string; appType?: string; devMode: boolean };
  /**
   * The staff map's background: a tile URL template and its attribution, or none (pins on a plain
   * background). `cspSource` is what the staff pages with a map add to their CSP's img-src.
   */
  mapTiles: { url: string; attribution?: string; cspSource: string } | null;
  /**
   * The optional Nominatim-compatible geocoder (GEOCODER_URL), or null when off. `city` is
   * CITY_NAME only when it was set (the default name would bias searches to nowhere).
   */
  geocoder: GeocoderSettings | null;
  /**
   * The city's Open311 server that new reports are forwarded to and whose status changes are
   * polled (OPEN311_ENDPOINT), or null when off.
   */
  open311Client: Open311ClientSettings | null;
  /**
   * Signed, expiring links to stored photos, for systems that fetch them without a login (a
   * forwarded report's `media_url`): the key (MEDIA_LINK_SECRET; made and stored on first start
   * when not set) and how long a link works (OPEN311_MEDIA_LINK_DAYS).
   */
  mediaLinks: { secret?: string; ttlMs: number };
}

/** The Open311 client's settings (see `Config.open311Client`). */
export interface Open311ClientSettings {
  /** The base URL, without a trailing slash: `${endpoint}/requests.json`. */
  endpoint: string;
  apiKey: string;
  jurisdictionId?: string;
  /** How often forwarded, still-open requests are read back. */
  pollMs: number;
  /**
   * Whether a poll first asks `requests.json?updated_after=` what changed (OPEN311_UPDATED_AFTER):
   * `off` never; `on` at every poll; `auto` until the server is found to refuse or ignore it, then
   * again a day later. Batches of ids stay the base in every case (see src/staff/open311-client.ts).
   */
  updatedAfter: 'off' | 'on' | 'auto';
}

/** The geocoder's settings (see `Config.geocoder`). */
export interface GeocoderSettings {
  url: string;
  email?: string;
  timeoutMs: number;
  requestsPerSecond: number;
  city?: string;
  viewbox?: { minLon: number; minLat: number; maxLon: number; maxLat: number };
}

/** A megabyte, as the photo settings count them (and as residents' phones show sizes). */
const MB = 1024 * 1024;

/** The caps on photo uploads (see `Config.photos`); 0 is no cap. */
export interface PhotoLimits {
  maxBytes: number;
  perConversation: number;
  perAddress: { photos: number; bytes: number };
  storageBytes: number;
  unattachedMs: number;
}

/** `21:00-08:00` as minutes after midnight; `off` as null. */
function quietHoursOf(value: string): Config['quietHours'] {
  if (value === 'off') return null;
  const [start, end] = value.split('-').map((time) => {
    const [hours, minutes] = time.split(':').map(Number);
    return (hours ?? 0) * 60 + (minutes ?? 0);
  });
  return { start: start ?? 0, end: end ?? 0 };
}

/** `48,2` → [48, 2] (longest first, each once); `off` → none. */
function reminderHoursOf(value: string): number[] {
  if (value === 'off') return [];
  return [...new Set(value.split(',').map(Number))].filter((hours) => hours > 0).sort((a, b) => b - a);
}

/** Thrown with one line per bad key, so an operator sees every problem at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = readEnvironment()): Config {
  // Empty strings (KEY= in a .env file) mean "not set", as operators expect.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const c = parsed.data;
  const telegramMode = c.TELEGRAM_MODE ?? (c.PUBLIC_URL ? 'webhook' : 'polling');
  if (c.TELEGRAM_BOT_TOKEN && telegramMode === 'webhook') {
    const missing = [
      ...(c.TELEGRAM_WEBHOOK_SECRET ? [] : ['TELEGRAM_WEBHOOK_SECRET: required for the Telegram webhook (or set TELEGRAM_MODE=polling)']),
      ...(c.PUBLIC_URL ? [] : ['PUBLIC_URL: required for the Telegram webhook (or set TELEGRAM_MODE=polling)']),
    ];
    if (missing.length > 0) throw new ConfigError(missing);
  }
  // GeoReport v2 refuses a POST without api_key: forwarding without one could never work.
  if (c.OPEN311_ENDPOINT && !c.OPEN311_API_KEY) throw new ConfigError(['OPEN311_API_KEY: required when OPEN311_ENDPOINT is set']);
  return {
    port: c.PORT,
    ...(c.PUBLIC_URL ? { publicUrl: c.PUBLIC_URL.replace(/\/+$/, '') } : {}),
    dataDir: path.resolve(c.DATA_DIR),
    ...(c.MONGODB_URI ? { mongodbUri: c.MONGODB_URI } : {}),
    defaultLocale: c.DEFAULT_LOCALE,
    cityName: c.CITY_NAME,
    cityTimeZone: c.CITY_TIMEZONE,
    logLevel: c.LOG_LEVEL,
    ...(c.ADMIN_TOKEN ? { adminToken: c.ADMIN_TOKEN } : {}),
    ...(c.ADDRESS_HASH_SECRET ? { addressHashSecret: c.ADDRESS_HASH_SECRET } : {}),
    resumePromptAfterMs: c.FLOW_RESUME_PROMPT_AFTER_MINUTES * 60_000,
    flowExpiresAfterMs: c.FLOW_EXPIRE_AFTER_HOURS * 3_600_000,
    seedDemoData: c.SEED_DEMO_DATA,
    quietHours: quietHoursOf(c.QUIET_HOURS),
    volunteerCallAnswerHours: c.VOLUNTEER_CALL_ANSWER_HOURS,
    ideaSupportThreshold: c.IDEA_SUPPORT_THRESHOLD,
    broadcastLeaseMs: c.BROADCAST_LEASE_SECONDS * 1000,
    reportFollowUpHours: c.REPORT_FOLLOW_UP_HOURS,
    fixSurveyDays: c.FIX_SURVEY_DAYS,
    duplicateRadiusM: c.DUPLICATE_RADIUS_METERS,
    ideaReportsToHide: c.IDEA_REPORTS_TO_HIDE,
    handoffIdleMs: c.HANDOFF_IDLE_MINUTES * 60_000,
    volunteerReminderHours: reminderHoursOf(c.VOLUNTEER_REMINDER_HOURS),
    volunteerHourValue: c.VOLUNTEER_HOUR_VALUE,
    staffSessionHours: c.STAFF_SESSION_HOURS,
    rateLimits: {
      messages: { perMinute: c.RATE_LIMIT_MESSAGES_PER_MINUTE, burst: c.RATE_LIMIT_MESSAGE_BURST },
      newChats: { perMinute: c.RATE_LIMIT_NEW_CHATS_PER_MINUTE, burst: Math.max(1, Math.ceil(c.RATE_LIMIT_NEW_CHATS_PER_MINUTE)) },
      open311Reads: { perMinute: c.RATE_LIMIT_OPEN311_READS_PER_MINUTE, burst: Math.max(1, Math.ceil(c.RATE_LIMIT_OPEN311_READS_PER_MINUTE)) },
    },
    photos: {
      maxBytes: Math.round(c.PHOTO_MAX_MB * MB),
      perConversation: c.PHOTOS_PER_CONVERSATION,
      perAddress: { photos: c.PHOTOS_PER_ADDRESS, bytes: Math.round(c.PHOTO_MB_PER_ADDRESS * MB) },
      storageBytes: Math.round(c.PHOTO_STORAGE_MB * MB),
      unattachedMs: c.PHOTO_UNATTACHED_HOURS * 3_600_000,
    },
    ...(c.WEB_CHAT_TOKEN_SECRET ? { webChatTokenSecret: c.WEB_CHAT_TOKEN_SECRET } : {}),
    webChatAccentColor: c.WEB_CHAT_ACCENT_COLOR,
    rootDir: projectRoot(),
    twilio: {
      ...compact({
        accountSid: c.TWILIO_ACCOUNT_SID,
        authToken: c.TWILIO_AUTH_TOKEN,
        from: c.TWILIO_FROM,
        messagingServiceSid: c.TWILIO_MESSAGING_SERVICE_SID,
      }),
      messagesPerSecond: c.TWILIO_MESSAGES_PER_SECOND,
    },
    telegram: {
      ...compact({ botToken: c.TELEGRAM_BOT_TOKEN, webhookSecret: c.TELEGRAM_WEBHOOK_SECRET, apiRoot: c.TELEGRAM_API_ROOT }),
      mode: telegramMode,
      messagesPerSecond: c.TELEGRAM_MESSAGES_PER_SECOND,
    },
    microsoft: {
      ...compact({ appId: c.MICROSOFT_APP_ID, appPassword: c.MICROSOFT_APP_PASSWORD, tenantId: c.MICROSOFT_APP_TENANT_ID, appType: c.MICROSOFT_APP_TYPE }),
      devMode: c.BOT_FRAMEWORK_DEV_MODE,
    },
    mapTiles: c.MAP_TILES_URL
      ? {
          url: c.MAP_TILES_URL,
          ...(c.MAP_TILES_ATTRIBUTION ? { attribution: c.MAP_TILES_ATTRIBUTION } : {}),
          cspSource: tileOrigin(c.MAP_TILES_URL) ?? "'none'",
        }
      : null,
    geocoder: c.GEOCODER_URL
      ? {
          url: c.GEOCODER_URL.replace(/\/+$/, ''),
          ...(c.GEOCODER_EMAIL ? { email: c.GEOCODER_EMAIL } : {}),
          timeoutMs: c.GEOCODER_TIMEOUT_MS,
          requestsPerSecond: c.GEOCODER_REQUESTS_PER_SECOND,
          ...(present['CITY_NAME'] !== undefined ? { city: c.CITY_NAME } : {}),
          ...(c.GEOCODER_VIEWBOX ? { viewbox: viewboxOf(c.GEOCODER_VIEWBOX)! } : {}),
        }
      : null,
    open311Client: c.OPEN311_ENDPOINT
      ? {
          endpoint: c.OPEN311_ENDPOINT.replace(/\/+$/, ''),
          apiKey: c.OPEN311_API_KEY ?? '',
          ...(c.OPEN311_JURISDICTION_ID ? { jurisdictionId: c.OPEN311_JURISDICTION_ID } : {}),
          pollMs: c.OPEN311_POLL_SECONDS * 1000,
          updatedAfter: c.OPEN311_UPDATED_AFTER,
        }
      : null,
    mediaLinks: { ...(c.MEDIA_LINK_SECRET ? { secret: c.MEDIA_LINK_SECRET } : {}), ttlMs: c.OPEN311_MEDIA_LINK_DAYS * 86_400_000 },
  };
}

/**
 * The CSP source of a tile URL template (`https://tile.openstreetmap.org`, or
 * `https://*.tile.example.org` for a `{s}` subdomain), or null when it is not a usable template.
 */
export function tileOrigin(template: string): string | null {
  if (!['{z}', '{x}', '{y}'].every((part) => template.includes(part))) return null;
  const match = /^(https?):\/\/([^/?#]+)\//i.exec(template);
  if (!match) return null;
  const [, scheme, authority] = match as unknown as [string, string, string];
  // `{s}` may stand for the first label only; no other placeholder, credential or odd character in the host.
  const host = authority.startsWith('{s}.') ? authority.slice(4) : authority;
  if (!/^[A-Za-z0-9.-]+(?::\d{1,5})?$/.test(host) || host.startsWith('.')) return null;
  try {
    new URL(`${scheme}://${host}/`);
  } catch {
    return null;
  }
  return `${scheme.toLowerCase()}://${authority.startsWith('{s}.') ? '*.' : ''}${host.toLowerCase()}`;
}

/** `minLon,minLat,maxLon,maxLat` as numbers, or null when malformed or out of range. */
function viewboxOf(value: string): GeocoderSettings['viewbox'] | null {
  const parts = value.split(',').map((part) => (/^\s*-?\d+(\.\d+)?\s*$/.test(part) ? Number(part) : NaN));
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) return null;
  const [minLon, minLat, maxLon, maxLat] = parts as [number, number, number, number];
  if (Math.abs(minLon) > 180 || Math.abs(maxLon) > 180 || Math.abs(minLat) > 90 || Math.abs(maxLat) > 90) return null;
  if (minLon >= maxLon || minLat >= maxLat) return null;
  return { minLon, minLat, maxLon, maxLat };
}

function readEnvironment(): NodeJS.ProcessEnv {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}

/** The folder with package.json above this file, whether run from src/ or from dist/src/. */
function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'locales'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('Cannot find the project folder (package.json with locales/)');
    dir = parent;
  }
  return dir;
}

function compact<T extends Record<string, string | undefined>>(values: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };
}
