import { describe, expect, it } from 'vitest';
import { renderReplies, split } from '../../src/channels/render.js';
import { createTranslator } from '../../src/core/i18n.js';
import type { ChannelCapabilities } from '../../src/channels/channel.js';
import type { Reply } from '../../src/core/message.js';

const i18n = createTranslator(
  [
    {
      locale: 'en',
      keywords: { optOut: [], optIn: [], help: [], menu: [], back: [], exit: [], languageNames: [] },
      messages: { 'render.reply_with_number': { one: 'Reply 1.', other: 'Reply 1-{count}.' } },
    },
  ],
  'en',
);
const question: Reply = {
  kind: 'text',
  text: 'Which?',
  choices: [
    { id: 'a', label: 'Apples' },
    { id: 'b', label: 'Pears' },
    { id: 'c', label: 'Plums' },
  ],
  requestLocation: true,
};
const buttons: ChannelCapabilities = { buttons: true, maxButtons: 3, maxTextLength: 100, media: true, location: true };
const plain: ChannelCapabilities = { buttons: false, maxButtons: 0, maxTextLength: 100, media: false, location: false };

describe('renderReplies', () => {
  it('gives buttons where the channel has them', () => {
    expect(renderReplies([question], buttons, i18n, 'en')).toEqual([{ text: 'Which?', buttons: question.choices, requestLocation: true }]);
  });

  it('numbers the choices where it has none, in the same order the engine matches numbers', () => {
    expect(renderReplies([question], plain, i18n, 'en')).toEqual([{ text: 'Which?\n1. Apples\n2. Pears\n3. Plums\nReply 1-3.' }]);
  });

  it('numbers the choices when there are more than the channel can show as buttons', () => {
    const many = { ...question, choices: [...question.choices!, { id: 'd', label: 'Figs' }] };
    expect(renderReplies([many], buttons, i18n, 'en')[0]).toMatchObject({ text: expect.stringContaining('4. Figs\nReply 1-4.') });
  });

  it('turns an image into a link where the channel has no media', () => {
    expect(renderReplies([{ kind: 'image', url: 'https://x.test/a.jpg', caption: 'Fixed!' }], plain, i18n, 'en')).toEqual([
      { text: 'Fixed!\nhttps://x.test/a.jpg' },
    ]);
  });
});

describe('split', () => {
  it('keeps short text whole and splits long text at sentence or word boundaries', () => {
    expect(split('Short.', 20)).toEqual(['Short.']);
    const parts = split('One sentence here. Another sentence there. And a third one.', 25);
    expect(parts).toEqual(['One sentence here.', 'Another sentence there.', 'And a third one.']);
    expect(split('x'.repeat(50), 20)).toEqual(['x'.repeat(20), 'x'.repeat(20), 'x'.repeat(10)]);
  });

  it('never cuts a surrogate pair (emoji) in half', () => {
    const parts = split('🕳️'.repeat(30), 7);
    expect(parts.join('')).toBe('🕳️'.repeat(30));
    for (const part of parts) expect(part.isWellFormed()).toBe(true);
  });
});
