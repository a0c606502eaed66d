/**
 * Residents who asked for a person (or got stuck): the open requests, and closing one once
 * someone has picked it up. The stored id contains the resident's address, so staff (and
 * URLs) use a hash of it instead.
 */
import { createHash } from 'node:crypto';
import type { HandoffRecord } from '../domain/records.js';
import { recordAudit } from './audit-log.js';
import { StaffError, type Actor, type StaffDeps } from './staff-deps.js';

/** Open requests are few: they are read and matched by their hashed id. */
const OPEN_READ_LIMIT = 10_000;
const LIST_LIMIT = 200;

/** The id staff use for a hand-off request: a hash of the stored one. */
export function handoffId(handoff: HandoffRecord): string {
  return createHash('sha256').update(handoff._id).digest('base64url').slice(0, 16);
}

/** Hand-off requests with a status, newest first. */
export function listHandoffs(deps: Pick<StaffDeps, 'store'>, status: HandoffRecord['status']): Promise<HandoffRecord[]> {
  return deps.store.handoffs.find({ field: 'status', equals: status }, { order: 'desc', limit: LIST_LIMIT });
}

/** Closes an open request by its staff id (audited); a StaffError 404 when none is open with it. */
export async function closeHandoff(deps: Pick<StaffDeps, 'store'>, id: string, actor: Actor): Promise<HandoffRecord> {
  const open = await deps.store.handoffs.find({ field: 'status', equals: 'open' }, { limit: OPEN_READ_LIMIT });
  const handoff = open.find((candidate) => handoffId(candidate) === id);
  if (!handoff) throw new StaffError(404, 'No open hand-off request with that id (someone may have closed it already)');
  const closed = await deps.store.handoffs.upsert({ ...handoff, status: 'closed' });
  await recordAudit(deps.store, { actor: actor.username, action: 'handoff.close', target: id });
  return closed;
}
