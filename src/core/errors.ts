/**
 * Error types every layer shares: an error meant for an HTTP client, and the summary of any
 * error that is safe to log.
 */
import type { ZodError } from 'zod';

/** An error whose status and message are meant for the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A 400 listing what failed validation (field paths and rules, never the values sent). */
export function validationError(error: ZodError): HttpError {
  const problems = error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`);
  return new HttpError(400, `Invalid request. ${problems.join('; ')}`);
}

/** An error for the log: its name and message only, never the resident's data it may carry. */
export function errorSummary(error: unknown): { name: string; message: string; stack?: string } {
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { name: 'NonError', message: typeof error };
}
