/**
 * A resident's reply to a status update on their report ("still broken", a new photo): added
 * to the report as their update, for staff to see. Started by the engine when a reply follows
 * an update (the conversation's `followUp`).
 */
import type { MediaRef } from '../src/core/message.js';
import { defineDialog } from '../src/engine/types.js';
import { result, say, str } from './dialog-kit.js';

export const reportFollowUpDialog = defineDialog({
  id: 'report-follow-up',
  version: 1,
  titleKey: 'dialog.report_follow_up',
  start: 'add',
  steps: {
    add: {
      load: (ctx) => ({
        command: {
          type: 'report.addResidentUpdate',
          input: {
            ref: str(ctx.slots.ref) ?? '',
            text: str(ctx.slots.text) ?? '',
            ...(Array.isArray(ctx.slots.media) ? { media: ctx.slots.media as unknown as MediaRef[] } : {}),
          },
        },
        resultSlot: 'added',
      }),
      ask: (ctx) => {
        const outcome = result<{ outcome: string }>(ctx.slots.added)?.outcome ?? 'not_found';
        return { finish: true, say: [say(ctx, `report_follow_up.${outcome}`, { ref: str(ctx.slots.ref) ?? '' })] };
      },
      answer: () => ({ reroute: true }),
    },
  },
});
