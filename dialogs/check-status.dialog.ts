/**
 * Check on a report: by reference ("status R-7K3QX", "#7K3QX"), or by picking from the
 * resident's own reports. Answers with the status and its history.
 */
import type { ReportSummary, ReportView } from '../src/engine/commands.js';
import { defineDialog, type StepContext } from '../src/engine/types.js';
import type { Choice } from '../src/core/message.js';
import { ask, result, say, str } from './dialog-kit.js';

const MY_REPORTS_SHOWN = 5;

function reportChoices(ctx: StepContext, reports: readonly ReportSummary[]): Choice[] {
  return reports.slice(0, MY_REPORTS_SHOWN).map((report) => ({
    id: report.ref,
    label: ctx.t('status.list_item', { ref: report.ref, category: ctx.t(`category.${report.category}`), status: ctx.t(`status.${report.status}`) }),
  }));
}

export const checkStatusDialog = defineDialog({
  id: 'check-status',
  version: 1,
  titleKey: 'dialog.status',
  start: 'which',
  steps: {
    which: {
      load: (ctx) => (str(ctx.slots.ref) ? null : { command: { type: 'report.listMine', input: {} }, resultSlot: 'mine' }),
      ask: (ctx) => {
        if (str(ctx.slots.ref)) return { skipTo: 'show' };
        const reports = result<{ reports: ReportSummary[] }>(ctx.slots.mine)?.reports ?? [];
        if (reports.length === 0) return [say(ctx, 'status.ask_reference_none')];
        return [ask(ctx, 'status.ask_which', { count: reports.length }, reportChoices(ctx, reports))];
      },
      answer: (input, ctx) => {
        const reference = input.nlu.entities.reference;
        if (reference?.startsWith('R-')) return { to: 'show', set: { ref: reference } };
        const reports = result<{ reports: ReportSummary[] }>(ctx.slots.mine)?.reports ?? [];
        const picked = ctx.pick(input, reportChoices(ctx, reports));
        if (picked) return { to: 'show', set: { ref: picked } };
        if (input.nlu.intent !== 'none' && input.nlu.intent !== 'check_status') return { reroute: true };
        return { retry: 'status.retry_reference' };
      },
    },
    show: {
      load: (ctx) => ({ command: { type: 'report.get', input: { ref: str(ctx.slots.ref) ?? '' } }, resultSlot: 'found' }),
      ask: (ctx) => {
        const report = result<{ report: ReportView | null }>(ctx.slots.found)?.report;
        if (!report) return { finish: true, say: [say(ctx, 'status.not_found', { ref: str(ctx.slots.ref) ?? '' })] };
        const history = report.updates
          .map((update) =>
            ctx
              .t('status.history_item', {
                date: ctx.formatDate(update.at),
                status: update.status ? ctx.t(`status.${update.status}`) : '',
                note: update.note ?? '',
              })
              .trim(),
          )
          .join('\n');
        return {
          finish: true,
          say: [
            say(ctx, 'status.report', {
              ref: report.ref,
              category: ctx.t(`category.${report.category}`),
              place: report.locationText,
              status: ctx.t(`status.${report.status}`),
              date: ctx.formatDate(report.createdAt),
            }),
            ...(history ? [say(ctx, 'status.history', { history })] : []),
          ],
        };
      },
      answer: () => ({ reroute: true }),
    },
  },
});
