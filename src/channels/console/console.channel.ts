/**
 * The console channel (`npm run chat`): talk to the bot in a terminal, over the same engine
 * and store as every other channel. Choices show as a numbered list; a line like
 * `/location 40.71 -74.00` shares a GPS point, for trying the report flow.
 */
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { InboundMessage } from '../../core/message.js';
import type { TurnPipeline } from '../../pipeline/turn-pipeline.js';
import type { Translator } from '../../core/i18n.js';
import { channelFacts, type ChannelAdapter, type ChannelCapabilities, type OutboundMessage } from '../channel.js';
import { renderReplies } from '../render.js';

export const CONSOLE_CAPABILITIES: ChannelCapabilities = { buttons: false, maxButtons: 0, maxTextLength: 10_000, media: false, location: true };

/** Reads a console line into a message: text, or `/location LAT LON`. */
export function parseConsoleLine(line: string, address: string, now: Date): InboundMessage {
  const pin = /^\/location\s+(-?\d+(?:\.\d+)?)\s*,?\s+(-?\d+(?:\.\d+)?)$/.exec(line.trim());
  const base = { id: randomUUID(), channel: 'console' as const, address, receivedAt: now };
  if (pin) return { ...base, text: '', location: { lat: Number(pin[1]), lon: Number(pin[2]) } };
  return { ...base, text: line };
}

/** A console adapter that prints what it is asked to send. */
export function createConsoleChannel(output: Writable): ChannelAdapter {
  return {
    name: 'console',
    capabilities: CONSOLE_CAPABILITIES,
    async send(_address, messages) {
      for (const message of messages) output.write(formatOutbound(message));
      return { state: 'sent' };
    },
  };
}

/** Runs a conversation between a terminal and the pipeline until the input ends. */
export async function runConsoleChat(options: { pipeline: TurnPipeline; i18n: Translator; input: Readable; output: Writable; address: string }): Promise<void> {
  const { pipeline, i18n, input, output, address } = options;
  const lines = createInterface({ input, terminal: false });
  output.write('> ');
  for await (const line of lines) {
    if (line.trim().length > 0) {
      const turn = await pipeline.handle(parseConsoleLine(line, address, new Date()), channelFacts(CONSOLE_CAPABILITIES));
      for (const message of renderReplies(turn.replies, CONSOLE_CAPABILITIES, i18n, turn.locale)) output.write(formatOutbound(message));
    }
    output.write('> ');
  }
}

function formatOutbound(message: OutboundMessage): string {
  return `${message.text}\n${message.requestLocation ? '(/location LAT LON shares a point)\n' : ''}`;
}
