/**
 * Test harness: the real service (a real store: a temp folder, or a fresh MongoDB database in the
 * `mongodb` project; real locales, NLU and dialogs)
 * and a conversation helper that talks to it the way a channel does, rendering replies for the
 * capabilities given, so transcripts read as a resident would see them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createService, type Service, type ServiceOverrides } from '../../src/service.js';
import type { ChannelCapabilities, OutboundMessage } from '../../src/channels/channel.js';
import { freshTestStore } from './test-store.js';
import { channelFacts } from '../../src/channels/channel.js';
import { renderReplies } from '../../src/channels/render.js';
import type { ChannelName, GeoPoint, InboundMessage, MediaRef } from '../../src/core/message.js';

/** A channel like SMS: no buttons, no location, photos (MMS). */
export const SMS_LIKE: ChannelCapabilities = { buttons: false, maxButtons: 0, maxTextLength: 1600, media: true, location: false };
/** A channel like the web page: buttons and location, no uploads. */
export const WEB_LIKE: ChannelCapabilities = { buttons: true, maxButtons: 13, maxTextLength: 4000, media: false, location: true };

/** Starts the service on a fresh data folder; `close` stops it and deletes the folder. */
export async function startTestService(
  env: Record<string, string> = {},
  overrides: ServiceOverrides = {},
): Promise<{ service: Service; config: Config; dataDir: string; close(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civicline-test-'));
  const store = freshTestStore();
  const config = loadConfig({ DATA_DIR: dataDir, CITY_NAME: 'Springfield', LOG_LEVEL: 'silent', ...store.env, ...env });
  const service = await createService(config, pino({ level: 'silent' }), overrides);
  return {
    service,
    config,
    dataDir,
    async close() {
      await service.close();
      await store.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One service for a whole test file: started before its tests, stopped after. Returns a getter,
 * since the service exists only once `beforeAll` has run.
 */
export function useTestService(env: Record<string, string> = {}): () => Service {
  let started: Awaited<ReturnType<typeof startTestService>> | undefined;
  beforeAll(async () => {
    started = await startTestService(env);
  });
  afterAll(() => started?.close());
  return () => {
    if (!started) throw new Error('The test service is not started yet');
    return started.service;
  };
}

/** What a resident can send in one message. */
export type Say = string | { text?: string; choice?: string; location?: GeoPoint; media?: MediaRef[]; id?: string; at?: Date };

/** A resident talking to the service through the pipeline, as one channel would. */
export class TestConversation {
  /** Every message the bot sent, in order. */
  readonly received: OutboundMessage[] = [];
  private clock: number;

  constructor(
    private readonly service: Service,
    readonly address: string,
    private readonly capabilities: ChannelCapabilities = SMS_LIKE,
    start: Date = new Date('2026-11-20T15:00:00Z'),
  ) {
    this.clock = start.getTime();
  }

  /** Sends a message; returns the bot's answer as one string (messages joined by a blank line). */
  async send(say: Say): Promise<string> {
    const messages = await this.sendRaw(say);
    return messages.map((m) => m.text).join('\n\n');
  }

  /** Sends a message; returns the rendered messages. */
  async sendRaw(say: Say): Promise<OutboundMessage[]> {
    const message = this.message(say);
    const turn = await this.service.pipeline.handle(message, channelFacts(this.capabilities));
    const rendered = renderReplies(turn.replies, this.capabilities, this.service.i18n, turn.locale);
    this.received.push(...rendered);
    return rendered;
  }

  /** Moves this resident's clock forward (time away from the conversation). */
  wait(ms: number): void {
    this.clock += ms;
  }

  /** The inbound message for `say`, with a fresh id and the conversation's clock. */
  message(say: Say): InboundMessage {
    const spec = typeof say === 'string' ? { text: say } : say;
    this.clock += 1000;
    const channel = this.address.split(':')[0] as ChannelName;
    return {
      id: spec.id ?? randomUUID(),
      channel,
      address: this.address,
      text: spec.text ?? '',
      ...(spec.choice ? { choice: spec.choice } : {}),
      ...(spec.location ? { location: spec.location } : {}),
      ...(spec.media ? { media: spec.media } : {}),
      receivedAt: spec.at ?? new Date(this.clock),
    };
  }
}

let counter = 0;
/** A fresh SMS-style address per test. */
export function smsAddress(): string {
  counter += 1;
  return `sms:+1555${String(Date.now() % 1_000_000).padStart(6, '0')}${counter}`;
}

/** The report reference in a reply, or throws. */
export function referenceIn(text: string, prefix = 'R'): string {
  const match = new RegExp(`\\b${prefix}-[23456789A-HJKMNP-Z]{5}\\b`).exec(text);
  if (!match) throw new Error(`No ${prefix}- reference in: ${text}`);
  return match[0];
}
