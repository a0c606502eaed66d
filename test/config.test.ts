import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('runs on defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, defaultLocale: 'en', cityTimeZone: 'America/New_York' });
    // Unset: the service seeds demo roles on the embedded store only, never in a MongoDB database.
    expect(config.seedDemoData).toBeUndefined();
    expect(loadConfig({ SEED_DEMO_DATA: 'false' }).seedDemoData).toBe(false);
    expect(config.dataDir).toMatch(/data$/);
    expect(config.mongodbUri).toBeUndefined();
  });

  it('treats empty values (KEY= in .env) as not set', () => {
    expect(loadConfig({ PORT: '', MONGODB_URI: '', ADMIN_TOKEN: '' })).toMatchObject({ port: 3000 });
  });

  it('reports every bad key, one line each, naming the key but not its value', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', CITY_TIMEZONE: 'Mars/Olympus', ADMIN_TOKEN: 'short', MONGODB_URI: 'postgres://secret@db' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['ADMIN_TOKEN', 'CITY_TIMEZONE', 'MONGODB_URI', 'PORT']);
    expect((error as Error).message).not.toContain('secret');
  });

  it('runs Telegram by webhook with a public URL, by polling without, and says what a webhook lacks', () => {
    expect(loadConfig({ TELEGRAM_BOT_TOKEN: '1:x' }).telegram.mode).toBe('polling');
    const hooked = loadConfig({ TELEGRAM_BOT_TOKEN: '1:x', PUBLIC_URL: 'https://bot.city.gov', TELEGRAM_WEBHOOK_SECRET: 's'.repeat(32) });
    expect(hooked.telegram.mode).toBe('webhook');
    expect(() => loadConfig({ TELEGRAM_BOT_TOKEN: '1:x', PUBLIC_URL: 'https://bot.city.gov' })).toThrow(/TELEGRAM_WEBHOOK_SECRET: required/);
    expect(() => loadConfig({ TELEGRAM_BOT_TOKEN: '1:x', TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: 's'.repeat(32) })).toThrow(/PUBLIC_URL: required/);
    expect(() => loadConfig({ TELEGRAM_WEBHOOK_SECRET: 'has spaces in it, not allowed' })).toThrow(/TELEGRAM_WEBHOOK_SECRET/);
  });

  it("sends Telegram at Telegram's default limit unless the city's bot may send more (Paid Broadcasts)", () => {
    expect(loadConfig({}).telegram.messagesPerSecond).toBe(30);
    expect(loadConfig({ TELEGRAM_MESSAGES_PER_SECOND: '1000' }).telegram.messagesPerSecond).toBe(1000);
    expect(() => loadConfig({ TELEGRAM_MESSAGES_PER_SECOND: '5000' })).toThrow(/TELEGRAM_MESSAGES_PER_SECOND/);
    expect(() => loadConfig({ TELEGRAM_MESSAGES_PER_SECOND: '0' })).toThrow(/TELEGRAM_MESSAGES_PER_SECOND/);
  });

  it("reads the staff side's settings: quiet hours (across midnight, or off), windows, session length", () => {
    const defaults = loadConfig({});
    expect(defaults.quietHours).toEqual({ start: 21 * 60, end: 8 * 60 });
    expect(defaults).toMatchObject({ volunteerCallAnswerHours: 72, reportFollowUpHours: 72, duplicateRadiusM: 250, staffSessionHours: 12 });
    expect(loadConfig({ QUIET_HOURS: '22:30-06:15' }).quietHours).toEqual({ start: 22 * 60 + 30, end: 6 * 60 + 15 });
    expect(loadConfig({ QUIET_HOURS: 'off' }).quietHours).toBeNull();
    expect(() => loadConfig({ QUIET_HOURS: '9pm-8am' })).toThrow(/QUIET_HOURS: must be like 21:00-08:00/);
    expect(() => loadConfig({ QUIET_HOURS: '25:00-08:00' })).toThrow(/QUIET_HOURS/);
    expect(() => loadConfig({ STAFF_SESSION_HOURS: '0' })).toThrow(/STAFF_SESSION_HOURS/);
    // "Is it fixed?": 2 days by default, 0 turns it off, a negative or a season away is a mistake.
    expect(defaults.fixSurveyDays).toBe(2);
    expect(loadConfig({ FIX_SURVEY_DAYS: '0' }).fixSurveyDays).toBe(0);
    expect(() => loadConfig({ FIX_SURVEY_DAYS: '-1' })).toThrow(/FIX_SURVEY_DAYS/);
    expect(() => loadConfig({ FIX_SURVEY_DAYS: '365' })).toThrow(/FIX_SURVEY_DAYS/);
    // Reported ideas: three residents hide one by default; zero would hide every idea unreported.
    expect(defaults.ideaReportsToHide).toBe(3);
    expect(loadConfig({ IDEA_REPORTS_TO_HIDE: '5' }).ideaReportsToHide).toBe(5);
    expect(() => loadConfig({ IDEA_REPORTS_TO_HIDE: '0' })).toThrow(/IDEA_REPORTS_TO_HIDE/);
  });

  it("forwards to the city's Open311 server only when OPEN311_ENDPOINT is set, and then needs its api key", () => {
    expect(loadConfig({}).open311Client).toBeNull();
    const on = loadConfig({ OPEN311_ENDPOINT: 'https://311.city.example/open311/v2/', OPEN311_API_KEY: 'k', OPEN311_JURISDICTION_ID: 'city.example' });
    expect(on.open311Client).toEqual({
      endpoint: 'https://311.city.example/open311/v2',
      apiKey: 'k',
      jurisdictionId: 'city.example',
      pollMs: 300_000,
      updatedAfter: 'off',
    });
    expect(loadConfig({ OPEN311_ENDPOINT: 'http://x.example', OPEN311_API_KEY: 'k', OPEN311_UPDATED_AFTER: 'auto' }).open311Client?.updatedAfter).toBe('auto');
    expect(() => loadConfig({ OPEN311_UPDATED_AFTER: 'yes' })).toThrow(/OPEN311_UPDATED_AFTER/);
    expect(loadConfig({ OPEN311_ENDPOINT: 'http://x.example', OPEN311_API_KEY: 'k', OPEN311_POLL_SECONDS: '60' }).open311Client?.pollMs).toBe(60_000);
    expect(() => loadConfig({ OPEN311_ENDPOINT: 'https://311.city.example' })).toThrow(/OPEN311_API_KEY: required/);
    expect(() => loadConfig({ OPEN311_ENDPOINT: 'ftp://311.city.example', OPEN311_API_KEY: 'k' })).toThrow(/OPEN311_ENDPOINT/);
    expect(() => loadConfig({ OPEN311_POLL_SECONDS: '5' })).toThrow(/OPEN311_POLL_SECONDS/);
  });

  it('signs photo links with MEDIA_LINK_SECRET (or a stored key), valid for OPEN311_MEDIA_LINK_DAYS (7)', () => {
    expect(loadConfig({}).mediaLinks).toEqual({ ttlMs: 7 * 86_400_000 });
    const secret = 'm'.repeat(32);
    expect(loadConfig({ MEDIA_LINK_SECRET: secret, OPEN311_MEDIA_LINK_DAYS: '30' }).mediaLinks).toEqual({ secret, ttlMs: 30 * 86_400_000 });
    expect(() => loadConfig({ MEDIA_LINK_SECRET: 'short' })).toThrow(/MEDIA_LINK_SECRET: must be at least 32/);
    expect(() => loadConfig({ OPEN311_MEDIA_LINK_DAYS: '0' })).toThrow(/OPEN311_MEDIA_LINK_DAYS/);
    expect(() => loadConfig({ OPEN311_MEDIA_LINK_DAYS: '400' })).toThrow(/OPEN311_MEDIA_LINK_DAYS/);
  });
});
