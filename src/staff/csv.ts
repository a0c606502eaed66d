/**
 * CSV as spreadsheets read it (RFC 4180: comma-separated, CRLF line ends, a cell with a comma,
 * quote or line break quoted and its quotes doubled), made safe to open: a cell a spreadsheet
 * would run as a formula (starting with = + - @, or a tab or carriage return that some strip
 * first) gets a leading `'`, so a resident who writes `=HYPERLINK(...)` gets text, not a link.
 */

/** One CSV cell: quoted when needed, and a leading = + - @ neutralised (spreadsheet formula injection). */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV line, with its CRLF. */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
