/**
 * Reading every record of one index value, for lists that must be whole (everyone signed up for
 * a shift is told it is cancelled, asked whether they came, messaged), where one `find` with a
 * limit would silently drop the records past it.
 */
import type { StoredRecord } from '../domain/records.js';
import type { Collection, Where } from './store.port.js';

/** Records read per page. */
const PAGE = 1000;

/**
 * Every record whose indexed field equals the value, in the index's ascending order, read a page
 * at a time: each page from the last one's sort value (inclusive, the records already read there
 * passed over; a larger page while many share one value), so memory holds the result and one
 * page, and no read is repeated. `sortOf` gives a record's value of the index's sort field, which
 * every record read this way must have (those without are not returned past the first page).
 * A record whose sort value moves on while it is read (a sign-up made again) is returned once.
 */
export async function findEvery<T extends StoredRecord>(
  collection: Pick<Collection<T>, 'find'>,
  where: Where<T>,
  sortOf: (record: T) => Date | number | string | undefined,
  page = PAGE,
): Promise<T[]> {
  const found = new Map<string, T>();
  const keyOf = (value: Date | number | string | undefined) => (value instanceof Date ? value.getTime() : value);
  let from: Date | number | string | undefined;
  let limit = page;
  for (;;) {
    const batch = await collection.find(where, { order: 'asc', limit, ...(from !== undefined ? { from } : {}) });
    for (const record of batch) if (!found.has(record._id)) found.set(record._id, record);
    if (batch.length < limit) break;
    const edge = sortOf(batch[batch.length - 1]!);
    // Still on one sort value (or on records without one, which only the first page reads):
    // read more of it at once; else on from its edge, a page at a time.
    const same = edge === undefined || (from !== undefined && keyOf(edge) === keyOf(from));
    limit = same ? limit * 2 : page;
    if (edge !== undefined) from = edge;
  }
  return [...found.values()];
}
