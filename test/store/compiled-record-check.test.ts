/**
 * The fast path of record validation against mongoose, the reference: every collection's schema
 * compiles; realistic records of every collection take the fast path; and on random mutations of
 * them (fast-check), whatever the fast path accepts mongoose accepts too, with an equal result,
 * down to the bytes the embedded store would write.
 */
import fc from 'fast-check';
import mongoose, { Schema } from 'mongoose';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { COLLECTION_NAMES, type CollectionName, type RecordOf } from '../../src/store/collections.js';
import { compileRecordCheck } from '../../src/store/compiled-record-check.js';
import { validateRecord, validateRecordWithMongoose } from '../../src/store/record.validator.js';
import { buildModels, STORE_SCHEMAS } from '../../src/store/schemas.js';
import type { Unsaved } from '../../src/store/store.port.js';
import { aConversation, aReport, aResident, aRole, aTranscriptEntry, at } from './store-records.fixture.js';

// Models on a connection never opened, as the embedded store has (built first: models add
// mongoose's plugins to the schemas, and the fast path is compiled from the model's schema).
const models = buildModels(mongoose.createConnection());

// Key order matters here (no records): equal bytes mean the same fields, values and order.
const packr = new Packr({ useRecords: false });

/** A conversation as the pipeline writes it: engine state with a flow, and 20 receipts. */
function aBusyConversation(id: string): Unsaved<RecordOf<'conversations'>> {
  const receipts = Array.from({ length: 20 }, (_, i) => ({
    key: `sms:SM${1000 + i}`,
    replies: [
      {
        kind: 'text' as const,
        text: `Reply ${i}: what is the problem?`,
        choices: [
          { id: 'pothole', label: 'Pothole' },
          { id: 'light', label: 'Street light' },
        ],
      },
      ...(i % 3 === 0 ? [{ kind: 'image' as const, url: 'https://example.test/map.png', caption: 'Here' }] : []),
    ],
    effects:
      i % 4 === 0
        ? [
            { kind: 'consent', optedOut: false },
            { kind: 'profile', locale: 'es' },
          ]
        : [],
    firstEntry: i * 3,
    ...(i === 7 ? { failed: true } : {}),
  }));
  return {
    _id: id,
    address: id,
    state: {
      schema: 1,
      locale: 'en',
      localeSettled: true,
      flow: {
        dialog: 'report-problem',
        version: 4,
        step: 'photo',
        slots: { category: 'pothole', location: { lat: 40.7, lon: -74, label: 'pin' }, description: 'Deep one', photos: [], count: 0, sure: null },
        history: [
          { step: 'category', filled: ['category'] },
          { step: 'location', filled: ['location'] },
        ],
        failures: 0,
        awaiting: { command: { type: 'report.create', input: { category: 'pothole' } }, resultSlot: 'ref', then: 'done' },
      },
      paused: null,
      followUps: [{ kind: 'volunteer_call', ref: 'V-8M2PQ', broadcastId: 'B-7K3QX', sentAt: 1_735_732_800_000, until: 1_735_819_200_000 }],
      lastActiveAt: 1_735_732_800_000,
      turns: 41,
    },
    recentInbound: receipts,
    transcriptLength: 60,
    updatedAt: at(30),
  };
}

/** Realistic records of every collection, as the service writes them (typed, so they stay so). */
const FIXTURES: { readonly [K in CollectionName]: readonly Unsaved<RecordOf<K>>[] } = {
  residents: [
    aResident('sms:+15550000001'),
    aResident('telegram:42', { neighbourhood: 'Riverside', name: 'Ana', interests: [], locale: 'es', volunteerMilestones: [10, 25] }),
  ],
  consentEvents: [{ _id: 'CE-1', address: 'sms:+15550000001', channel: 'sms', kind: 'opt_out', keyword: 'STOP', at: at(3) }],
  conversations: [aConversation('telegram:1'), aBusyConversation('sms:+15550000002'), aConversation('web:3', { state: null, recentInbound: [] })],
  transcripts: [
    aTranscriptEntry('telegram:1', 0, {
      location: { lat: 40.7, lon: -74, label: 'pin' },
      media: [{ url: 'https://api.telegram.org/file/1.jpg', contentType: 'image/jpeg' }],
      providerMessageId: '5521',
    }),
    aTranscriptEntry('telegram:1', 1, { direction: 'out', providerMessageId: 'telegram:5521', text: 'Thanks! Your reference is R-7K3QX.' }),
  ],
  reports: [
    aReport('R-7K3QX', { fixedAt: at(90), status: 'fixed', statusGroup: 'fixed' }),
    aReport('R-5ABCD', { status: 'in_progress', reopenedByResident: at(99) }),
    aReport('R-2ABCD', { location: {}, photos: [], channel: 'webchat' }),
    aReport('R-3ABCD', { location: { text: 'Behind the library' }, openPlace: 'pothole|s:library' }),
    aReport('R-4ABCD', { openCell: 'pothole|23364:31200', openPlace: 'pothole|x:5|main' }),
    aReport('R-6ABCD', { status: 'duplicate', statusGroup: 'closed', mergedInto: 'R-4ABCD' }),
    aReport('R-8ABCD', {
      channel: 'open311',
      residentAddress: 'open311:K7Q2M9XW4T',
      statusNote: 'Crew sent',
      open311: { keyId: 'K7Q2M9XW4T', mediaUrl: 'https://example.test/p.jpg', attributes: [{ code: 'size', value: 'large' }] },
      open311Token: 'tok-3f9a',
    }),
    aReport('R-9ABCD', { channel: 'open311', residentAddress: 'open311:K7Q2M9XW4T', open311: { keyId: 'K7Q2M9XW4T' }, open311Token: 'tok-4f9a' }),
    aReport('R-AABCD', {
      open311Remote: { id: 'SR-1001', token: 'T1001', sentAt: at(91), lastPolledAt: at(92), missedPolls: 3, unknownSince: at(93) },
      open311Open: 'unknown',
      open311PollAt: at(94),
      open311RemoteId: 'SR-1001',
    }),
  ],
  reportUpdates: [
    { _id: 'U-1', reportId: 'R-7K3QX', status: 'fixed', note: 'Filled today', by: 'staff', staff: 'ana', notified: true, at: at(90) },
    {
      _id: 'U-2',
      reportId: 'R-7K3QX',
      by: 'resident',
      note: 'Still there',
      photos: [{ url: 'https://example.test/2.jpg', contentType: 'image/png' }],
      at: at(95),
    },
    { _id: 'U-3', reportId: 'R-7K3QX', by: 'resident', follower: true, note: 'Me too', at: at(96) },
    { _id: 'R-5ABCD|not-fixed|0f3a9c', reportId: 'R-5ABCD', status: 'open', by: 'system', notFixed: true, at: at(99) },
  ],
  reportFollowers: [
    { _id: 'R-7K3QX|telegram:42', reportId: 'R-7K3QX', address: 'telegram:42', at: at(96), via: 'follow', noteId: 'U-3' },
    { _id: 'R-7K3QX|sms:+15550000009', reportId: 'R-7K3QX', address: 'sms:+15550000009', at: at(97), via: 'merge', mergedFrom: 'R-6ABCD' },
  ],
  reportSurveys: [
    {
      _id: 'R-7K3QX|0f3a9c',
      reportId: 'R-7K3QX',
      category: 'pothole',
      month: '2025-01',
      fixed: 'yes',
      rating: 4,
      comment: 'Quick work, thanks',
      address: 'telegram:42',
      channel: 'telegram',
      locale: 'es',
      at: at(99),
    },
    // After its resident deleted their data: the numbers, no link, no words.
    { _id: 'R-7K3QX|9b1c2d', reportId: 'R-7K3QX', category: 'pothole', month: '2025-01', fixed: 'no', channel: 'sms', locale: 'en', at: at(98) },
  ],
  ideas: [
    {
      _id: 'I-4F2K9',
      title: 'More benches',
      details: 'Along the river path',
      neighbourhood: 'Riverside',
      authorAddress: 'sms:+15550000001',
      channel: 'sms',
      status: 'accepted',
      kind: 'idea',
      createdAt: at(0),
      response: { note: 'Planned for spring', by: 'ana', at: at(50) },
      similarTerms: ['bench', 'river', 'path'],
    },
    { _id: 'I-5F2K9', title: 'Bike racks', details: '', authorAddress: 'telegram:42', channel: 'telegram', status: 'new', kind: 'idea', createdAt: at(1) },
    {
      _id: 'I-6F2K9',
      title: 'Buy my product',
      details: '',
      authorAddress: 'telegram:44',
      channel: 'telegram',
      status: 'new',
      kind: 'idea',
      createdAt: at(2),
      moderation: { state: 'hidden', reason: 'reports', by: 'system', at: at(8) },
      reports: 3,
      moderationQueue: 'review',
      mergedInto: 'I-4F2K9',
    },
    {
      // Supported to its threshold (issue 21), with staff's own threshold.
      _id: 'I-7F2K9',
      title: 'Bike racks downtown',
      details: '',
      authorAddress: 'telegram:43',
      channel: 'telegram',
      status: 'under_review',
      kind: 'idea',
      createdAt: at(2),
      supporters: 10,
      supportThreshold: 10,
      thresholdReachedAt: at(3),
    },
  ],
  ideaSupports: [
    { _id: 'I-4F2K9|telegram:42', ideaId: 'I-4F2K9', address: 'telegram:42', at: at(4) },
    { _id: 'I-4F2K9|sms:+15550000002', ideaId: 'I-4F2K9', address: 'sms:+15550000002', at: at(5), mergedFrom: 'I-6F2K9' },
  ],
  ideaReports: [
    { _id: 'I-5F2K9|sms:+15550000001', ideaId: 'I-5F2K9', address: 'sms:+15550000001', reason: 'spam', at: at(6) },
    { _id: 'I-5F2K9|telegram:43', ideaId: 'I-5F2K9', address: 'telegram:43', reason: 'other', text: 'Not an idea', at: at(7) },
  ],
  roles: [
    aRole('V-8M2PQ', {
      translations: { es: { title: 'Limpieza del parque', description: 'Recoger basura' }, fr: { title: 'Nettoyage', description: 'Ramasser' } },
      endsAt: at(180),
      schedule: 'Saturdays 9–12',
      updatedAt: at(10),
    }),
    aRole('V-9M2PQ', { translations: undefined, interests: [], demo: true, status: 'closed' }),
    aRole('V-7M2PQ', {
      reminderHours: [48, 2],
      releaseUnconfirmedHours: 24,
      outcome: {
        unit: 'bags of trash',
        question: 'How many bags did your group collect?',
        target: 200,
        translations: { es: { unit: 'bolsas', question: '¿Cuántas bolsas?' } },
      },
      fromReports: ['R-7K3QX', 'R-8K3QX'],
    }),
  ],
  shifts: [
    { _id: 'S-4K7PQ', roleId: 'V-7M2PQ', startsAt: at(100), endsAt: at(103), capacity: 10, status: 'open', createdAt: at(1), updatedAt: at(1) },
    {
      _id: 'S-5K7PQ',
      roleId: 'V-7M2PQ',
      startsAt: at(200),
      endsAt: at(203),
      place: 'North gate',
      capacity: 0,
      status: 'cancelled',
      createdAt: at(1),
      updatedAt: at(2),
    },
  ],
  signups: [
    {
      _id: 'V-8M2PQ|sms:+15550000001',
      roleId: 'V-8M2PQ',
      address: 'sms:+15550000001',
      name: 'Ana',
      channel: 'sms',
      status: 'waitlisted',
      createdAt: at(5),
      updatedAt: at(6),
    },
    {
      _id: 'S-4K7PQ|telegram:42',
      roleId: 'V-7M2PQ',
      shiftId: 'S-4K7PQ',
      address: 'telegram:42',
      name: 'Ana',
      channel: 'telegram',
      status: 'confirmed',
      attendanceConfirmedAt: at(90),
      remindedAt: at(80),
      attendance: 'attended',
      attendanceBy: 'resident',
      hoursReported: 2.5,
      hoursApproved: 3,
      outcomeReported: 12,
      createdAt: at(5),
      updatedAt: at(110),
    },
    {
      _id: 'S-5K7PQ|sms:+15550000001',
      roleId: 'V-7M2PQ',
      shiftId: 'S-5K7PQ',
      address: 'sms:+15550000001',
      name: 'Ben',
      channel: 'sms',
      status: 'cancelled',
      cancelledBy: 'released',
      createdAt: at(5),
      updatedAt: at(6),
    },
  ],
  outbound: [
    {
      _id: 'O-1',
      channel: 'sms',
      address: 'sms:+15550000001',
      text: 'Your report R-7K3QX is fixed.',
      mediaUrl: 'https://example.test/fixed.jpg',
      purpose: 'status_update',
      state: 'failed',
      attempts: 3,
      lastError: '30003 Unreachable destination handset',
      providerMessageId: 'SM0123456789abcdef',
      createdAt: at(90),
      updatedAt: at(92),
    },
    { _id: 'O-2', channel: 'telegram', address: 'telegram:42', text: 'Hi', purpose: 'reply', state: 'queued', attempts: 0, createdAt: at(1), updatedAt: at(1) },
  ],
  handoffs: [
    { _id: 'H-1', address: 'telegram:42', channel: 'telegram', reason: 'stuck', status: 'open', at: at(7) },
    {
      _id: 'H-2',
      address: 'sms:+15550100',
      channel: 'sms',
      reason: 'broadcast_reply',
      status: 'closed',
      at: at(7),
      ref: 'abcdefgh12345678',
      locale: 'es',
      about: 'B-1',
      assignedTo: 'ana',
      lastActivityAt: at(8),
      unread: 2,
      answeredAt: at(8),
      closedAt: at(9),
      closedBy: 'idle',
    },
  ],
  cannedReplies: [{ _id: 'C-1', locale: 'es', title: 'Horario', text: 'Abrimos a las 9.', createdBy: 'ana', createdAt: at(3) }],
  jobs: [
    {
      _id: 'J-1',
      kind: 'staff_reply',
      dueAt: at(4),
      state: 'pending',
      queueOf: 'sms:+15550100',
      address: 'sms:+15550100',
      payload: { text: 'Hola', n: 1 },
      attempts: 0,
      createdAt: at(4),
      updatedAt: at(4),
    },
    {
      _id: 'J-2',
      kind: 'handoff_idle',
      dueAt: at(5),
      state: 'running',
      payload: {},
      attempts: 1,
      lastError: 'x',
      leaseUntil: at(6),
      claimedBy: 'w',
      createdAt: at(4),
      updatedAt: at(5),
    },
  ],
  webchatActivities: [
    {
      _id: 'web:abc|0000001',
      conversationId: 'web:abc',
      seq: 1,
      activity: {
        type: 'message',
        id: 'web:abc|0000001',
        timestamp: '2025-01-01T12:01:00.000Z',
        channelId: 'directline',
        conversation: { id: 'web:abc' },
        from: { id: 'civicline', name: 'Springfield', role: 'bot' },
        text: 'What is the problem?',
        suggestedActions: { actions: [{ type: 'imBack', title: 'Pothole', value: 'pothole' }] },
        attachments: [],
      },
      at: at(1),
    },
  ],
  meta: [
    { _id: 'seeded:demo-roles', value: '2025-01-01T12:00:00.000Z' },
    { _id: 'telegram-keyboard|42', value: 0 },
    { _id: 'botframework-reference|webchat:1', value: { bot: { id: 'b' }, conversation: { id: 'c', isGroup: false }, serviceUrl: 'https://x.test/' } },
  ],
  staffUsers: [
    {
      _id: 'ana',
      username: 'ana',
      displayName: 'Ana Admin',
      role: 'admin',
      passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
      active: true,
      failedLogins: 2,
      lockedUntil: at(20),
      createdAt: at(0),
      updatedAt: at(1),
    },
  ],
  staffSessions: [{ _id: 'f3a9c1', username: 'ana', csrfToken: 'tok', createdAt: at(0), expiresAt: at(600) }],
  audit: [
    {
      _id: 'A-1',
      actor: 'ana',
      action: 'report.status',
      target: 'R-7K3QX',
      details: { from: 'submitted', to: 'fixed', note: { length: 12 } },
      kind: 'audit',
      at: at(90),
    },
    { _id: 'A-2', actor: 'admin-token', action: 'seed', kind: 'audit', at: at(91) },
  ],
  broadcasts: [
    {
      _id: 'B-7K3QX',
      roleId: 'V-8M2PQ',
      messages: { en: 'Help clean the park on Saturday?', es: '¿Ayudas a limpiar el parque el sábado?' },
      audience: { channels: ['sms', 'telegram'], locales: ['en', 'es'], interests: ['parks'], neighbourhoods: ['Riverside'], activeWithinDays: 30 },
      status: 'sending',
      sendAt: at(100),
      answerWindowHours: 48,
      planned: 120,
      createdBy: 'ana',
      kind: 'broadcast',
      createdAt: at(99),
      updatedAt: at(100),
      finishedAt: at(140),
    },
    {
      _id: 'B-8K3QX',
      messages: { en: 'Hello' },
      audience: { reports: ['R-7K3QX', 'R-8K3QX'], optedIn: false },
      status: 'scheduled',
      sendAt: at(200),
      answerWindowHours: 1,
      planned: 0,
      createdBy: 'ana',
      kind: 'broadcast',
      createdAt: at(199),
      updatedAt: at(199),
    },
    {
      // A message to one shift's confirmed volunteers (issue 20).
      _id: 'B-9K3QX',
      messages: { en: 'We meet at the north gate.' },
      audience: { shiftId: 'S-4F2K9' },
      status: 'done',
      sendAt: at(210),
      answerWindowHours: 48,
      planned: 3,
      createdBy: 'cory',
      kind: 'broadcast',
      createdAt: at(209),
      updatedAt: at(215),
      finishedAt: at(215),
    },
    {
      // An idea's supporters told it reached its threshold (issue 21): composed per language by the worker.
      _id: 'B-I-6F2K9-reached',
      messages: {},
      audience: { ideaId: 'I-6F2K9' },
      status: 'done',
      sendAt: at(3),
      answerWindowHours: 1,
      planned: 11,
      createdBy: 'system',
      kind: 'broadcast',
      createdAt: at(3),
      updatedAt: at(4),
      finishedAt: at(4),
      ideaNotice: { event: 'reached', ideaId: 'I-6F2K9', title: 'Bike racks downtown', status: 'under_review', supporters: 10 },
    },
    {
      // A ballot sent to opted-in residents (issue 21), and its result told to its voters.
      _id: 'B-2K3QX',
      messages: { en: 'Vote: 1. Park benches ($50,000)' },
      audience: {},
      status: 'done',
      sendAt: at(220),
      answerWindowHours: 72,
      planned: 2,
      createdBy: 'ana',
      kind: 'broadcast',
      createdAt: at(219),
      updatedAt: at(221),
      ballotId: 'P-4F2K9',
    },
    {
      _id: 'B-3K3QX',
      messages: { en: 'Funded: Park benches' },
      audience: { ballotId: 'P-4F2K9' },
      status: 'scheduled',
      sendAt: at(300),
      answerWindowHours: 1,
      planned: 0,
      createdBy: 'ana',
      kind: 'broadcast',
      createdAt: at(300),
      updatedAt: at(300),
    },
  ],
  ballots: [
    {
      _id: 'P-4F2K9',
      title: { en: 'Parks budget 2027', es: 'Presupuesto de parques 2027' },
      question: { en: 'Which projects?', es: '¿Qué proyectos?' },
      projects: [
        { id: 'p1', title: { en: 'Park benches', es: 'Bancos' }, cost: 50_000 },
        { id: 'p2', title: { en: 'Shade trees' }, cost: 120_000 },
      ],
      rule: 'budget',
      budget: 150_000,
      opensAt: at(200),
      closesAt: at(280),
      status: 'closed',
      createdBy: 'ana',
      createdAt: at(190),
      updatedAt: at(300),
      closedAt: at(280),
      results: {
        voters: 2,
        projects: [
          { id: 'p1', votes: 2, funded: true },
          { id: 'p2', votes: 1, funded: false },
        ],
        at: at(300),
        by: 'ana',
      },
      resultsBroadcastId: 'B-3K3QX',
      kind: 'ballot',
    },
    {
      _id: 'P-5F2K9',
      title: { en: 'Library' },
      question: { en: 'Pick two' },
      projects: [{ id: 'p1', title: { en: 'Longer hours' }, cost: 0 }],
      rule: 'pick_up_to',
      maxPicks: 2,
      opensAt: at(400),
      closesAt: at(500),
      status: 'draft',
      createdBy: 'ana',
      createdAt: at(390),
      updatedAt: at(390),
      kind: 'ballot',
    },
  ],
  ballotVotes: [
    {
      _id: 'P-4F2K9|sms:+15550000001',
      ballotId: 'P-4F2K9',
      address: 'sms:+15550000001',
      picks: ['p1', 'p2'],
      channel: 'sms',
      locale: 'en',
      at: at(230),
      firstAt: at(225),
      changes: 1,
    },
  ],
  open311Keys: [
    {
      _id: 'K7Q2M9XW4T',
      name: 'City CRM',
      secretHash: 'a'.repeat(64),
      perMinute: 60,
      createdBy: 'ana',
      createdAt: at(1),
      lastUsedAt: at(2),
      revokedAt: at(3),
      revokedBy: 'ana',
      kind: 'open311Key',
    },
    { _id: 'K8Q2M9XW4T', name: 'FixMyStreet', secretHash: 'b'.repeat(64), perMinute: 10, createdBy: 'admin-token', createdAt: at(4), kind: 'open311Key' },
  ],
  deliveries: [
    {
      _id: 'B-7K3QX|sms:+15550000001',
      broadcastId: 'B-7K3QX',
      address: 'sms:+15550000001',
      channel: 'sms',
      locale: 'en',
      seq: 0,
      state: 'delivered',
      bucket: 'B-7K3QX|delivered|sms',
      attempts: 1,
      via: 'reports',
      answer: 'confirmed',
      answeredIn: 'B-7K3QX',
      answeredAt: at(120),
      createdAt: at(100),
      updatedAt: at(120),
    },
    {
      _id: 'B-7K3QX|telegram:42',
      broadcastId: 'B-7K3QX',
      address: 'telegram:42',
      channel: 'telegram',
      locale: 'es',
      seq: 1,
      state: 'skipped',
      bucket: 'B-7K3QX|skipped|telegram',
      reason: 'opted_out',
      attempts: 0,
      lastError: 'blocked',
      createdAt: at(100),
      updatedAt: at(101),
    },
  ],
};

/** A fixture as `validateRecord` gets it from an adapter (with a placeholder `_rev`), fresh. */
function recordOf(collection: CollectionName, index: number): Record<string, unknown> {
  return structuredClone({ ...FIXTURES[collection][index], _rev: 1 }) as Record<string, unknown>;
}

/** What mongoose makes of a record: its result, or the error it throws. */
async function viaMongoose(collection: CollectionName, record: object): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await validateRecordWithMongoose(collection, models[collection] as unknown as mongoose.Model<unknown>, record) };
  } catch (error) {
    return { ok: false, error };
  }
}

const fastChecks = new Map(COLLECTION_NAMES.map((name) => [name, compileRecordCheck(models[name].schema as Schema)]));
const fastCheck = (collection: CollectionName) => fastChecks.get(collection)!;

/** A Date subclass: mongoose's `toObject` turns it into a number. */
class LocalDate extends Date {}

// Values a mutation puts somewhere: each a factory, so no two records share a mutable value.
const VALUES: readonly (() => unknown)[] = [
  () => undefined,
  () => null,
  () => '',
  () => 'x',
  () => '5',
  () => 5,
  () => 0,
  () => -0,
  () => -1,
  () => 1.5,
  () => NaN,
  () => Infinity,
  () => true,
  () => 'true',
  () => 'sms',
  () => 'open',
  () => new Date('invalid'),
  () => '2025-02-03T04:05:06.000Z',
  () => new Date(Date.UTC(2025, 1, 3)),
  () => new LocalDate(Date.UTC(2025, 1, 3)),
  () => [],
  () => ['a'],
  () => [1],
  () => [undefined],
  () => [null],
  () => [, 'a'],
  () => ({}),
  () => ({ $gt: '' }),
  () => ({ a: undefined }),
  () => Object.create(null),
  () => new Map([['en', 'hi']]),
  () => 'x'.repeat(300),
  () => 'a\0b',
  () => ({ lat: 1, lon: 2 }),
  () => ({ url: 'https://example.test/m.jpg', contentType: 'image/jpeg' }),
  () => [{ url: 'https://example.test/m.jpg', contentType: 'image/jpeg' }],
  () => ({ title: 't', description: 'd' }),
  () => ({ key: 'k', replies: [], effects: [], firstEntry: 0 }),
];

// Keys a mutation adds to an object: unknown fields, map keys mongoose refuses or accepts.
const KEYS = ['extra', 'en', 'label', '$gt', 'a.b', '', '__proto__', 'constructor', 'toString', '_bsontype'];

/** A change to a record: a value is one of VALUES, or a copy of what is at another place in it. */
type Mutation = { op: 'delete' | 'splice' | 'set' | 'addKey'; at: number; value: (() => unknown) | { copyOf: number }; key: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('set' as const, 'delete' as const, 'splice' as const, 'addKey' as const),
  at: fc.nat(),
  // Copies make nearly valid records (an enum value in another field, a map entry twice...),
  // which the fast path may accept: the property is only tested on what it accepts.
  value: fc.oneof(
    fc.constantFrom(...VALUES),
    fc.nat().map((copyOf) => ({ copyOf })),
  ),
  key: fc.constantFrom(...KEYS),
});

/** Whether a mutation may look inside a value (a Map or a Date is a value of its own here). */
function isContainer(value: unknown): value is Record<string | number, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Date) && !(value instanceof Map);
}

/** Every place in a record, nested ones included: the container and the key. */
function placesIn(value: unknown, places: { parent: Record<string | number, unknown>; key: string | number }[] = []) {
  if (!isContainer(value)) return places;
  for (const key of Array.isArray(value) ? value.keys() : Object.keys(value)) {
    places.push({ parent: value, key });
    placesIn(value[key], places);
  }
  return places;
}

/** Every object in a record (the record itself included), for `addKey`. */
function objectsIn(value: unknown, objects: object[] = []): object[] {
  if (!isContainer(value)) return objects;
  if (!Array.isArray(value)) objects.push(value);
  for (const item of Object.values(value)) objectsIn(item, objects);
  return objects;
}

function mutate(record: Record<string, unknown>, { op, at, value, key }: Mutation): void {
  const places = placesIn(record);
  if (places.length === 0) return; // every field deleted already
  const valueOf = (): unknown => {
    if (typeof value === 'function') return value();
    const { parent, key: from } = places[value.copyOf % places.length]!;
    return structuredClone(parent[from]);
  };
  if (op === 'addKey') {
    const objects = objectsIn(record);
    // defineProperty: `__proto__` becomes an own key, as JSON.parse makes it.
    Object.defineProperty(objects[at % objects.length], key, { value: valueOf(), enumerable: true, writable: true, configurable: true });
    return;
  }
  const { parent, key: placeKey } = places[at % places.length]!;
  if (op === 'set') parent[placeKey] = valueOf();
  else if (op === 'splice' && Array.isArray(parent)) parent.splice(placeKey as number, 1);
  else delete parent[placeKey]; // in an array: a hole
}

describe('compiled record check', () => {
  it('compiles for every collection', () => {
    for (const name of COLLECTION_NAMES) {
      expect(() => compileRecordCheck(STORE_SCHEMAS[name] as Schema), name).not.toThrow();
    }
  });

  it('has realistic records of every collection', () => {
    expect(Object.keys(FIXTURES).sort()).toEqual([...COLLECTION_NAMES].sort());
    for (const name of COLLECTION_NAMES) expect(FIXTURES[name].length, name).toBeGreaterThan(0);
  });

  it('takes every realistic record, returning exactly what mongoose returns', async () => {
    for (const name of COLLECTION_NAMES) {
      for (const index of FIXTURES[name].keys()) {
        const fast = fastCheck(name)(recordOf(name, index));
        expect(fast, `${name}[${index}]`).toBeDefined();
        const slow = await viaMongoose(name, recordOf(name, index));
        expect(slow.ok && slow.value).toStrictEqual(fast);
        expect(packr.pack(fast)).toEqual(packr.pack(slow.ok && slow.value));
      }
    }
  });

  it.each(COLLECTION_NAMES)('accepts only what mongoose accepts, returning exactly what it returns: %s, randomly mutated', async (name) => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (fixture, mutations) => {
        const record = recordOf(name, fixture % FIXTURES[name].length);
        for (const each of mutations) mutate(record, each);
        const before = packr.pack(record);
        const fast = fastCheck(name)(record);
        const slow = await viaMongoose(name, record);
        // mongoose does not change what it is given (so the comparison below is fair).
        expect(packr.pack(record)).toEqual(before);
        if (fast === undefined) return;
        accepted += 1;
        if (!slow.ok) throw new Error(`the fast path accepted what mongoose refuses: ${String(slow.error)}`);
        expect(fast).toStrictEqual(slow.value);
        expect(packr.pack(fast)).toEqual(packr.pack(slow.value));
      }),
      { numRuns: 1_000 },
    );
    // The property was tested on accepted records, not only on refusals.
    expect(accepted).toBeGreaterThan(5);
  });

  it('leaves what needs casting, a default or an error to mongoose', async () => {
    const check = fastCheck('reports');
    const valid = recordOf('reports', 0);
    expect(check({ ...valid, createdAt: '2025-02-03T04:05:06.000Z' })).toBeUndefined();
    expect(check({ ...valid, photos: undefined })).toBeUndefined(); // mongoose defaults it to []
    expect(check({ ...valid, extra: 1 })).toBeUndefined();
    expect(check({ ...valid, statusGroup: 'lost' })).toBeUndefined();
    expect(check({ ...valid, _id: 'x'.repeat(201) })).toBeUndefined();
    expect(fastCheck('conversations')({ ...recordOf('conversations', 0), recentInbound: [{ key: 'k' }] })).toBeUndefined();
    expect(fastCheck('roles')({ ...recordOf('roles', 0), translations: new Map([['es', { title: 't', description: 'd' }]]) })).toBeUndefined();

    // validateRecord still casts and refuses through mongoose.
    const cast = await validateRecord('reports', models.reports, { ...valid, createdAt: '2025-02-03T04:05:06.000Z' });
    expect(cast.createdAt).toEqual(new Date('2025-02-03T04:05:06.000Z'));
    await expect(validateRecord('reports', models.reports, { ...valid, statusGroup: 'lost' })).rejects.toThrow('reports: invalid record: statusGroup (enum)');
  });

  it('refuses to compile a schema feature it does not handle', () => {
    const compile =
      (definition: Record<string, unknown>, options: Record<string, unknown> = {}) =>
      () =>
        compileRecordCheck(new Schema(definition, { versionKey: false, minimize: false, strict: 'throw', ...options }));
    expect(compile({ _id: String, name: String })).not.toThrow();
    expect(compile({ _id: String, name: { type: String, trim: true } })).toThrow('name: the `trim` option');
    expect(compile({ _id: String, name: { type: String, set: (v: string) => v } })).toThrow('name: the `set` option');
    expect(compile({ _id: String, name: { type: String, match: /a/ } })).toThrow('name: the `match` option');
    expect(compile({ _id: String, at: { type: Date, expires: 60 } })).toThrow('at: the `expires` option');
    expect(compile({ _id: String, place: { lat: Number, lon: Number } })).toThrow('a nested path object without a schema');
    expect(compile({ _id: String, owner: Schema.Types.ObjectId })).toThrow('a path of type ObjectId');
    expect(compile({ _id: String, list: [[String]] })).toThrow('list: an array of Array');
    expect(compile({ _id: String, name: { type: String, validate: async () => true } })).toThrow('an async validator');
    expect(compile({ _id: String, tags: { type: [String], validate: () => true } })).toThrow('a `user defined` validator on a Array');
    expect(compile({ _id: String, name: { type: String, required: () => true } })).toThrow('a conditional `required`');
    expect(compile({ name: String })).toThrow('_id: '); // mongoose's own ObjectId
    expect(compile({ _id: String }, { minimize: true })).toThrow('a schema without `minimize: false`');
    const hooked = new Schema({ _id: String }, { minimize: false });
    hooked.pre('validate', () => undefined);
    expect(() => compileRecordCheck(hooked)).toThrow('a validate hook');
  });
});
