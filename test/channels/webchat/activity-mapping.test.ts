/**
 * The web chat's two address spaces (issue 16, finding 8): whatever ids arrive, a Direct Line
 * conversation's address is never a Bot Framework conversation's, each kind is told by its address
 * alone, and two Bot Framework conversations never share one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { botFrameworkAddress, directLineAddress, isBotFrameworkAddress, isDirectLineAddress } from '../../../src/channels/webchat/activity-mapping.js';
import { newId } from '../../../src/channels/webchat/direct-line-token.js';
import { MAX_KEY_LENGTH } from '../../../src/store/schemas.js';

/** Ids as channels make them, and as someone picking them to collide would: colons, `bf:`, long ones. */
const id = fc.oneof(
  fc.string({ minLength: 1, maxLength: 30 }),
  fc.stringMatching(/^[a-z]{1,3}(:[a-z0-9]{0,3}){0,3}$/),
  fc.constantFrom('bf', 'bf:', 'bf:emulator', 'bf:emulator:c-1', 'emulator', 'msteams', 'c-1', ':', 'a:b', '19:abc@thread.v2'),
  fc.string({ minLength: 100, maxLength: 200 }),
);

describe('web chat addresses', () => {
  it("keep Direct Line's and the Bot Framework's apart, whatever the ids", () => {
    fc.assert(
      fc.property(id, id, id, (directLineId, channelId, conversationId) => {
        const dl = directLineAddress(directLineId);
        const bf = botFrameworkAddress(channelId, conversationId);
        expect(dl).not.toBe(bf);
        expect([isDirectLineAddress(dl), isBotFrameworkAddress(dl)]).toEqual([true, false]);
        expect([isDirectLineAddress(bf), isBotFrameworkAddress(bf)]).toEqual([false, true]);
        for (const address of [dl, bf]) {
          expect(address.startsWith('webchat:')).toBe(true);
          // Store ids are made of addresses (`<address>#<n>`, `<key>|<address>|consent`...): no
          // longer than web chat addresses were (`webchat:` and 120 characters).
          expect(address.length).toBeLessThanOrEqual(128);
          expect(address.length).toBeLessThan(MAX_KEY_LENGTH - 50);
          expect(address).toMatch(/^[\x20-\x7e]+$/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('give two Bot Framework conversations two addresses', () => {
    fc.assert(
      fc.property(id, id, id, id, (channelA, conversationA, channelB, conversationB) => {
        fc.pre(channelA !== channelB || conversationA !== conversationB);
        expect(botFrameworkAddress(channelA, conversationA)).not.toBe(botFrameworkAddress(channelB, conversationB));
      }),
      { numRuns: 2000 },
    );
    // The ones a naive `<channel>:<conversation>` would have mixed up, kept as they are or hashed.
    expect(botFrameworkAddress('a', 'b:c')).not.toBe(botFrameworkAddress('a:b', 'c'));
    const long = 'x'.repeat(150);
    expect(botFrameworkAddress('a', `b:${long}`)).not.toBe(botFrameworkAddress('a:b', long));
  });

  it("keep the ids Direct Line hands out, and channels' usual ids, readable", () => {
    for (let i = 0; i < 100; i++) {
      const conversationId = newId();
      expect(directLineAddress(conversationId)).toBe(`webchat:${conversationId}`);
    }
    expect(botFrameworkAddress('msteams', '19:abc@thread.v2')).toBe('webchat:bf:msteams:19:abc@thread.v2');
    expect(botFrameworkAddress('emulator', 'c-1')).toBe('webchat:bf:emulator:c-1');
    expect(botFrameworkAddress('msteams', 'x'.repeat(200))).toMatch(/^webchat:bf:[0-9a-f]{64}$/);
  });
});
