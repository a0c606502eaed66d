/**
 * Demo volunteer roles, seeded on the first start of the embedded default so the volunteer
 * flow is alive out of the box. They are marked `demo` and shown as such to residents; the
 * words are in `locales/<lang>/demo-roles.json`, the facts (when, where, how many) are here.
 */
import type { VolunteerRoleRecord } from './records.js';

const DAY = 24 * 60 * 60 * 1000;

interface DemoRoleFacts {
  key: string;
  ref: string;
  interests: string[];
  neighbourhood: string;
  place: string;
  daysFromNow: number;
  hour: number;
  capacity: number;
  schedule?: string;
}

const FACTS: DemoRoleFacts[] = [
  {
    key: 'park-cleanup',
    ref: 'V-DEM2P',
    interests: ['environment', 'outdoors'],
    neighbourhood: 'Riverside',
    place: 'Riverside Park, north gate',
    daysFromNow: 9,
    hour: 9,
    capacity: 20,
  },
  {
    key: 'tree-watering',
    ref: 'V-DEM3T',
    interests: ['environment'],
    neighbourhood: 'Eastside',
    place: 'Your own block',
    daysFromNow: 5,
    hour: 18,
    capacity: 12,
  },
  {
    key: 'food-bank',
    ref: 'V-DEM4F',
    interests: ['food', 'community'],
    neighbourhood: 'Downtown',
    place: 'City Food Bank, 12 Market St',
    daysFromNow: 3,
    hour: 10,
    capacity: 2,
  },
  {
    key: 'reading-buddy',
    ref: 'V-DEM5R',
    interests: ['education', 'youth'],
    neighbourhood: 'Downtown',
    place: 'Central Library',
    daysFromNow: 7,
    hour: 15,
    capacity: 8,
  },
  {
    key: 'senior-checkin',
    ref: 'V-DEM6S',
    interests: ['seniors', 'community'],
    neighbourhood: 'Westside',
    place: 'By phone, from home',
    daysFromNow: 4,
    hour: 11,
    capacity: 15,
  },
];

type DemoText = Record<string, { title: string; description: string }>;

/** The demo roles, with text in the default locale and translations for the others. */
export function demoRoles(textByLocale: Record<string, DemoText>, defaultLocale: string, now: Date): Omit<VolunteerRoleRecord, '_rev'>[] {
  const base = textByLocale[defaultLocale] ?? {};
  return FACTS.map((facts) => {
    const starts = new Date(now.getTime() + facts.daysFromNow * DAY);
    starts.setUTCHours(facts.hour + 5, 0, 0, 0);
    const own = base[facts.key] ?? { title: facts.key, description: '' };
    const translations = Object.fromEntries(
      Object.entries(textByLocale).flatMap(([locale, texts]) => (locale !== defaultLocale && texts[facts.key] ? [[locale, texts[facts.key]!]] : [])),
    );
    return {
      _id: facts.ref,
      title: own.title,
      description: own.description,
      translations,
      interests: facts.interests,
      neighbourhood: facts.neighbourhood,
      place: facts.place,
      startsAt: starts,
      ...(facts.schedule ? { schedule: facts.schedule } : {}),
      capacity: facts.capacity,
      contact: 'volunteer@example.org',
      status: 'open' as const,
      demo: true,
      createdAt: now,
    };
  });
}
