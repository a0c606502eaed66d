/**
 * Delete my data: says what will be deleted and what is kept (reports stay for the city, reduced
 * to the kind of problem and the place, without the resident's words or contact), then asks.
 * What the deletion does is src/pipeline/erasure.ts.
 */
import { defineDialog } from '../src/engine/types.js';
import { answerYesNo, ask, say, yesNoChoices } from './dialog-kit.js';

export const deleteDataDialog = defineDialog({
  id: 'delete-data',
  version: 1,
  titleKey: 'dialog.delete_data',
  start: 'confirm',
  steps: {
    confirm: {
      ask: (ctx) => [ask(ctx, 'delete.confirm', undefined, yesNoChoices(ctx, 'delete.yes', 'delete.no'))],
      answer: (input, ctx) => {
        const answer = answerYesNo(input, ctx, yesNoChoices(ctx, 'delete.yes', 'delete.no'));
        if (answer === 'no') return { finish: true, say: [say(ctx, 'delete.kept')] };
        if (answer !== 'yes') return { retry: 'retry.yes_no' };
        return { run: { type: 'resident.deleteData', input: {} }, resultSlot: 'deleted', then: 'done' };
      },
    },
    done: {
      ask: (ctx) => ({ finish: true, say: [say(ctx, 'delete.done')] }),
      answer: () => ({ reroute: true }),
    },
  },
});
