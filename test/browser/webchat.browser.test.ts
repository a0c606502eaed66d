/**
 * The web chat page in real headless Chromium: Microsoft's Web Chat on CivicLine's own Direct
 * Line, a report made by clicking suggested actions and typing (its photo readable in the
 * resident's bubble), the conversation still there after a reload, and a header that follows
 * the conversation's language. Screenshots go to test-output/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/http.js';
import { hasChromium, launchBrowser, TEST_OUTPUT } from '../support/browser.js';

let app: RunningApp;
let browser: Browser;

describe.skipIf(!hasChromium)('web chat page', () => {
  beforeAll(async () => {
    app = await startTestApp({ WEB_CHAT_ACCENT_COLOR: '#1a7f37' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  async function send(page: Page, text: string): Promise<void> {
    const box = page.getByRole('textbox');
    await box.fill(text);
    await box.press('Enter');
  }

  it('files a report by clicking and typing, and shows it again after a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 480, height: 900 } });
    // Web Chat is a heavy page: on a machine busy with the other tests, a step can take a while.
    page.setDefaultTimeout(60_000);
    // Web Chat renders a message more than once (the bubble, and a hidden copy for screen readers,
    // which may come first in the page): the waits below are for what the resident sees.
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${app.url}/chat`);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.getByText('What would you like to do?').filter({ visible: true }).first().waitFor({ timeout: 20_000 });

    await page.getByRole('button', { name: 'Report a problem' }).last().click();
    await page.getByText('What kind of problem is it?').filter({ visible: true }).first().waitFor();
    await page.getByRole('button', { name: 'Pothole', exact: true }).last().click();
    await page.getByText('Where is it?').filter({ visible: true }).first().waitFor();
    await send(page, 'Elm St and 3rd Ave');
    await page.getByText('Describe the problem').filter({ visible: true }).first().waitFor();
    await send(page, 'A deep hole in the crosswalk');
    // A photo through Web Chat's own upload button (Direct Line's multipart upload).
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
    await page.locator('input[type=file]').setInputFiles({ name: 'pothole.png', mimeType: 'image/png', buffer: png });
    // Web Chat holds the photo in the send box until the resident presses Send. A press that
    // comes before Web Chat has taken the file in sends nothing (seen on a busy machine), and
    // the photo stays in the box: pressed again until the read-back comes (an empty box sends nothing).
    const readBack = page.getByText('Please check:').filter({ visible: true }).first();
    for (let press = 0; press < 5; press++) {
      await page.getByRole('button', { name: 'Send' }).click();
      if (
        await readBack.waitFor({ timeout: 10_000 }).then(
          () => true,
          () => false,
        )
      )
        break;
    }
    await readBack.waitFor();
    await expect.poll(() => page.locator('p.webchat__text-content--is-plain', { hasText: /^1 photo$/ }).count()).toBeGreaterThan(0);
    // The photo in the resident's own bubble: its file name and size are readable on the
    // bubble's accent background (they were accent on accent and black on it).
    const attachment = page.locator('.webchat__bubble--from-user .webchat__fileContent').filter({ visible: true }).first();
    await attachment.waitFor();
    for (const part of ['.webchat__fileContent__fileName', '.webchat__fileContent__size']) {
      const ratio = await attachment.locator(part).evaluate(textContrast);
      expect(ratio, part).toBeGreaterThanOrEqual(4.5);
    }
    await attachment.screenshot({ path: path.join(TEST_OUTPUT, 'webchat-photo-bubble.png') });
    // Plain text: the read-back keeps its lines.
    await expect.poll(() => page.locator('p.webchat__text-content--is-plain', { hasText: /^Pothole at Elm St and 3rd Ave$/ }).count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Yes, send it' }).last().click();
    // Web Chat renders each message more than once (the bubble, and copies for screen readers).
    const filed = page
      .getByText(/Your report is R-[0-9A-Z]{5}/)
      .filter({ visible: true })
      .first();
    await filed.waitFor();
    const ref = /R-[0-9A-Z]{5}/.exec((await filed.textContent()) ?? '')![0];
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'webchat-report.png'), fullPage: true });
    expect((await app.service.store.reports.get(ref))?.category).toBe('pothole');

    await page.reload();
    await page.getByText(`Your report is ${ref}`).filter({ visible: true }).first().waitFor({ timeout: 20_000 });
    // The whole conversation, from its greeting (an empty watermark means "from the start").
    expect(await page.getByText("Hi! This is Springfield's help line.").count()).toBeGreaterThan(0);
    // The resumed conversation goes on.
    await send(page, 'status ' + ref);
    await page.getByText('Status: Open').filter({ visible: true }).first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'webchat-after-reload.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('switches the conversation to Spanish from the language buttons', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.url}/chat`);
    await page.getByText('What would you like to do?').filter({ visible: true }).first().waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Español' }).last().click();
    await page.getByText('¿Qué quieres hacer?').filter({ visible: true }).first().waitFor();
    await expect.poll(() => page.getAttribute('html', 'lang')).toBe('es');
    // The header follows the conversation's language, not the page's default.
    await expect.poll(() => page.locator('header h1').textContent()).toBe('Línea de ayuda de Springfield');
    expect(await page.title()).toBe('Línea de ayuda de Springfield');
    expect(await page.getAttribute('nav', 'aria-label')).toBe('Idioma');
    await page.getByRole('button', { name: 'English' }).last().click();
    await expect.poll(() => page.locator('header h1').textContent()).toBe('Springfield help line');
    await page.close();
  }, 60_000);

  it('embeds in a city page: a button in the city colour that opens the chat only when clicked', async () => {
    const page = await browser.newPage();
    // A stand-in for the city's own site: any page with the one-line snippet in its head.
    // (Served from the app's origin: Chromium asks permission before one loopback origin
    // reaches another, which a real city site on the internet never does.)
    const citySite = `${app.url}/city-site`;
    await page.route(citySite, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><html><head><script src="${app.url}/chat/embed.js"></script></head><body><h1>City</h1></body></html>`,
      }),
    );
    await page.goto(citySite);
    const open = page.getByRole('button', { name: 'Chat with Springfield' });
    await open.waitFor();
    expect(await open.evaluate((b) => b.ownerDocument.defaultView!.getComputedStyle(b).backgroundColor)).toBe('rgb(26, 127, 55)');
    expect(await page.locator('iframe').count()).toBe(0);
    await open.click();
    await page.frameLocator('iframe').getByText('What would you like to do?').filter({ visible: true }).first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('iframe').isHidden()).toBe(true);
    await page.close();
  }, 60_000);
});

/** The little of a DOM element that `textContrast` reads (tests compile without the DOM library). */
interface PageElement {
  ownerDocument: { defaultView: { getComputedStyle(element: PageElement): { color: string; backgroundColor: string } } | null };
  parentElement: PageElement | null;
}

/**
 * The WCAG contrast ratio of an element's text colour against the first opaque background
 * behind it (runs in the page).
 */
function textContrast(element: PageElement): number {
  const view = element.ownerDocument.defaultView!;
  const rgb = (colour: string): number[] => (colour.match(/[\d.]+/g) ?? []).map(Number);
  let behind: PageElement | null = element;
  let background = [255, 255, 255];
  while (behind) {
    const [r = 0, g = 0, b = 0, alpha = 1] = rgb(view.getComputedStyle(behind).backgroundColor);
    if (alpha > 0.5) {
      background = [r, g, b];
      break;
    }
    behind = behind.parentElement;
  }
  const luminance = ([r = 0, g = 0, b = 0]: number[]): number => {
    const linear = (c: number): number => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  const [light, dark] = [luminance(rgb(view.getComputedStyle(element).color)), luminance(background)].sort((a, b) => b - a);
  return (light! + 0.05) / (dark! + 0.05);
}
