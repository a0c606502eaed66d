/**
 * The conformance suite's command line: `npm run open311:check -- <base url> [--api-key K]
 * [--jurisdiction J] [--no-post] [--only id,id]`. Prints a table of every check and exits 1 when
 * any fails, so it can gate a deployment. POST checks file real requests, so they need --api-key
 * and are turned off with --no-post (the base URL is the one /services.json hangs off).
 */
import { pathToFileURL } from 'node:url';
import { runConformance, type CheckResult, type ConformanceOptions } from './conformance.js';

const USAGE = `usage: npm run open311:check -- <base url> [--api-key KEY] [--jurisdiction ID] [--no-post] [--only ID,ID] [--timeout MS]

  <base url>        the endpoint, e.g. https://city.example/open311/v2 (services.json hangs off it)
  --api-key KEY     the key POST requests needs; the POST checks file a few test requests
  --no-post         send no POST at all (required when no --api-key is given)
  --jurisdiction ID sent as jurisdiction_id with every call
  --only ID,ID      run only these checks (ids as printed)
  --timeout MS      one exchange's time limit (default 15000)`;

/** Reads the arguments into options, or a message saying what is wrong. */
export function parseArgs(argv: readonly string[]): ConformanceOptions | { error: string } {
  let baseUrl: string | undefined;
  let apiKey: string | undefined;
  let jurisdictionId: string | undefined;
  let post = true;
  let only: string[] | undefined;
  let timeoutMs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string | undefined => argv[++i];
    if (arg === '--api-key') apiKey = value();
    else if (arg === '--jurisdiction') jurisdictionId = value();
    else if (arg === '--no-post') post = false;
    else if (arg === '--only') only = value()?.split(',');
    else if (arg === '--timeout') timeoutMs = Number(value());
    else if (arg === '--help' || arg === '-h') return { error: USAGE };
    else if (arg.startsWith('--')) return { error: `unknown option ${arg}\n${USAGE}` };
    else if (baseUrl === undefined) baseUrl = arg;
    else return { error: `one base URL only (got ${baseUrl} and ${arg})\n${USAGE}` };
  }
  if (!baseUrl || !/^https?:\/\//.test(baseUrl)) return { error: `a base URL (http:// or https://) is needed\n${USAGE}` };
  if (post && !apiKey) return { error: `POST checks need --api-key (or say --no-post)\n${USAGE}` };
  if (timeoutMs !== undefined && !(timeoutMs > 0)) return { error: `--timeout wants milliseconds\n${USAGE}` };
  return {
    baseUrl,
    post,
    ...(apiKey ? { apiKey } : {}),
    ...(jurisdictionId ? { jurisdictionId } : {}),
    ...(only ? { only } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  };
}

/** The results as a plain-text table, with a count of each outcome last. */
export function formatTable(results: readonly CheckResult[]): string {
  const idWidth = Math.max(5, ...results.map((r) => r.id.length));
  const sectionWidth = Math.max(7, ...results.map((r) => r.section.length));
  const line = (outcome: string, id: string, section: string, message: string) =>
    `${outcome.padEnd(5)} ${id.padEnd(idWidth)} ${section.padEnd(sectionWidth)} ${message}`;
  const rows = results.map((r) => line(r.outcome.toUpperCase(), r.id, r.section, r.message));
  const count = (outcome: string) => results.filter((r) => r.outcome === outcome).length;
  return [
    line('', 'check', 'section', 'what was found'),
    ...rows,
    '',
    `Open311 conformance: ${count('pass')} pass, ${count('fail')} fail, ${count('warn')} warn, ${count('skip')} skip`,
  ].join('\n');
}

/** Runs the suite as the command line does; returns the exit code (0 all passed or warned, 1 a fail, 2 bad arguments). */
export async function main(argv: readonly string[], print: (text: string) => void = console.log): Promise<number> {
  const options = parseArgs(argv);
  if ('error' in options) {
    print(options.error);
    return 2;
  }
  print(`Open311 GeoReport v2 conformance: ${options.baseUrl}${options.post ? '' : ' (no POST)'}\n`);
  const results = await runConformance(options);
  print(formatTable(results));
  return results.some((r) => r.outcome === 'fail') ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
