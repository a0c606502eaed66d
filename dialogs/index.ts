/**
 * Every dialog, by id: what the engine is given. Add a dialog by writing its file and listing
 * it here.
 */
import type { DialogDefinition } from '../src/engine/types.js';
import { checkStatusDialog } from './check-status.dialog.js';
import { deleteDataDialog } from './delete-data.dialog.js';
import { ideasDialog } from './ideas.dialog.js';
import { languageDialog } from './language.dialog.js';
import { leaveDialog } from './leave.dialog.js';
import { menuDialog } from './menu.dialog.js';
import { reportProblemDialog } from './report-problem.dialog.js';
import { submitIdeaDialog } from './submit-idea.dialog.js';
import { volunteerDialog } from './volunteer.dialog.js';
import { volunteerCallDialog } from './volunteer-call.dialog.js';
import { reportFollowUpDialog } from './report-follow-up.dialog.js';
import { fixSurveyDialog } from './fix-survey.dialog.js';
import { shiftCheckinDialog } from './shift-checkin.dialog.js';
import { ballotDialog } from './ballot.dialog.js';
import { shiftReminderDialog } from './shift-reminder.dialog.js';

/** The dialogs for a set of locales; `nameOf` gives each locale's name in itself. */
export function createDialogs(locales: readonly string[], nameOf: (locale: string) => string): ReadonlyMap<string, DialogDefinition> {
  const all = [
    menuDialog,
    reportProblemDialog,
    checkStatusDialog,
    submitIdeaDialog,
    ideasDialog,
    volunteerDialog,
    deleteDataDialog,
    volunteerCallDialog,
    reportFollowUpDialog,
    fixSurveyDialog,
    shiftCheckinDialog,
    ballotDialog,
    shiftReminderDialog,
    leaveDialog,
    languageDialog(locales, nameOf),
  ];
  return new Map(all.map((dialog) => [dialog.id, dialog]));
}
