/**
 * The photos of a report, fetched for the staff dashboard. Photos are kept by reference where
 * they were sent: a web chat upload is our own file; a Telegram photo is a file id that only the
 * bot's token can download; an MMS photo is a Twilio media URL, which needs the account's
 * credentials when the account enforces HTTP authentication on media. Staff pages show them
 * through this, so no token, credential or provider URL reaches a browser.
 */
import type { MediaRef } from '../core/message.js';
import type { MediaFiles } from '../store/media-files.js';
import { IMAGE_TYPES, mediaIdIn } from '../store/media-files.js';
import { StaffError, type StaffDeps } from './staff-deps.js';

/** How to reach each place photos live. */
export interface PhotoSources {
  media: MediaFiles;
  /** Downloads a Telegram file reference, when the Telegram channel is on. */
  telegramFile?: (reference: string) => Promise<{ bytes: Buffer; contentType: string } | null>;
  /** The Twilio account, for media that needs its credentials. */
  twilio?: { accountSid: string; authToken: string };
}

const MAX_PHOTO_BYTES = 10 * 1024 * 1024;

/** Every photo of a report in order: the report's own, then those residents sent with follow-ups. */
export async function reportPhotos(deps: Pick<StaffDeps, 'store'>, ref: string): Promise<MediaRef[]> {
  const report = await deps.store.reports.get(ref.toUpperCase());
  if (!report) throw new StaffError(404, `No report ${ref}`);
  const updates = await deps.store.reportUpdates.find({ field: 'reportId', equals: report._id }, { order: 'asc', limit: 500 });
  return [...report.photos, ...updates.flatMap((update) => update.photos ?? [])];
}

/** One photo's bytes; a StaffError 404 when it cannot be had (gone, or from a source we cannot reach). */
export async function fetchReportPhoto(
  deps: Pick<StaffDeps, 'store'>,
  sources: PhotoSources,
  ref: string,
  index: number,
): Promise<{ bytes: Buffer; contentType: string }> {
  const photo = (await reportPhotos(deps, ref))[index];
  if (!photo) throw new StaffError(404, `Report ${ref} has no photo ${index + 1}`);
  const fetched = await fetchPhoto(photo, sources).catch(() => null);
  if (!fetched || !IMAGE_TYPES[fetched.contentType] || fetched.bytes.length > MAX_PHOTO_BYTES) {
    throw new StaffError(404, 'This photo cannot be shown (it is gone, or its channel is off)');
  }
  return fetched;
}

async function fetchPhoto(photo: MediaRef, sources: PhotoSources): Promise<{ bytes: Buffer; contentType: string } | null> {
  const ownUpload = mediaIdIn(photo.url);
  if (ownUpload) return sources.media.read(ownUpload);
  if (photo.url.startsWith('telegram-file:')) return sources.telegramFile ? sources.telegramFile(photo.url) : null;
  const url = new URL(photo.url);
  // Only Twilio's API host, and only our own account's media, gets the credentials: never send
  // them to a URL a resident (or a Bot Framework attachment) chose.
  const ownMedia = sources.twilio ? `/2010-04-01/Accounts/${sources.twilio.accountSid}/` : null;
  if (url.protocol !== 'https:' || url.hostname !== 'api.twilio.com' || url.username || (ownMedia && !url.pathname.startsWith(ownMedia))) return null;
  const headers: Record<string, string> = sources.twilio
    ? { authorization: `Basic ${Buffer.from(`${sources.twilio.accountSid}:${sources.twilio.authToken}`).toString('base64')}` }
    : {};
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
  if (!response.ok) return null;
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  return { bytes: Buffer.from(await response.arrayBuffer()), contentType };
}
