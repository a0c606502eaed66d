/**
 * The one renderer: fits the engine's replies to what a channel can show (botbuilder's
 * `ChoiceFactory.forChannel`, Rasa's numbered-list fallback). The same choices become buttons
 * where there are buttons and "1. ... Reply 1-3." where there are not. No channel names here:
 * only capabilities.
 */
import type { Reply } from '../core/message.js';
import type { Translator } from '../core/i18n.js';
import type { ChannelCapabilities, OutboundMessage } from './channel.js';

/** Renders replies for a channel with the given capabilities, in the resident's language. */
export function renderReplies(replies: readonly Reply[], capabilities: ChannelCapabilities, i18n: Translator, locale: string): OutboundMessage[] {
  const rendered: OutboundMessage[] = [];
  for (const reply of replies) {
    if (reply.kind === 'image') {
      if (capabilities.media) rendered.push({ text: reply.caption ?? '', imageUrl: reply.url });
      else rendered.push(...split(`${reply.caption ? `${reply.caption}\n` : ''}${reply.url}`, capabilities.maxTextLength).map((text) => ({ text })));
      continue;
    }
    const choices = reply.choices ?? [];
    const asButtons = choices.length > 0 && capabilities.buttons && choices.length <= capabilities.maxButtons;
    const text =
      choices.length > 0 && !asButtons
        ? withNumberedChoices(
            reply.text,
            choices.map((c) => c.label),
            i18n,
            locale,
          )
        : reply.text;
    const parts = split(text, capabilities.maxTextLength).map((part): OutboundMessage => ({ text: part }));
    const last = parts[parts.length - 1];
    if (last) {
      if (asButtons) last.buttons = choices;
      if (reply.requestLocation && capabilities.location) last.requestLocation = true;
      if (reply.requestPhoto && capabilities.media) last.requestPhoto = true;
    }
    rendered.push(...parts);
  }
  return rendered;
}

function withNumberedChoices(text: string, labels: readonly string[], i18n: Translator, locale: string): string {
  const list = labels.map((label, i) => `${i + 1}. ${label}`).join('\n');
  return `${text}\n${list}\n${i18n.t(locale, 'render.reply_with_number', { count: labels.length })}`;
}

/**
 * Splits text into parts of at most `max` characters, at a paragraph, line, sentence or word
 * boundary when there is one in the second half of the part (so parts are not tiny).
 */
export function split(text: string, max: number): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while ([...rest].length > max) {
    const window = [...rest].slice(0, max).join('');
    const cut = bestBreak(window, max);
    parts.push(window.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0 || parts.length === 0) parts.push(rest);
  return parts;
}

function bestBreak(window: string, max: number): number {
  for (const separator of ['\n\n', '\n', '. ', '? ', '! ', ' ']) {
    const at = window.lastIndexOf(separator);
    if (at >= max / 2) return at + separator.length;
  }
  return window.length;
}
