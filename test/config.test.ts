import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('runs on defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, defaultLocale: 'en', cityTimeZone: 'America/New_York', seedDemoData: true });
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
});
