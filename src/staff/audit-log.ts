/**
 * The audit log: every staff action, with who, what, which record and when. Details never hold
 * a resident's number or words, only what staff changed (a status, a role's fields...).
 */
import { randomUUID } from 'node:crypto';
import type { AuditEntryRecord } from '../domain/records.js';
import type { Collections } from '../store/store.port.js';

/** Records one staff action. */
export async function recordAudit(
  store: Pick<Collections, 'audit'>,
  entry: { actor: string; action: string; target?: string; details?: Record<string, unknown> },
  at: Date = new Date(),
): Promise<void> {
  await store.audit.insert({
    _id: `A-${at.getTime().toString(36)}-${randomUUID().slice(0, 8)}`,
    actor: entry.actor,
    action: entry.action,
    ...(entry.target ? { target: entry.target } : {}),
    ...(entry.details ? { details: entry.details } : {}),
    kind: 'audit',
    at,
  });
}

/** The latest entries, newest first (optionally one actor's). */
export function listAudit(store: Pick<Collections, 'audit'>, options: { actor?: string; limit?: number } = {}): Promise<AuditEntryRecord[]> {
  const where = options.actor ? { field: 'actor' as const, equals: options.actor } : { field: 'kind' as const, equals: 'audit' };
  return store.audit.find(where, { order: 'desc', limit: Math.min(options.limit ?? 100, 1000) });
}
