/**
 * What the staff-side services work with: the store, the notifier that reaches residents, the
 * command runner (sign-ups share its per-role lock), the settings and the service's clock.
 */
import type { Config } from '../config.js';
import type { CommandRunner } from '../pipeline/command-runner.js';
import type { Translator } from '../core/i18n.js';
import type { StaffRole } from '../domain/records.js';
import type { Store } from '../store/store.port.js';
import type { ResidentNotifier } from './resident-notifier.js';
import type { JobScheduler } from './job-scheduler.js';

/** The parts a staff-side service needs. */
export interface StaffDeps {
  store: Store;
  notifier: ResidentNotifier;
  runner: CommandRunner;
  i18n: Translator;
  config: Pick<
    Config,
    'defaultLocale' | 'cityTimeZone' | 'reportFollowUpHours' | 'handoffIdleMs' | 'fixSurveyDays' | 'duplicateRadiusM' | 'ideaSupportThreshold'
  >;
  /** Runs persisted outbound work (staff replies...): kicked when staff schedule some. */
  jobs: Pick<JobScheduler, 'kick'>;
}

/** Who did something, for the audit log and the records they change. */
export interface Actor {
  /** The staff username, or `admin-token`. */
  username: string;
  role: StaffRole;
}

/** An expected refusal with a status code and a message for staff (unknown reference, bad status...). */
export class StaffError extends Error {
  /** The message is meant for the caller (the HTTP error handler shows it). */
  readonly expose = true;

  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'StaffError';
  }
}
