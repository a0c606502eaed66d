/**
 * The main menu: the three jobs plus checking on a report. Anything that is not a menu choice
 * is read as a fresh message, so "pothole on Elm" works here too.
 */
import { defineDialog } from '../src/engine/types.js';
import { ask, choice } from './dialog-kit.js';

const DESTINATIONS = {
  report: 'report-problem',
  status: 'check-status',
  idea: 'submit-idea',
  ideas: 'ideas',
  volunteer: 'volunteer',
} as const;

export const menuDialog = defineDialog({
  id: 'menu',
  version: 1,
  titleKey: 'dialog.menu',
  start: 'choose',
  steps: {
    choose: {
      ask: (ctx) => [
        ask(ctx, 'menu.prompt', undefined, [
          choice(ctx, 'report', 'menu.report'),
          choice(ctx, 'status', 'menu.status'),
          choice(ctx, 'idea', 'menu.idea'),
          choice(ctx, 'ideas', 'menu.ideas'),
          choice(ctx, 'volunteer', 'menu.volunteer'),
        ]),
      ],
      answer: (input, ctx) => {
        // "report I-7K3QX" names an idea, not the menu's "Report a problem": references route.
        if (input.nlu.entities.reference) return { reroute: true };
        const picked = ctx.pick(
          input,
          Object.keys(DESTINATIONS).map((id) => choice(ctx, id, `menu.${id}`)),
        );
        if (picked && picked in DESTINATIONS) return { startDialog: DESTINATIONS[picked as keyof typeof DESTINATIONS] };
        return { reroute: true };
      },
    },
  },
});
