/**
 * The impact numbers on the dashboard's home: what residents asked for and what came of it
 * (Cities of Service measure impact volunteering by outcomes, not by activity). Counts come
 * from the store's indexes; the rest from bounded reads.
 */
import { shownToResidents } from '../domain/idea-visibility.js';
import { CATEGORIES } from '../domain/vocabulary.js';
import type { StatusGroup } from '../domain/records.js';
import type { StaffDeps } from './staff-deps.js';

/** The numbers the home page shows. */
export interface ImpactNumbers {
  reports: {
    total: number;
    byStatusGroup: Record<StatusGroup, number>;
    byCategory: { category: string; count: number }[];
    /** Median hours from report to fixed, over reports fixed; null before the first. */
    medianHoursToFix: number | null;
    fixedMeasured: number;
  };
  ideas: { total: number; supports: number; byStatus: Record<string, number> };
  volunteering: { openRoles: number; spots: number; spotsFilled: number; signups: number; waitlisted: number };
  broadcasts: { total: number; sent: number; answered: number; signedUp: number };
}

const READ_LIMIT = 10_000;

/** Computes the impact numbers now. */
export async function impactNumbers(deps: Pick<StaffDeps, 'store'>): Promise<ImpactNumbers> {
  const { store } = deps;
  const groups = ['open', 'fixed', 'closed'] as const;
  const byStatusGroup = Object.fromEntries(
    await Promise.all(groups.map(async (group) => [group, await store.reports.count({ field: 'statusGroup', equals: group })] as const)),
  ) as Record<StatusGroup, number>;
  const byCategory = (
    await Promise.all(CATEGORIES.map(async (category) => ({ category, count: await store.reports.count({ field: 'category', equals: category }) })))
  )
    .filter((entry) => entry.count > 0)
    .sort((a, b) => b.count - a.count);
  const fixed = await store.reports.find({ field: 'statusGroup', equals: 'fixed' }, { order: 'desc', limit: READ_LIMIT });
  const hoursToFix = fixed.flatMap((r) => (r.fixedAt ? [(r.fixedAt.getTime() - r.createdAt.getTime()) / 3_600_000] : []));

  // Hidden and merged ideas are not counted (a merged idea's supporters count on the kept one).
  const ideas = (await store.ideas.find({ field: 'kind', equals: 'idea' }, { limit: READ_LIMIT })).filter(shownToResidents);
  const supports = (await Promise.all(ideas.map((idea) => store.ideaSupports.count({ field: 'ideaId', equals: idea._id })))).reduce((a, b) => a + b, 0);
  const ideasByStatus: Record<string, number> = { new: 0, under_review: 0, accepted: 0, not_planned: 0 };
  for (const idea of ideas) ideasByStatus[idea.status] = (ideasByStatus[idea.status] ?? 0) + 1;

  const roles = [
    ...(await store.roles.find({ field: 'status', equals: 'open' }, { limit: READ_LIMIT })),
    ...(await store.roles.find({ field: 'status', equals: 'closed' }, { limit: READ_LIMIT })),
  ];
  let spots = 0;
  let spotsFilled = 0;
  let signups = 0;
  let waitlisted = 0;
  for (const role of roles) {
    const ofRole = await store.signups.find({ field: 'roleId', equals: role._id }, { limit: READ_LIMIT });
    const confirmed = ofRole.filter((s) => s.status === 'confirmed').length;
    spots += role.capacity;
    spotsFilled += Math.min(confirmed, role.capacity);
    signups += confirmed;
    waitlisted += ofRole.filter((s) => s.status === 'waitlisted').length;
  }

  const broadcasts = await store.broadcasts.find({ field: 'kind', equals: 'broadcast' }, { limit: READ_LIMIT });
  let sent = 0;
  let answered = 0;
  let signedUp = 0;
  for (const broadcast of broadcasts) {
    for (const channel of ['sms', 'telegram', 'webchat', 'web'] as const) {
      for (const state of ['sent', 'delivered'] as const)
        sent += await store.deliveries.count({ field: 'bucket', equals: `${broadcast._id}|${state}|${channel}` });
    }
    const answers = await store.deliveries.find({ field: 'answeredIn', equals: broadcast._id }, { limit: 100_000 });
    answered += answers.length;
    signedUp += answers.filter((d) => d.answer === 'confirmed' || d.answer === 'waitlisted').length;
  }

  return {
    reports: {
      total: byStatusGroup.open + byStatusGroup.fixed + byStatusGroup.closed,
      byStatusGroup,
      byCategory,
      medianHoursToFix: median(hoursToFix),
      fixedMeasured: hoursToFix.length,
    },
    ideas: { total: ideas.length, supports, byStatus: ideasByStatus },
    volunteering: { openRoles: roles.filter((r) => r.status === 'open').length, spots, spotsFilled, signups, waitlisted },
    broadcasts: { total: broadcasts.length, sent, answered, signedUp },
  };
}

/** The median of some numbers (the mean of the middle two for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
