/**
 * The Telegram channel end to end: real Update JSON (from test/fixtures/telegram) posted to the
 * real app's webhook, telegraf talking to a fake Bot API on 127.0.0.1, whole journeys with
 * inline buttons, a location and a photo, and everything Telegram may send that is not that.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type RunningApp } from '../../support/http.js';
import { BOT_TOKEN, BOT_USERNAME, startFakeTelegram, type FakeTelegram } from '../../support/fake-telegram.js';
import { referenceIn } from '../../support/harness.js';

const PUBLIC_URL = 'https://bot.springfield.example';
const SECRET = 'telegram-webhook-secret-0123456789';
let fake: FakeTelegram;
let app: RunningApp;

beforeAll(async () => {
  fake = await startFakeTelegram();
  app = await startTestApp(
    { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET: SECRET, TELEGRAM_API_ROOT: fake.apiRoot, PUBLIC_URL },
    { telegramRates: { perChatPerSecond: 1000 } },
  );
  await app.service.telegram!.start();
});
afterAll(async () => {
  await app.close();
  await fake.close();
});

type Fixture = 'private-text' | 'callback-query' | 'photo' | 'location' | 'sticker';
const fixture = (name: Fixture): any => JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'fixtures', 'telegram', `${name}.json`), 'utf8'));

let nextUpdateId = 200_000_000;
let nextChatId = 80_000_000;

/** Posts an update to the webhook with the secret header (or another one). */
async function postUpdate(update: unknown, secret: string | null = SECRET, raw?: string): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret !== null) headers['x-telegram-bot-api-secret-token'] = secret;
  const response = await fetch(`${app.url}/webhooks/telegram`, { method: 'POST', headers, body: raw ?? JSON.stringify(update) });
  return response.status;
}

/** A resident in a private chat with the bot. */
class TelegramResident {
  readonly chatId = nextChatId++;
  private seen = 0;

  constructor(private readonly languageCode = 'en') {}

  /** Builds an update from a fixture, as this resident. */
  update(name: Fixture, change: (update: any) => void = () => {}): any {
    const update = fixture(name);
    update.update_id = nextUpdateId++;
    const message = update.message ?? update.callback_query.message;
    message.chat.id = this.chatId;
    for (const from of [update.message?.from, update.callback_query?.from])
      if (from) Object.assign(from, { id: this.chatId, language_code: this.languageCode });
    change(update);
    return update;
  }

  /** Sends an update; returns the messages the bot sent this chat since the last call. */
  async send(update: any): Promise<{ status: number; sent: Record<string, any>[] }> {
    const status = await postUpdate(update);
    return { status, sent: this.sentSinceLastTime() };
  }

  async text(text: string): Promise<string> {
    const { sent } = await this.send(this.update('private-text', (u) => (u.message.text = text)));
    return sent.map((m) => m.text).join('\n\n');
  }

  /** Presses a button of the last keyboard the bot sent (by its label). */
  async press(label: string): Promise<string> {
    const last = this.lastKeyboardMessage();
    const button = last.keyboard.flat().find((b: { text: string }) => b.text === label);
    if (!button) throw new Error(`No button "${label}" in ${JSON.stringify(last.keyboard)}`);
    const { sent } = await this.send(
      this.update('callback-query', (u) => {
        u.callback_query.data = button.callback_data;
        u.callback_query.message.message_id = last.messageId;
        u.callback_query.message.reply_markup = { inline_keyboard: last.keyboard };
      }),
    );
    return sent.map((m) => m.text).join('\n\n');
  }

  /** The messages sent to this chat, with the message id Telegram gave each. */
  sentToMe(): { payload: Record<string, any>; messageId: number }[] {
    return fake
      .callsOf('sendMessage')
      .filter((c) => c.payload.chat_id === this.chatId && c.result)
      .map((c) => ({ payload: c.payload, messageId: c.result.message_id as number }));
  }

  private sentSinceLastTime(): Record<string, any>[] {
    const mine = this.sentToMe();
    const fresh = mine.slice(this.seen).map((c) => c.payload);
    this.seen = mine.length;
    return fresh;
  }

  private lastKeyboardMessage(): { keyboard: any[][]; messageId: number } {
    const mine = this.sentToMe();
    for (let i = mine.length - 1; i >= 0; i--) {
      const keyboard = mine[i]!.payload.reply_markup?.inline_keyboard;
      if (keyboard?.length) return { keyboard, messageId: mine[i]!.messageId };
    }
    throw new Error('The bot sent no keyboard');
  }
}

describe('start-up', () => {
  it('registers the command list in both languages and the webhook with its secret', () => {
    const commands = fake.callsOf('setMyCommands');
    expect(commands.map((c) => c.payload.language_code ?? 'default').sort()).toEqual(['default', 'es']);
    expect(commands.find((c) => c.payload.language_code === 'es')!.payload.commands).toContainEqual({
      command: 'stop',
      description: 'Dejar de recibir mensajes',
    });
    expect(fake.callsOf('setWebhook')).toMatchObject([{ payload: { url: `${PUBLIC_URL}/webhooks/telegram`, secret_token: SECRET } }]);
  });
});

describe('journeys', () => {
  it('files a report with buttons, a location pin and a photo', async () => {
    const resident = new TelegramResident();
    const { sent } = await resident.send(resident.update('private-text', (u) => (u.message.text = '/start')));
    expect(
      sent
        .at(-1)!
        .reply_markup.inline_keyboard.flat()
        .map((b: any) => b.text),
    ).toContain('Report a problem');
    expect(sent.every((m) => m.parse_mode === undefined)).toBe(true);
    expect(await resident.press('Report a problem')).toContain('What kind of problem is it?');
    const callbacksAnswered = fake.callsOf('answerCallbackQuery').length;
    expect(callbacksAnswered).toBeGreaterThan(0);
    // The pressed message lost its buttons, so it cannot be pressed into a later question.
    expect(fake.callsOf('editMessageReplyMarkup').at(-1)!.payload).toMatchObject({ chat_id: resident.chatId, reply_markup: { inline_keyboard: [] } });

    await resident.press('Pothole');
    const askedPlace = resident.sentToMe().at(-1)!.payload;
    expect(askedPlace.text).toContain('Share your location');
    expect(askedPlace.reply_markup.keyboard[0][0]).toEqual({ text: 'Send my location', request_location: true });

    const { sent: afterPin } = await resident.send(resident.update('location'));
    expect(afterPin.map((m) => m.text).join()).toContain('Describe the problem');
    expect(await resident.text('Deep hole in the right lane')).toContain('photo');
    const { sent: afterPhoto } = await resident.send(resident.update('photo'));
    expect(fake.callsOf('getFile').at(-1)!.payload).toEqual({ file_id: 'AgACAgQAAxkBAAIBlarge' });
    expect(afterPhoto.map((m) => m.text).join()).toContain('1 photo');
    const ref = referenceIn(await resident.press('Yes, send it'));
    const report = await app.service.store.reports.get(ref);
    expect(report).toMatchObject({
      channel: 'telegram',
      residentAddress: `telegram:${resident.chatId}`,
      location: { point: { lat: 39.78172, lon: -89.65014 } },
      photos: [{ url: 'telegram-file:AgACAgQAAxkBAAIBlarge', contentType: 'image/jpeg' }],
    });
  });

  it('takes an idea and a volunteer sign-up', async () => {
    const resident = new TelegramResident();
    await resident.text('I have an idea for the city');
    await resident.text('Bike racks at the library');
    await resident.text('There is nowhere to lock a bike');
    await resident.press('Skip');
    referenceIn(await resident.press('Yes, share it'), 'I');
    await resident.text('volunteer');
    const first = resident.sentToMe().at(-1)!.payload.reply_markup.inline_keyboard[0][0].text as string;
    await resident.press(first);
    await resident.press('Sign me up');
    expect(await resident.text('Ana Diaz')).toContain("You're signed up");
  });

  it('opens the report flow from a /start report deep link', async () => {
    const resident = new TelegramResident('es');
    expect(await resident.text('/start report')).toContain('¿Qué tipo de problema es?');
  });
});

describe('opting out', () => {
  it('/stop opts out; a later broadcast-style send is suppressed', async () => {
    const resident = new TelegramResident();
    await resident.text('hi');
    expect(await resident.text('/stop')).toContain('unsubscribed');
    const before = resident.sentToMe().length;
    const outcome = await app.service.telegram!.send(`telegram:${resident.chatId}`, [{ text: 'Volunteers needed Saturday!' }], {
      purpose: 'notification',
      key: 'call-1',
      locale: 'en',
    });
    expect(outcome).toEqual({ state: 'skipped', reason: 'opted_out' });
    expect(resident.sentToMe()).toHaveLength(before);
    const skipped = await app.service.store.outbound.find({ field: 'address', equals: `telegram:${resident.chatId}` }, { order: 'desc', limit: 1 });
    expect(skipped[0]).toMatchObject({ state: 'skipped', purpose: 'notification' });
    expect(await app.service.store.consentEvents.find({ field: 'address', equals: `telegram:${resident.chatId}` })).toMatchObject([
      { kind: 'opt_out', keyword: '/stop', channel: 'telegram' },
    ]);
    expect(await resident.text('/start')).toContain('Welcome back');
  });
});

describe('what Telegram may send', () => {
  it('processes a repeated update_id once and sends its reply once', async () => {
    const resident = new TelegramResident();
    const update = resident.update('private-text', (u) => (u.message.text = 'menu'));
    await Promise.all([postUpdate(update), postUpdate(update)]);
    await postUpdate(update);
    expect(resident.sentToMe()).toHaveLength(1);
  });

  it('refuses a wrong or missing secret and processes nothing', async () => {
    const resident = new TelegramResident();
    expect(await postUpdate(resident.update('private-text'), 'wrong-secret-000000000')).toBe(403);
    expect(await postUpdate(resident.update('private-text'), null)).toBe(401);
    expect(resident.sentToMe()).toHaveLength(0);
    expect(await app.service.store.conversations.get(`telegram:${resident.chatId}`)).toBeNull();
  });

  it('answers malformed JSON and a malformed update with 400', async () => {
    expect(await postUpdate(null, SECRET, '{"update_id": ')).toBe(400);
    expect(await postUpdate({ update_id: 'x', message: 'nope' })).toBe(400);
    expect(await postUpdate({ update_id: nextUpdateId++, message: { message_id: 1, chat: { id: 5, type: 'private' }, text: { $gt: '' } } })).toBe(400);
  });

  it('says what it can read when sent a sticker or a voice note, and about edits', async () => {
    const resident = new TelegramResident();
    expect(await resident.send(resident.update('sticker')).then((r) => r.sent[0]!.text)).toContain('I can read text, photos and locations');
    const voice = resident.update('sticker', (u) => {
      delete u.message.sticker;
      u.message.voice = { file_id: 'AwACAgQ', duration: 3, mime_type: 'audio/ogg' };
    });
    expect((await resident.send(voice)).sent[0]!.text).toContain('I can read text, photos and locations');
    const edited = resident.update('private-text', (u) => {
      u.edited_message = { ...u.message, text: 'changed my mind', edit_date: 1795370100 };
      delete u.message;
    });
    expect((await resident.send(edited)).sent[0]!.text).toContain('only read new messages');
  });

  it('ignores a group unless addressed, and then points to a private chat', async () => {
    const groupId = -100_123_456;
    const inGroup = (text: string) => ({
      update_id: nextUpdateId++,
      message: { message_id: 5, from: { id: 77, is_bot: false, language_code: 'en' }, chat: { id: groupId, type: 'supergroup' }, date: 1, text },
    });
    expect(await postUpdate(inGroup('there is a pothole on main'))).toBe(200);
    expect(fake.callsOf('sendMessage').filter((c) => c.payload.chat_id === groupId)).toHaveLength(0);
    expect(await postUpdate(inGroup(`@${BOT_USERNAME} there is a pothole on main`))).toBe(200);
    const told = fake.callsOf('sendMessage').filter((c) => c.payload.chat_id === groupId);
    expect(told).toHaveLength(1);
    expect(told[0]!.payload.text).toContain(`@${BOT_USERNAME}`);
    expect(await app.service.store.conversations.get(`telegram:${groupId}`)).toBeNull();
  });
});

describe('buttons of earlier questions and busy Telegram', () => {
  it('does not let an old button answer a later question', async () => {
    const resident = new TelegramResident();
    await resident.text('menu');
    const menu = resident.sentToMe().at(-1)!;
    await resident.press('Share an idea');
    const before = resident.sentToMe().length;
    // A second tap on the menu message, whose keyboard is no longer the latest.
    await resident.send(
      resident.update('callback-query', (u) => {
        u.callback_query.data = 'report';
        u.callback_query.message.message_id = menu.messageId;
        u.callback_query.message.reply_markup = menu.payload.reply_markup;
      }),
    );
    expect(resident.sentToMe()).toHaveLength(before);
    expect(fake.callsOf('answerCallbackQuery').at(-1)!.payload.text).toBe('That button is from an earlier question.');
    expect(await resident.text('Free wifi in parks')).toContain('Tell us more');
  });

  it('asks Telegram to remove only buttons that are still there', async () => {
    const resident = new TelegramResident();
    const edited = (since: number) =>
      fake
        .callsOf('editMessageReplyMarkup')
        .slice(since)
        .map((c) => c.payload.message_id);
    await resident.text('menu');
    const menu = resident.sentToMe().at(-1)!;
    const before = fake.callsOf('editMessageReplyMarkup').length;
    // The pressed keyboard goes; the answer's own keyboard (the categories) replaces no other.
    await resident.press('Report a problem');
    expect(edited(before)).toEqual([menu.messageId]);
    // A new keyboard after a typed answer removes the one before it.
    const categories = resident.sentToMe().at(-1)!;
    await resident.text('menu');
    expect(edited(before + 1)).toEqual([categories.messageId]);
  });

  it('answers 500 when Telegram asks to wait too long, and sends the reply on redelivery', async () => {
    const resident = new TelegramResident();
    const update = resident.update('private-text', (u) => (u.message.text = 'menu'));
    fake.fail('sendMessage', { status: 429, errorCode: 429, description: 'Too Many Requests: retry after 120', retryAfter: 120 });
    expect(await postUpdate(update)).toBe(500);
    expect(resident.sentToMe()).toHaveLength(0);
    expect(await postUpdate(update)).toBe(200);
    expect(resident.sentToMe()).toHaveLength(1);
    const transcript = await app.service.store.transcripts.find({ field: 'conversationId', equals: `telegram:${resident.chatId}` });
    expect(transcript.filter((e) => e.direction === 'in')).toHaveLength(1);
  });

  it('does not take a reply to another bot in a group as addressed to ours', async () => {
    const groupId = -100_222_333;
    const update = {
      update_id: nextUpdateId++,
      message: {
        message_id: 9,
        from: { id: 78, is_bot: false },
        chat: { id: groupId, type: 'group' },
        date: 1,
        text: 'thanks!',
        reply_to_message: { from: { id: 999, is_bot: true } },
      },
    };
    expect(await postUpdate(update)).toBe(200);
    expect(fake.callsOf('sendMessage').filter((c) => c.payload.chat_id === groupId)).toHaveLength(0);
  });
});
