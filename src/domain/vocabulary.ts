/**
 * The words of the product contract (SPEC): intents and the default problem categories.
 * Categories are data a city can extend; these are the defaults the NLU is trained on.
 */

/** Everything the NLU can say a resident wants. `none` means it is not confident. */
export const INTENTS = [
  'report_problem',
  'check_status',
  'submit_idea',
  'find_volunteer',
  'help',
  'greeting',
  'cancel',
  'human',
  'change_language',
  'unsubscribe',
  'subscribe',
  'thanks',
  'delete_my_data',
  // SPEC lets the list grow: looking through other residents' ideas and at one's own volunteer
  // sign-ups were read as submit_idea / find_volunteer and started the wrong conversation.
  'browse_ideas',
  'my_signups',
  'none',
] as const;

export type Intent = (typeof INTENTS)[number];

/** The default problem categories of a 311 report. */
export const CATEGORIES = [
  'pothole',
  'streetlight',
  'graffiti',
  'trash',
  'illegal_dumping',
  'sidewalk',
  'traffic_signal',
  'abandoned_vehicle',
  'tree',
  'water_leak',
  'noise',
  'park',
  'other',
] as const;

export type Category = (typeof CATEGORIES)[number];

export function isIntent(value: string): value is Intent {
  return (INTENTS as readonly string[]).includes(value);
}

export function isCategory(value: string): value is Category {
  return (CATEGORIES as readonly string[]).includes(value);
}
