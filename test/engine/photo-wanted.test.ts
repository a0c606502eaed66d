/**
 * Where a conversation takes a photo, from its state alone: in a report in progress and in reply
 * to an update on a report, nowhere else. Pure: states in, answers out.
 */
import { describe, expect, it } from 'vitest';
import { createDialogs } from '../../dialogs/index.js';
import { initialState } from '../../src/engine/advance.js';
import { acceptsPhoto, holdsPhoto, type PhotoTiming } from '../../src/engine/photo-wanted.js';
import type { ActiveFlow, ConversationState, FollowUp } from '../../src/engine/types.js';

const HOUR = 3_600_000;
const timing: PhotoTiming = { dialogs: createDialogs(['en'], () => 'English'), resumePromptAfterMs: HOUR, flowExpiresAfterMs: 24 * HOUR };
const NOW = Date.parse('2026-05-01T12:00:00Z');

function flow(dialog: string, step: string, slots: ActiveFlow['slots'] = {}): ActiveFlow {
  return { dialog, version: timing.dialogs.get(dialog)!.version, step, slots, history: [], failures: 0 };
}

function state(patch: Partial<ConversationState> = {}): ConversationState {
  return { ...initialState('en', NOW - 60_000), ...patch };
}

const update = (until: number): FollowUp => ({ kind: 'report_update', ref: 'R-7K3QX', category: 'pothole', sentAt: NOW - HOUR, until });

describe('acceptsPhoto', () => {
  it('takes a photo in a report in progress, at its photo step or any other', () => {
    expect(acceptsPhoto(state({ flow: flow('report-problem', 'photo') }), NOW, timing)).toBe(true);
    expect(acceptsPhoto(state({ flow: flow('report-problem', 'place') }), NOW, timing)).toBe(true);
  });

  it('takes a photo in reply to an update on a report, within its window', () => {
    expect(acceptsPhoto(state({ followUps: [update(NOW + HOUR)] }), NOW, timing)).toBe(true);
    expect(acceptsPhoto(state({ followUps: [update(NOW - 1)] }), NOW, timing)).toBe(false);
  });

  it('refuses it anywhere else: a new conversation, the menu, another flow, a volunteer call', () => {
    expect(acceptsPhoto(null, NOW, timing)).toBe(false);
    expect(acceptsPhoto(state(), NOW, timing)).toBe(false);
    expect(acceptsPhoto(state({ flow: flow('menu', 'choose') }), NOW, timing)).toBe(false);
    expect(acceptsPhoto(state({ flow: flow('submit-idea', timing.dialogs.get('submit-idea')!.start) }), NOW, timing)).toBe(false);
    const call: FollowUp = { kind: 'volunteer_call', ref: 'V-7K3QX', sentAt: NOW - HOUR, until: NOW + HOUR };
    expect(acceptsPhoto(state({ followUps: [call] }), NOW, timing)).toBe(false);
    // An update's reply counts outside any flow only, as `advance` answers it.
    expect(acceptsPhoto(state({ flow: flow('menu', 'choose'), followUps: [update(NOW + HOUR)] }), NOW, timing)).toBe(false);
  });

  it('refuses it where the report would not go on: left long enough to be asked to resume, expired, or outdated', () => {
    const report = flow('report-problem', 'photo');
    expect(acceptsPhoto(state({ flow: report, lastActiveAt: NOW - 2 * HOUR }), NOW, timing)).toBe(false);
    expect(acceptsPhoto(state({ flow: report, lastActiveAt: NOW - 30 * HOUR }), NOW, timing)).toBe(false);
    expect(acceptsPhoto(state({ flow: { ...report, version: report.version + 1 } }), NOW, timing)).toBe(false);
    expect(acceptsPhoto(state({ flow: { ...report, step: 'no-such-step' } }), NOW, timing)).toBe(false);
    // Put aside by "continue where you left off?": a photo in answer starts the report again with it.
    expect(acceptsPhoto(state({ paused: report, lastActiveAt: NOW - 30 * HOUR }), NOW, timing)).toBe(true);
  });

  it('refuses a state of another schema or of no known shape', () => {
    expect(acceptsPhoto({ ...state({ flow: flow('report-problem', 'photo') }), schema: 99 }, NOW, timing)).toBe(false);
    expect(acceptsPhoto('report-problem', NOW, timing)).toBe(false);
  });
});

describe('holdsPhoto', () => {
  const photos = { photos: [{ url: 'https://bot.example/v3/directline/media/AbCdEfGhIjKlMnOpQrStUv', contentType: 'image/png' }] };

  it('holds a photo a report in progress (or one put aside) still has', () => {
    expect(holdsPhoto(state({ flow: flow('report-problem', 'confirm', photos) }), 'AbCdEfGhIjKlMnOpQrStUv', NOW, timing)).toBe(true);
    expect(holdsPhoto(state({ paused: flow('report-problem', 'confirm', photos) }), 'AbCdEfGhIjKlMnOpQrStUv', NOW, timing)).toBe(true);
  });

  it('lets go of one the flow no longer has, or in a conversation left past the flow expiry', () => {
    expect(holdsPhoto(state({ flow: flow('report-problem', 'confirm', photos) }), 'ZZZZZZZZZZZZZZZZZZZZZZ', NOW, timing)).toBe(false);
    expect(holdsPhoto(state(), 'AbCdEfGhIjKlMnOpQrStUv', NOW, timing)).toBe(false);
    expect(holdsPhoto(state({ flow: flow('report-problem', 'confirm', photos), lastActiveAt: NOW - 25 * HOUR }), 'AbCdEfGhIjKlMnOpQrStUv', NOW, timing)).toBe(
      false,
    );
    expect(holdsPhoto(null, 'AbCdEfGhIjKlMnOpQrStUv', NOW, timing)).toBe(false);
  });
});
