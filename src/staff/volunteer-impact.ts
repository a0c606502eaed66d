/**
 * The impact of volunteering (issue 20), for the impact page, its CSV and the dashboard's home:
 * per role and overall, per month in the city's time zone and over a chosen date range, the
 * volunteers who signed up for shifts that took place, how many distinct residents they were,
 * the hours they gave and what those hours are worth, the role's outcome against its target,
 * and attendance (how many came, how many did not, how many nobody recorded). Cities of Service
 * measure impact volunteering by outcomes and hours, not by sign-ups, so only work that took
 * place counts.
 *
 * What counts (written down in the README too):
 * - A sign-up counts when it is confirmed and its shift took place: the shift is not cancelled,
 *   started within the range and has ended by now. A role with no shifts at all is one event:
 *   its sign-ups count by the role's own start, once the role has ended (its end, or its start
 *   when it has none). A role with shifts is measured by its shifts only.
 * - Hours: `hoursApproved` when a coordinator set it (their word is final, even over a no-show);
 *   else nothing for a no-show; else `hoursReported` (a resident's unapproved hours count, and
 *   are shown apart so a city can tell); else, for a volunteer marked attended with no hours
 *   given, the shift's length, at most DEFAULT_HOURS_CAP (shown apart too); else nothing.
 * - Outcome: the sum of the answers to the role's outcome question (`outcomeReported`) of the
 *   sign-ups that count, in the role's unit, against the role's target. Units differ between
 *   roles, so there is no overall outcome.
 * - Attendance: of the sign-ups that count (their shift has ended), those marked attended or
 *   no-show (by the resident or staff) and those nobody recorded; the no-show rate is of the
 *   known ones.
 *
 * Reads (the store can only find by equality on an index, ordered, with a limit, so every read
 * below is bounded by its limit, and `complete` says whether any read reached it):
 * - roles: 2 reads (status open, closed), each at most ROLES_READ records;
 * - shifts: 1 read per role (roleId → startsAt), at most SHIFTS_PER_ROLE records each;
 * - sign-ups: for each role with a shift that took place in the range, either one read per such
 *   shift (shiftId → createdAt, at most SIGNUPS_PER_SHIFT each) when it has at most
 *   PER_SHIFT_READS of them, or one read of the role's sign-ups (roleId → createdAt, at most
 *   SIGNUPS_PER_ROLE). So a role read costs at most PER_SHIFT_READS small reads or one large one.
 * For a city with 10,000 shifts and 100,000 sign-ups, all in the range, that is at most
 * 2 + R + R' reads (R roles, R' of them active) returning every shift and sign-up once: about
 * 110,000 records, folded role by role, so only one role's sign-ups are held at a time (plus a
 * set of distinct addresses per role and month). A shorter range reads fewer sign-ups, as roles
 * and shifts outside it are skipped.
 * Measured on the embedded store (100 roles × 100 shifts × 10 sign-ups, on a shared 2-core machine
 * at load 13-20, so wall times are high): the last 12 months 1.4-4 s, of which reading the 100,000
 * sign-ups is 1-1.6 s and the fold about 0.3 s of CPU; one month (900 shifts, read one by one)
 * 0.2-0.6 s. The home page pays it on each visit, as it already pays `impactNumbers`' reads.
 */
import type { Config } from '../config.js';
import type { ShiftRecord, SignupRecord, VolunteerRoleRecord } from '../domain/records.js';
import { fromCityLocalInput, isRealDay, toCityLocalInput } from '../domain/city-time.js';
import type { StaffDeps } from './staff-deps.js';
import { StaffError } from './staff-deps.js';
import { csvLine } from './csv.js';

/** Roles read per status (open, closed). */
export const ROLES_READ = 2_000;
/** Shifts read per role, newest first. */
export const SHIFTS_PER_ROLE = 10_000;
/** Sign-ups read per shift. */
export const SIGNUPS_PER_SHIFT = 5_000;
/** Sign-ups read per role, when its shifts are read together. */
export const SIGNUPS_PER_ROLE = 50_000;
/** A role with more shifts in the range than this has its sign-ups read in one read by role. */
export const PER_SHIFT_READS = 50;
/** The most hours an attended shift with no hours given counts (a two-day event is not 48 volunteer hours). */
export const DEFAULT_HOURS_CAP = 12;
/** The longest range, in months: the page lists every month of it. */
export const MAX_RANGE_MONTHS = 60;
/** The months the dashboard's home and the default range cover, the current one last. */
export const IMPACT_MONTHS = 12;

const HOUR_MS = 3_600_000;

/** The numbers of one group of sign-ups (a month, a role, everything). */
export interface ImpactFigures {
  /** Confirmed sign-ups whose shift took place. */
  volunteers: number;
  /** The distinct residents among them. */
  distinctVolunteers: number;
  /** Hours given: approved, else reported, else the shift's length for an attended volunteer. */
  hours: number;
  /** The part of `hours` a coordinator approved. */
  hoursApproved: number;
  /** The part residents reported that nobody approved. */
  hoursUnapproved: number;
  /** The part counted from the shift's length (marked attended, no hours given). */
  hoursFromShiftLength: number;
  /** `hours` × the value of a volunteer hour (VOLUNTEER_HOUR_VALUE). */
  hoursValue: number;
  attended: number;
  noShow: number;
  /** Sign-ups whose attendance nobody recorded. */
  attendanceUnknown: number;
  /** `noShow / (attended + noShow)`, 0 to 1; null when attendance is known for none. */
  noShowRate: number | null;
}

/** A role's outcome over the range, in its unit. */
export interface OutcomeFigures {
  unit: string;
  /** The sum of the answers. */
  reported: number;
  /** How many volunteers answered. */
  answers: number;
  target: number | null;
  /** `reported / target`; null without a target. */
  shareOfTarget: number | null;
}

/** One month's numbers (`YYYY-MM`, in the city's time zone). */
export type MonthFigures = { month: string } & ImpactFigures;

/** One role's numbers over the range, and per month. */
export interface RoleImpact extends ImpactFigures {
  roleId: string;
  title: string;
  status: VolunteerRoleRecord['status'];
  /** Shifts (or the role itself, without shifts) that took place in the range. */
  shiftsHeld: number;
  outcome: OutcomeFigures | null;
  months: (MonthFigures & { outcomeReported: number | null })[];
}

/** Everything the impact page shows. */
export interface VolunteerImpact {
  /** The range, inclusive days in the city's time zone. */
  range: { from: string; to: string };
  timeZone: string;
  hourValue: number;
  overall: ImpactFigures & { shiftsHeld: number };
  /** Every month of the range, oldest first. */
  months: MonthFigures[];
  /** The roles with a shift that took place in the range, most hours first. */
  roles: RoleImpact[];
  /** False when a read reached its limit: the numbers are then a lower bound. */
  complete: boolean;
}

/** A range resolved to instants: shifts starting in `[start, before)` count, by `months`. */
export interface ImpactRange {
  from: string;
  to: string;
  start: Date;
  before: Date;
  months: string[];
  /** The instant each of `months` starts in the city: a shift's month is found among them, not by formatting its date. */
  monthStarts: Date[];
}

/** What the impact needs: the store and the city's settings. */
export interface ImpactDeps {
  store: StaffDeps['store'];
  config: Pick<Config, 'cityTimeZone' | 'volunteerHourValue'>;
}

/**
 * The range of `from` to `to` (inclusive `YYYY-MM-DD` days in the city's time zone), or by
 * default the last IMPACT_MONTHS months up to today; a 400 StaffError for a day that does not
 * exist, an end before the start, or more than MAX_RANGE_MONTHS months.
 */
export function impactRange(input: { from?: string | undefined; to?: string | undefined }, timeZone: string, now: Date): ImpactRange {
  const today = toCityLocalInput(now, timeZone).slice(0, 10);
  const to = input.to ?? today;
  const from = input.from ?? `${addMonths(today.slice(0, 7), -(IMPACT_MONTHS - 1))}-01`;
  for (const [name, day] of [
    ['from', from],
    ['to', to],
  ] as const) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
    if (!match || !isRealDay(Number(match[1]), Number(match[2]), Number(match[3]))) {
      throw new StaffError(400, `Invalid request. ${name}: must be a real date like 2026-05-02`);
    }
  }
  if (to < from) throw new StaffError(400, 'Invalid request. to: must be on or after from');
  const months = monthsBetween(from.slice(0, 7), to.slice(0, 7));
  if (months.length > MAX_RANGE_MONTHS) throw new StaffError(400, `Invalid request. to: the range can cover at most ${MAX_RANGE_MONTHS} months`);
  const start = fromCityLocalInput(`${from}T00:00`, timeZone);
  const before = fromCityLocalInput(`${nextDay(to)}T00:00`, timeZone);
  const monthStarts = months.map((month) => fromCityLocalInput(`${month}-01T00:00`, timeZone));
  if (!start || !before || monthStarts.some((at) => at === null)) throw new StaffError(400, 'Invalid request. from, to: must be real dates');
  return { from, to, start, before, months, monthStarts: monthStarts as Date[] };
}

/** Reads the roles, shifts and sign-ups of the range through indexes, bounded, and folds them role by role. */
export async function volunteerImpact(deps: ImpactDeps, range: ImpactRange, now: Date = new Date()): Promise<VolunteerImpact> {
  const { store, config } = deps;
  const [open, closed] = await Promise.all([
    store.roles.find({ field: 'status', equals: 'open' }, { order: 'desc', limit: ROLES_READ }),
    store.roles.find({ field: 'status', equals: 'closed' }, { order: 'desc', limit: ROLES_READ }),
  ]);
  let complete = open.length < ROLES_READ && closed.length < ROLES_READ;
  const tally = new ImpactTally(range, config, now);
  // One role at a time: its sign-ups are folded and dropped before the next role's are read.
  for (const role of [...open, ...closed]) {
    const shifts = await store.shifts.find({ field: 'roleId', equals: role._id }, { order: 'desc', limit: SHIFTS_PER_ROLE });
    if (shifts.length >= SHIFTS_PER_ROLE) complete = false;
    const held = tally.heldShifts(shifts);
    if (held.length === 0 && !tally.roleHeld(role, shifts)) continue;
    let signups: SignupRecord[];
    if (shifts.length > 0 && held.length <= PER_SHIFT_READS) {
      const perShift = await Promise.all(
        held.map((shift) => store.signups.find({ field: 'shiftId', equals: shift._id }, { order: 'asc', limit: SIGNUPS_PER_SHIFT })),
      );
      if (perShift.some((list) => list.length >= SIGNUPS_PER_SHIFT)) complete = false;
      signups = perShift.flat();
    } else {
      signups = await store.signups.find({ field: 'roleId', equals: role._id }, { order: 'asc', limit: SIGNUPS_PER_ROLE });
      if (signups.length >= SIGNUPS_PER_ROLE) complete = false;
    }
    tally.addRole(role, shifts, signups);
  }
  return tally.result(complete);
}

/**
 * The folding of roles, their shifts and their sign-ups into the impact numbers: pure, so the
 * rules above are tested apart from the reads.
 */
export class ImpactTally {
  private readonly overall = new Group();
  private readonly months = new Map<string, Group>();
  private readonly roles: { role: VolunteerRoleRecord; total: Group; months: Map<string, Group>; shiftsHeld: number }[] = [];
  private shiftsHeld = 0;
  private readonly monthsOfRange: ReadonlySet<string>;

  constructor(
    private readonly range: ImpactRange,
    private readonly config: ImpactDeps['config'],
    private readonly now: Date,
  ) {
    this.monthsOfRange = new Set(range.months);
    for (const month of range.months) this.months.set(month, new Group());
  }

  /** The role's shifts that took place in the range: not cancelled, started in it, ended by now. */
  heldShifts(shifts: readonly ShiftRecord[]): ShiftRecord[] {
    return shifts.filter((shift) => shift.status !== 'cancelled' && this.tookPlace(shift.startsAt, shift.endsAt));
  }

  /** Whether a role without shifts took place in the range (by its own start and end). */
  roleHeld(role: VolunteerRoleRecord, shifts: readonly ShiftRecord[]): boolean {
    return shifts.length === 0 && this.tookPlace(role.startsAt, role.endsAt ?? role.startsAt);
  }

  /** Folds in one role: its shifts (all of them, or none) and the sign-ups read for them. */
  addRole(role: VolunteerRoleRecord, shifts: readonly ShiftRecord[], signups: readonly SignupRecord[]): void {
    // Each held shift (or the role itself) with its month and length.
    const events = new Map<string, { month: string; lengthHours: number }>();
    const held = this.heldShifts(shifts);
    for (const shift of held) {
      events.set(shift._id, { month: this.monthOf(shift.startsAt), lengthHours: lengthHours(shift.startsAt, shift.endsAt) });
    }
    if (this.roleHeld(role, shifts)) events.set(role._id, { month: this.monthOf(role.startsAt), lengthHours: lengthHours(role.startsAt, role.endsAt) });
    if (events.size === 0) return;
    const entry = { role, total: new Group(), months: new Map(this.range.months.map((month) => [month, new Group()])), shiftsHeld: events.size };
    this.roles.push(entry);
    this.shiftsHeld += events.size;
    for (const signup of signups) {
      if (signup.status !== 'confirmed' || signup.roleId !== role._id) continue;
      // A sign-up for a shift counts by its shift; one for the whole role only when the role has no shifts.
      const event = events.get(signup.shiftId ?? (shifts.length === 0 ? role._id : ''));
      if (!event || !this.monthsOfRange.has(event.month)) continue;
      const counted = countedSignup(signup, event.lengthHours);
      for (const group of [this.overall, this.months.get(event.month), entry.total, entry.months.get(event.month)]) group?.add(signup.address, counted);
    }
  }

  /** The numbers, roles most hours first. */
  result(complete: boolean): VolunteerImpact {
    const value = this.config.volunteerHourValue;
    const roles = this.roles
      .map(({ role, total, months, shiftsHeld }) => {
        const outcome = role.outcome
          ? {
              unit: role.outcome.unit,
              reported: round(total.outcome),
              answers: total.outcomeAnswers,
              target: role.outcome.target ?? null,
              shareOfTarget: role.outcome.target ? total.outcome / role.outcome.target : null,
            }
          : null;
        return {
          roleId: role._id,
          title: role.title,
          status: role.status,
          shiftsHeld,
          ...total.figures(value),
          outcome,
          months: [...months].map(([month, group]) => ({ month, ...group.figures(value), outcomeReported: role.outcome ? round(group.outcome) : null })),
        };
      })
      .sort((a, b) => b.hours - a.hours || b.volunteers - a.volunteers || a.title.localeCompare(b.title) || a.roleId.localeCompare(b.roleId));
    return {
      range: { from: this.range.from, to: this.range.to },
      timeZone: this.config.cityTimeZone,
      hourValue: value,
      overall: { ...this.overall.figures(value), shiftsHeld: this.shiftsHeld },
      months: [...this.months].map(([month, group]) => ({ month, ...group.figures(value) })),
      roles,
      complete,
    };
  }

  /**
   * The month of an instant within the range: the last month that starts at or before it (a
   * binary search over the range's month starts; formatting 10,000 dates in a time zone costs
   * more than the rest of the fold).
   */
  private monthOf(at: Date): string {
    const starts = this.range.monthStarts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (starts[middle]! <= at) low = middle;
      else high = middle - 1;
    }
    return this.range.months[low]!;
  }

  private tookPlace(startsAt: Date, endsAt: Date): boolean {
    return startsAt >= this.range.start && startsAt < this.range.before && endsAt <= this.now;
  }
}

/** What one counted sign-up adds. */
interface CountedSignup {
  hours: number;
  hoursSource: 'approved' | 'unapproved' | 'shift_length' | null;
  attendance: 'attended' | 'no_show' | 'unknown';
  outcome: number | null;
}

/** The columns of the impact CSV, in order. */
export const IMPACT_CSV_COLUMNS = [
  'scope',
  'role',
  'title',
  'month',
  'volunteers',
  'distinct_volunteers',
  'hours',
  'hours_approved',
  'hours_unapproved',
  'hours_from_shift_length',
  'hours_value',
  'attended',
  'no_show',
  'attendance_unknown',
  'no_show_rate',
  'outcome_unit',
  'outcome_reported',
  'outcome_target',
] as const;

/**
 * The impact as CSV, for a city's own reports: a row for everything over the range (`month`
 * empty) and one per month, then each role's row over the range and one per month it had
 * volunteers. Numbers and role titles only: no resident's address or name. Cells go through
 * `csvLine`, so a role title that looks like a formula stays text.
 */
export function volunteerImpactCsv(impact: VolunteerImpact): string {
  const numbers = (f: ImpactFigures): string[] => [
    String(f.volunteers),
    String(f.distinctVolunteers),
    String(f.hours),
    String(f.hoursApproved),
    String(f.hoursUnapproved),
    String(f.hoursFromShiftLength),
    f.hoursValue.toFixed(2),
    String(f.attended),
    String(f.noShow),
    String(f.attendanceUnknown),
    f.noShowRate === null ? '' : String(Math.round(f.noShowRate * 10_000) / 10_000),
  ];
  const lines = [csvLine(IMPACT_CSV_COLUMNS)];
  lines.push(csvLine(['overall', '', '', '', ...numbers(impact.overall), '', '', '']));
  for (const month of impact.months) lines.push(csvLine(['overall', '', '', month.month, ...numbers(month), '', '', '']));
  for (const role of impact.roles) {
    const outcome = (reported: number | null) =>
      role.outcome ? [role.outcome.unit, String(reported ?? 0), role.outcome.target === null ? '' : String(role.outcome.target)] : ['', '', ''];
    lines.push(csvLine(['role', role.roleId, role.title, '', ...numbers(role), ...outcome(role.outcome?.reported ?? null)]));
    for (const month of role.months) {
      if (month.volunteers > 0) lines.push(csvLine(['role', role.roleId, role.title, month.month, ...numbers(month), ...outcome(month.outcomeReported)]));
    }
  }
  return lines.join('');
}

/** The hours, attendance and outcome of a sign-up whose shift took place (the rules at the top). */
export function countedSignup(
  signup: Pick<SignupRecord, 'attendance' | 'hoursApproved' | 'hoursReported' | 'outcomeReported'>,
  shiftHours: number,
): CountedSignup {
  const attendance = signup.attendance ?? 'unknown';
  const approved = amount(signup.hoursApproved);
  const reported = amount(signup.hoursReported);
  const outcome = amount(signup.outcomeReported);
  const hours =
    approved !== null
      ? { hours: approved, hoursSource: 'approved' as const }
      : attendance === 'no_show'
        ? { hours: 0, hoursSource: null }
        : reported !== null
          ? { hours: reported, hoursSource: 'unapproved' as const }
          : attendance === 'attended'
            ? { hours: Math.min(shiftHours, DEFAULT_HOURS_CAP), hoursSource: 'shift_length' as const }
            : { hours: 0, hoursSource: null };
  return { ...hours, attendance, outcome };
}

/** The running numbers of one group. */
class Group {
  volunteers = 0;
  readonly addresses = new Set<string>();
  hours = 0;
  approved = 0;
  unapproved = 0;
  shiftLength = 0;
  attended = 0;
  noShow = 0;
  unknown = 0;
  outcome = 0;
  outcomeAnswers = 0;

  add(address: string, counted: CountedSignup): void {
    this.volunteers++;
    this.addresses.add(address);
    this.hours += counted.hours;
    if (counted.hoursSource === 'approved') this.approved += counted.hours;
    else if (counted.hoursSource === 'unapproved') this.unapproved += counted.hours;
    else if (counted.hoursSource === 'shift_length') this.shiftLength += counted.hours;
    if (counted.attendance === 'attended') this.attended++;
    else if (counted.attendance === 'no_show') this.noShow++;
    else this.unknown++;
    if (counted.outcome !== null) {
      this.outcome += counted.outcome;
      this.outcomeAnswers++;
    }
  }

  figures(hourValue: number): ImpactFigures {
    const known = this.attended + this.noShow;
    return {
      volunteers: this.volunteers,
      distinctVolunteers: this.addresses.size,
      hours: round(this.hours),
      hoursApproved: round(this.approved),
      hoursUnapproved: round(this.unapproved),
      hoursFromShiftLength: round(this.shiftLength),
      hoursValue: Math.round(this.hours * hourValue * 100) / 100,
      attended: this.attended,
      noShow: this.noShow,
      attendanceUnknown: this.unknown,
      noShowRate: known === 0 ? null : this.noShow / known,
    };
  }
}

/** A number someone gave, when it is one that can count (finite, not negative). */
function amount(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

/** Hours between two instants, none when the end is not after the start. */
function lengthHours(startsAt: Date, endsAt: Date | undefined): number {
  return endsAt ? Math.max(0, (endsAt.getTime() - startsAt.getTime()) / HOUR_MS) : 0;
}

/** Hours and outcomes to two decimals: sums of fractions should not print 12.000000000000002. */
function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** `YYYY-MM` plus some months (negative: back). */
function addMonths(month: string, count: number): string {
  const [year, m] = month.split('-').map(Number) as [number, number];
  const date = new Date(Date.UTC(year, m - 1 + count, 1));
  return `${String(date.getUTCFullYear()).padStart(4, '0')}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Every `YYYY-MM` from one to another, inclusive (stops past MAX_RANGE_MONTHS, which is refused). */
function monthsBetween(first: string, last: string): string[] {
  const months: string[] = [];
  for (let month = first; month <= last && months.length <= MAX_RANGE_MONTHS; month = addMonths(month, 1)) months.push(month);
  return months;
}

/** The day after a `YYYY-MM-DD`. */
function nextDay(day: string): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, date + 1)).toISOString().slice(0, 10);
}
