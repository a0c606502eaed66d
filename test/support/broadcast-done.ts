/**
 * Waiting for a broadcast to finish in a test: the worker runs on its own, so a test polls the
 * broadcast's status (not a timing assert: a deadline only turns a hang into a failure).
 */
import { broadcastProgress, type BroadcastProgress } from '../../src/staff/broadcasts.js';
import type { Service } from '../../src/service.js';

/** Starts the service's broadcast worker (once) and resolves with the broadcast's progress once it is done. */
export async function broadcastDone(service: Service, id: string, timeoutMs = 60_000): Promise<BroadcastProgress> {
  service.broadcasts.start();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await broadcastProgress(service.store, id);
    if (progress?.status === 'done') return progress;
    if (Date.now() > deadline) throw new Error(`broadcast ${id} did not finish: ${JSON.stringify(progress)}`);
    service.broadcasts.kick();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
