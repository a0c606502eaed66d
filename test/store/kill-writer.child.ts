/**
 * A child process for the kill test: opens the embedded store in the directory given as the
 * first argument and writes forever, printing `<id> <rev>` after each write's promise resolves,
 * until the test kills it with SIGKILL. Every printed line is a write the store acknowledged.
 */
import { openEmbeddedStore } from '../../src/store/embedded.store.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: kill-writer.child.ts <dir>');

const store = await openEmbeddedStore(dir);
await store.conversations.insert({
  _id: 'telegram:kill',
  address: 'telegram:kill',
  state: { step: 0 },
  recentInbound: [],
  transcriptLength: 0,
  updatedAt: new Date(),
});
let rev = 1;
for (let seq = 0; ; seq += 1) {
  const id = `telegram:kill#${seq}`;
  // An insert, then a conditional replace of the conversation: both kinds of LMDB write.
  await store.transcripts.insert({
    _id: id,
    conversationId: 'telegram:kill',
    seq,
    direction: 'in',
    channel: 'telegram',
    text: `message ${seq}`,
    at: new Date(),
  });
  const replaced = await store.conversations.replace(
    {
      _id: 'telegram:kill',
      address: 'telegram:kill',
      state: { step: seq },
      recentInbound: [],
      transcriptLength: seq + 1,
      updatedAt: new Date(),
    },
    rev,
  );
  if (!replaced) throw new Error('replace lost to nobody');
  rev += 1;
  process.stdout.write(`${id} ${rev}\n`);
}
