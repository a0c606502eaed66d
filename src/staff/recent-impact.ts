/**
 * The volunteering impact the dashboard's home shows, computed at most once every few minutes
 * per instance. The full computation (`volunteerImpact`) reads every sign-up of the last 12
 * months: seconds for a city with 100,000 of them, too much to pay on each visit to the home page.
 * The home page says when its figures were computed; the impact page (`/admin/impact`) and its
 * API always compute afresh, so a coordinator who needs this minute's numbers has them.
 *
 * Visits while a computation runs wait for it rather than start another, and a computation
 * that fails is forgotten, so the next visit tries again.
 */
import { impactRange, volunteerImpact, type ImpactDeps, type VolunteerImpact } from './volunteer-impact.js';

/** How long the home page's volunteering figures are shown before they are computed again. */
export const HOME_IMPACT_FRESH_MS = 5 * 60_000;

/** The figures and the instant they were computed. */
export interface ImpactSnapshot {
  impact: VolunteerImpact;
  computedAt: Date;
}

export class RecentImpact {
  private held: { range: string; computedAt: Date; snapshot: Promise<ImpactSnapshot> } | undefined;

  constructor(
    private readonly deps: ImpactDeps,
    private readonly freshForMs: number = HOME_IMPACT_FRESH_MS,
  ) {}

  /** The last 12 months' impact as of at most `freshForMs` before `now`. */
  async snapshot(now: Date = new Date()): Promise<ImpactSnapshot> {
    const range = impactRange({}, this.deps.config.cityTimeZone, now);
    // The range moves at midnight in the city: yesterday's figures are not today's.
    const key = `${range.from}/${range.to}`;
    const held = this.held;
    if (held && held.range === key && now.getTime() - held.computedAt.getTime() < this.freshForMs) return held.snapshot;
    const computedAt = now;
    const snapshot = volunteerImpact(this.deps, range, now).then((impact) => ({ impact, computedAt }));
    const entry = { range: key, computedAt, snapshot };
    this.held = entry;
    snapshot.catch(() => {
      if (this.held === entry) this.held = undefined;
    });
    return snapshot;
  }
}
