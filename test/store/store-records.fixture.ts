/**
 * Valid records for the store tests, one builder per collection used, each taking overrides so
 * a test states only what it is about.
 */
import type { ConversationRecord, ReportRecord, ResidentRecord, TranscriptEntryRecord, VolunteerRoleRecord } from '../../src/domain/records.js';
import type { Unsaved } from '../../src/store/store.port.js';

/** A fixed instant plus `minutes`, so orderings in tests are easy to read. */
export function at(minutes: number): Date {
  return new Date(Date.UTC(2025, 0, 1, 12, minutes));
}

/** A resident who wants volunteer calls. */
export function aResident(id: string, overrides: Partial<ResidentRecord> = {}): Unsaved<ResidentRecord> {
  return {
    _id: id,
    address: id,
    channel: 'sms',
    locale: 'en',
    optedOut: false,
    volunteerCalls: true,
    interests: ['parks'],
    createdAt: at(0),
    lastSeenAt: at(1),
    ...overrides,
  };
}

/** An open pothole report with a pin and a photo. */
export function aReport(id: string, overrides: Partial<ReportRecord> = {}): Unsaved<ReportRecord> {
  return {
    _id: id,
    category: 'pothole',
    status: 'submitted',
    statusGroup: 'open',
    location: { text: '5th and Main', point: { lat: 40.7, lon: -74, label: 'pin' } },
    description: 'A deep pothole in the bike lane',
    photos: [{ url: 'https://example.test/p.jpg', contentType: 'image/jpeg' }],
    residentAddress: 'sms:+15550000001',
    channel: 'sms',
    locale: 'en',
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

/** An inbound transcript line of a conversation. */
export function aTranscriptEntry(conversationId: string, seq: number, overrides: Partial<TranscriptEntryRecord> = {}): Unsaved<TranscriptEntryRecord> {
  return {
    _id: `${conversationId}#${seq}`,
    conversationId,
    seq,
    direction: 'in',
    channel: 'telegram',
    text: `message ${seq}`,
    at: at(seq),
    ...overrides,
  };
}

/** A conversation whose opaque engine state holds nested data and a Date. */
export function aConversation(id: string, overrides: Partial<ConversationRecord> = {}): Unsaved<ConversationRecord> {
  return {
    _id: id,
    address: id,
    state: {
      dialog: 'report_problem',
      version: 3,
      step: 'location',
      slots: { category: 'pothole', seenAt: at(5), tags: ['a', 'b'] },
    },
    recentInbound: [
      {
        key: 'telegram:1',
        replies: [{ kind: 'text', text: 'Where is it?', requestLocation: true }],
        effects: [{ kind: 'consent', optedOut: false }],
        firstEntry: 0,
      },
    ],
    transcriptLength: 2,
    updatedAt: at(5),
    ...overrides,
  };
}

/** An open volunteer role with a translation. */
export function aRole(id: string, overrides: Partial<VolunteerRoleRecord> = {}): Unsaved<VolunteerRoleRecord> {
  return {
    _id: id,
    title: 'Park clean-up',
    description: 'Pick up litter in Riverside Park',
    translations: { es: { title: 'Limpieza del parque', description: 'Recoger basura' } },
    interests: ['parks'],
    neighbourhood: 'Riverside',
    place: 'North gate',
    startsAt: at(60),
    capacity: 12,
    contact: 'parks@example.test',
    status: 'open',
    demo: false,
    createdAt: at(0),
    ...overrides,
  };
}
