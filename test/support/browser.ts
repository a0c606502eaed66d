/**
 * Headless Chromium (Debian's package) through playwright-core, for page tests. Tests that
 * need it are skipped, with the reason printed, when there is no chromium on the machine;
 * .ci/run installs it, so CI always runs them.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots go (git-ignored). */
export const TEST_OUTPUT = path.resolve(import.meta.dirname, '..', '..', 'test-output');

export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.info(`Browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

/** Launches headless Chromium with the flags this closed network needs. */
export async function launchBrowser(): Promise<Browser> {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * A desktop-sized page that records into `errors` every script error, and every console error
 * (CSP violations and failed script loads show up there), so a test can check there were none.
 */
export async function watchedPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return page;
}
