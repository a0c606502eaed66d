/**
 * Twilio's inbound webhooks: the form fields we read, their validation, the signature check,
 * and the normalized message an SMS becomes.
 */
import twilio from 'twilio';
import { z } from 'zod';
import type { InboundMessage, MediaRef } from '../../core/message.js';

/** Twilio sends at most 10 media per message. */
const MAX_MEDIA = 10;
/** Longer than any SMS (1,600 characters concatenated); more is not Twilio. */
const MAX_BODY = 5000;

const phone = z.string().regex(/^\+?[0-9]{3,16}$/, 'must be a phone number or short code');

/** The fields of an inbound SMS/MMS webhook that CivicLine reads; the rest are ignored. */
export const inboundSmsForm = z.object({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'must be a Twilio message SID'),
  From: phone,
  To: phone,
  Body: z.string().max(MAX_BODY, `must be at most ${MAX_BODY} characters`).default(''),
  NumMedia: z.coerce.number().int().min(0).max(MAX_MEDIA).default(0),
  /** Set when Twilio's own (Advanced) Opt-Out handled the message and already answered it. */
  OptOutType: z.enum(['STOP', 'START', 'HELP']).optional(),
});

export type InboundSmsForm = z.infer<typeof inboundSmsForm>;

/** The fields of a delivery status callback. */
export const smsStatusForm = z.object({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'must be a Twilio message SID'),
  MessageStatus: z.enum([
    'accepted',
    'scheduled',
    'queued',
    'sending',
    'sent',
    'delivered',
    'undelivered',
    'failed',
    'read',
    'receiving',
    'received',
    'canceled',
    'partially_delivered',
  ]),
  ErrorCode: z.string().max(10).optional(),
});

/** The photos (and other media) of an MMS: `MediaUrlN` with `MediaContentTypeN`. */
export function mediaOf(form: Record<string, unknown>, count: number): MediaRef[] | { error: string } {
  const media: MediaRef[] = [];
  for (let i = 0; i < count; i++) {
    const url = form[`MediaUrl${i}`];
    const contentType = form[`MediaContentType${i}`];
    if (typeof url !== 'string' || !/^https:\/\/\S{1,2000}$/.test(url)) return { error: `MediaUrl${i}: must be an https URL` };
    if (typeof contentType !== 'string' || !/^[\w.+-]+\/[\w.+-]+$/.test(contentType)) return { error: `MediaContentType${i}: must be a media type` };
    media.push({ url, contentType });
  }
  return media;
}

/** The SMS channel's address for a phone number. */
export function smsAddress(phoneNumber: string): string {
  return `sms:${phoneNumber}`;
}

/** The normalized message for a validated webhook. */
export function parseInboundSms(form: InboundSmsForm, media: MediaRef[], receivedAt: Date): InboundMessage {
  return {
    id: form.MessageSid,
    channel: 'sms',
    address: smsAddress(form.From),
    text: form.Body,
    ...(media.length > 0 ? { media } : {}),
    receivedAt,
  };
}

/**
 * Whether a request was signed by Twilio with our auth token. Twilio signs the URL it called,
 * which behind a proxy is the public one, not the one express sees: so the URL is built from
 * PUBLIC_URL when it is set. Uses the twilio library's own check.
 */
export function isSignedByTwilio(options: { authToken: string; signature: string | undefined; url: string; params: Record<string, unknown> }): boolean {
  if (!options.signature) return false;
  return twilio.validateRequest(options.authToken, options.signature, options.url, options.params);
}
