/**
 * A short random wait before trying a revision-checked write again. Writers that lost to each
 * other all retry at once without it, and on FerretDB (where a revision is claimed by an insert,
 * then written: src/store/mongo.store.ts) the losers can use up their attempts while the winner's
 * write is still on its way.
 */
export function backOff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
}
