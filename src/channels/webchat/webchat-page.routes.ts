/**
 * The web chat's page at `/chat` (Microsoft's Web Chat on CivicLine's own Direct Line), its
 * scripts, and the embed snippet for a city's site.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import type { Config } from '../../config.js';
import type { Translator } from '../../core/i18n.js';

/** The parts of the running service the web chat's page uses. */
export interface WebChatPageRoutesDeps {
  config: Pick<Config, 'rootDir' | 'defaultLocale' | 'webChatAccentColor' | 'cityName'>;
  i18n: Translator;
}

/** The routes of the web chat's page (Web Chat on our Direct Line), its scripts and the embed snippet. */
export function webChatPageRoutes(service: WebChatPageRoutesDeps): Router {
  const router = Router();
  const { config, i18n } = service;
  const pagesDir = path.join(config.rootDir, 'src', 'channels', 'webchat', 'pages');
  const city = { city: config.cityName };
  const page = readFileSync(path.join(pagesDir, 'webchat.html'), 'utf8')
    .replaceAll('{{lang}}', () => config.defaultLocale)
    .replaceAll('{{accent}}', () => config.webChatAccentColor)
    .replaceAll('{{languageLabel}}', () => escapeHtml(i18n.t(config.defaultLocale, 'web.language_label')))
    .replaceAll('{{title}}', () => escapeHtml(i18n.t(config.defaultLocale, 'web.title', city)))
    .replace('{{config}}', () => scriptJson(pageConfig(service)));
  const app = readFileSync(path.join(pagesDir, 'webchat-app.js'), 'utf8');
  const embed = readFileSync(path.join(pagesDir, 'embed.js'), 'utf8').replace("'{{config}}'", () =>
    scriptJson({ label: i18n.t(config.defaultLocale, 'web.open_chat', city), accent: config.webChatAccentColor }),
  );
  // Microsoft's Web Chat bundle, served from here: no CDN, works on a closed network.
  const webChatBundle = path.join(config.rootDir, 'node_modules', 'botframework-webchat', 'dist', 'webchat.js');

  router.get('/chat', (_req, res) => {
    // Web Chat styles itself with inline styles; scripts and connections stay on this origin.
    res.set(
      'Content-Security-Policy',
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; connect-src 'self' blob: ws: wss:; worker-src 'self' blob:; frame-ancestors *",
    );
    res.type('html').send(page);
  });
  router.get('/chat/app.js', (_req, res) => {
    res.type('application/javascript').send(app);
  });
  router.get('/chat/embed.js', (_req, res) => {
    res.type('application/javascript').set('Access-Control-Allow-Origin', '*').send(embed);
  });
  router.get('/chat/webchat.js', (_req, res) => {
    res.sendFile(webChatBundle, { maxAge: '7d' });
  });

  return router;
}

/** What the page needs: its language, colour, and its own words (the header's too) in every language. */
function pageConfig(service: WebChatPageRoutesDeps) {
  const { i18n, config } = service;
  const strings = Object.fromEntries(
    i18n.locales.map((locale) => [
      locale,
      {
        name: i18n.t(locale, 'language.name'),
        title: i18n.t(locale, 'web.title', { city: config.cityName }),
        languageLabel: i18n.t(locale, 'web.language_label'),
        shareLocation: i18n.t(locale, 'web.share_location'),
        locationShared: i18n.t(locale, 'web.location_shared'),
      },
    ]),
  );
  return { locale: config.defaultLocale, accent: config.webChatAccentColor, initials: config.cityName.slice(0, 2).toUpperCase(), strings };
}

/** JSON safe inside a <script> element or a script file. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
