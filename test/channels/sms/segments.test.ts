/**
 * What an SMS costs: GSM-7 versus UCS-2, the common prompts kept within two segments in every
 * language, measured on the bodies the SMS channel actually renders, and a broadcast's SMS
 * additions (Yes/No, opt-out line) within the room its limit keeps for them.
 */
import { describe, expect, it } from 'vitest';
import { foldToGsm7, isGsm7, smsSegments } from '../../../src/channels/sms/gsm7.js';
import { renderSmsBodies, SMS_CAPABILITIES } from '../../../src/channels/sms/sms.channel.js';
import { createResidentMessenger } from '../../../src/channels/resident-messenger.js';
import type { ChannelAdapter, OutboundMessage } from '../../../src/channels/channel.js';
import { MAX_MESSAGE_LENGTH, SMS_ADDED_CHARACTERS, SMS_BROADCAST_SEGMENTS } from '../../../src/staff/broadcasts.js';
import { CATEGORIES } from '../../../src/domain/vocabulary.js';
import { useTestService } from '../../support/harness.js';
import type { Reply } from '../../../src/core/message.js';

const service = useTestService();

describe('GSM-7', () => {
  it('counts segments as carriers bill them', () => {
    expect(smsSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1 });
    expect(smsSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', segments: 2 });
    expect(smsSegments('a'.repeat(306))).toEqual({ encoding: 'GSM-7', segments: 2 });
    expect(smsSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', segments: 1 }); // two septets each
    expect(smsSegments('á' + 'a'.repeat(69))).toEqual({ encoding: 'UCS-2', segments: 1 });
    expect(smsSegments('á' + 'a'.repeat(70))).toEqual({ encoding: 'UCS-2', segments: 2 });
  });

  it('folds look-alikes so one accent does not halve the message', () => {
    const spanish = '¿Qué tipo de problema es? Vehículo, árbol, recolección, ñandú — “ok”…';
    expect(isGsm7(spanish)).toBe(false);
    const folded = foldToGsm7(spanish);
    expect(folded).toBe('¿Qué tipo de problema es? Vehiculo, arbol, recoleccion, ñandu - "ok"...');
    expect(isGsm7(folded)).toBe(true);
    // Emoji have no look-alike: left as they are.
    expect(foldToGsm7('ok 👍')).toBe('ok 👍');
  });
});

describe('common prompts by SMS', () => {
  const prompts = (locale: string): Record<string, Reply[]> => {
    const { i18n, config } = service();
    const t = (key: string, vars: Record<string, string | number> = {}) => i18n.t(locale, key, { city: config.cityName, ...vars });
    const choices = (ids: string[], prefix: string) => ids.map((id) => ({ id, label: t(`${prefix}${id}`) }));
    return {
      menu: [
        { kind: 'text', text: t('greeting') },
        { kind: 'text', text: t('menu.prompt'), choices: choices(['report', 'status', 'idea', 'ideas', 'volunteer'], 'menu.') },
      ],
      category: [{ kind: 'text', text: t('report.ask_category'), choices: choices([...CATEGORIES], 'category.') }],
      place: [{ kind: 'text', text: t('report.ask_place') }],
      description: [{ kind: 'text', text: t('report.ask_description') }],
      photo: [{ kind: 'text', text: t('report.ask_photo'), choices: [{ id: 'skip', label: t('choice.skip') }] }],
      confirm: [
        {
          kind: 'text',
          text: t('report.confirm', {
            category: t('category.streetlight'),
            place: '5th and Main',
            description: 'the light has been out all week',
            photos: t('report.photo_count', { count: 1 }),
          }),
          choices: choices(['send', 'change'], 'report.'),
        },
      ],
      filed: [{ kind: 'text', text: t('report.filed', { ref: 'R-7K3QX' }) }],
      help: [{ kind: 'text', text: t('help.carrier') }],
      optedOut: [{ kind: 'text', text: t('consent.opted_out') }],
      optedIn: [{ kind: 'text', text: t('consent.opted_in') }],
    };
  };

  for (const locale of ['en', 'es']) {
    it(`fit in two segments in ${locale}`, () => {
      const measured = Object.entries(prompts(locale)).map(([name, replies]) => {
        const bodies = renderSmsBodies(replies, service().i18n, locale);
        const segments = bodies.reduce((sum, body) => sum + smsSegments(body).segments, 0);
        return { name, segments, encoding: bodies.map((body) => smsSegments(body).encoding).join('+') };
      });
      console.info(`SMS segments per prompt (${locale}): ${measured.map((m) => `${m.name} ${m.segments} ${m.encoding}`).join(', ')}`);
      for (const { name, segments } of measured) expect(segments, name).toBeLessThanOrEqual(2);
    });
  }
});

describe('a broadcast by SMS', () => {
  it('adds its Yes/No and opt-out line within the room the broadcast limit keeps for them, in every language', async () => {
    const { i18n } = service();
    for (const locale of i18n.locales) {
      const sent: OutboundMessage[][] = [];
      const sms: ChannelAdapter = {
        name: 'sms',
        capabilities: SMS_CAPABILITIES,
        async send(_address, messages) {
          sent.push([...messages]);
          return { state: 'sent' };
        },
      };
      const messenger = createResidentMessenger({ i18n, sms });
      const message = 'x'.repeat(MAX_MESSAGE_LENGTH);
      const choices = [
        { id: 'yes', label: i18n.t(locale, 'volunteer_call.yes') },
        { id: 'no', label: i18n.t(locale, 'volunteer_call.no') },
      ];
      await messenger.send('sms:+15550000001', [{ kind: 'text', text: message, choices }], { purpose: 'broadcast', key: `budget-${locale}`, locale });
      const body = foldToGsm7((sent[0] ?? []).map((m) => m.text).join('\n\n'));
      expect(body, locale).toContain(foldToGsm7(i18n.t(locale, 'broadcast.opt_out_line')));
      console.info(`A broadcast by SMS adds ${body.length - MAX_MESSAGE_LENGTH} characters in ${locale}`);
      expect(body.length - MAX_MESSAGE_LENGTH, locale).toBeLessThanOrEqual(SMS_ADDED_CHARACTERS);
      expect(smsSegments(body).segments, locale).toBeLessThanOrEqual(SMS_BROADCAST_SEGMENTS);
    }
  });
});
