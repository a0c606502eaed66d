/**
 * The layering (STYLE, "The shape"), checked on the source text of every file, so an import that
 * runs back up the order fails here:
 *
 *   entry points (main, chat, staff-cli) → http → service → staff → channels → pipeline
 *     → dialogs → engine → domain → core, and store between the pipeline and the domain
 *     (the engine and the dialogs never touch the store); config is a leaf that the
 *     pipeline and everything below it do without.
 *
 * STYLE puts engine, dialogs, domain and store side by side; the code has an order among them
 * (dialogs are data for the engine, the store keeps the domain's records), and this holds it.
 *
 * Also: the engine, the domain and the dialogs use no provider or database library; a channel's
 * folder imports no other channel's folder (adding a channel is one new folder); botbuilder
 * stays in the web chat's folder; only config.ts reads process.env.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

/** The parts of the code, each with the parts it may import (besides itself). */
const MAY_IMPORT = {
  entry: ['http', 'service', 'staff', 'channels', 'pipeline', 'dialogs', 'engine', 'domain', 'store', 'core', 'config'],
  http: ['service', 'staff', 'channels', 'pipeline', 'dialogs', 'engine', 'domain', 'store', 'core', 'config'],
  // Builds store, engine, pipeline, channels and staff desks; http and the entry points use it.
  service: ['staff', 'channels', 'pipeline', 'dialogs', 'engine', 'domain', 'store', 'core', 'config'],
  staff: ['channels', 'pipeline', 'dialogs', 'engine', 'domain', 'store', 'core', 'config'],
  channels: ['pipeline', 'dialogs', 'engine', 'domain', 'store', 'core', 'config'],
  pipeline: ['dialogs', 'engine', 'domain', 'store', 'core'],
  dialogs: ['engine', 'domain', 'core'],
  engine: ['domain', 'core'],
  store: ['domain', 'core'],
  domain: ['core'],
  core: [],
  // The only reader of process.env: everything else gets its settings passed in.
  config: [],
} as const satisfies Record<string, readonly string[]>;
type Part = keyof typeof MAY_IMPORT;

const ENTRY_POINTS = ['src/main.ts', 'src/chat.ts', 'src/staff-cli.ts'];
const PROVIDER_LIBRARIES = [/^mongoose$/, /^lmdb$/, /^twilio/, /^telegraf/, /^botbuilder/, /^botframework-/, /^express$/, /^pino$/, /^ws$/, /^busboy$/];
/** Folders of test/ that mirror no folder of src/. */
const TEST_ONLY_FOLDERS = ['bench', 'browser', 'dialogs', 'faults', 'fixtures', 'open311', 'support'];

/** The part a repository path belongs to, or undefined for a path outside any part. */
function partOf(file: string): Part | undefined {
  if (ENTRY_POINTS.includes(file)) return 'entry';
  if (file === 'src/service.ts') return 'service';
  if (file === 'src/config.ts') return 'config';
  if (file.startsWith('dialogs/')) return 'dialogs';
  const folder = /^src\/([^/]+)\//.exec(file)?.[1];
  // Own keys only (`constructor` is no part), and not the rows that stand for single files.
  const fileRows: readonly string[] = ['entry', 'service', 'config'];
  return folder !== undefined && Object.hasOwn(MAY_IMPORT, folder) && !fileRows.includes(folder) ? (folder as Part) : undefined;
}

/** The channel folder a path is in (`src/channels/sms/...` is `sms`), or null for channels' shared files. */
function channelOf(file: string): string | null {
  return /^src\/channels\/([^/]+)\//.exec(file)?.[1] ?? null;
}

interface SourceFile {
  /** The repository path, `src/store/store.port.ts`. */
  file: string;
  /** Every specifier it imports or re-exports, statically or dynamically. */
  imports: string[];
}

/** Every broken rule in these files, as `file imports spec (why)`. */
function violations(files: readonly SourceFile[]): string[] {
  return files.flatMap(({ file, imports }) => {
    const from = partOf(file);
    if (!from) return [`${file} is in no part of the layering: give its folder a row in MAY_IMPORT`];
    return imports.flatMap((spec) => {
      if (!spec.startsWith('.')) {
        const pure = from === 'engine' || from === 'domain' || from === 'dialogs' || from === 'core';
        return pure && PROVIDER_LIBRARIES.some((rule) => rule.test(spec)) ? [`${file} imports ${spec} (a provider library)`] : [];
      }
      const target = path.posix.join(path.posix.dirname(file), spec).replace(/\.js$/, '.ts');
      const to = partOf(target);
      if (!to) return [`${file} imports ${spec}, outside every part`];
      if (to !== from && !(MAY_IMPORT[from] as readonly string[]).includes(to)) return [`${file} imports ${spec} (${from} may not import ${to})`];
      if (from === 'channels' && to === 'channels') {
        const own = channelOf(file);
        const theirs = channelOf(target);
        if (theirs !== null && theirs !== own) return [`${file} imports ${spec} (a channel's folder is its own)`];
      }
      return [];
    });
  });
}

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    return entry.isDirectory() ? sources(relative) : entry.name.endsWith('.ts') ? [relative] : [];
  });
}

/**
 * What a file imports. Fail-safe for our own modules: every string literal that names a relative
 * module (`./x.js`, `../y.ts`: NodeNext imports always carry the extension) counts, however it
 * is used (a static, dynamic or type import, `export *`, `require`, a template literal).
 * Packages count where they follow `from`, `import`, `import(` or `require(`.
 */
function importsOf(text: string): string[] {
  const relative = [...text.matchAll(/(['"`])(\.\.?\/[^'"`$\n]*?\.(?:js|ts|json))\1/g)].map((m) => m[2]!);
  const packages = [
    /\bfrom\s+['"]([^'"./][^'"]*)['"]/g,
    /\bimport\s+['"]([^'"./][^'"]*)['"]/g,
    /\b(?:import|require)\(\s*['"`]([^'"`./][^'"`]*)['"`]/g,
  ].flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]!));
  return [...relative, ...packages];
}

const tree: SourceFile[] = [...sources('src'), ...sources('dialogs')].map((file) => ({
  file,
  imports: importsOf(readFileSync(path.join(ROOT, file), 'utf8')),
}));

describe('layering', () => {
  it('every import in src/ and dialogs/ runs down the order', () => {
    expect(tree.length).toBeGreaterThan(100);
    expect(violations(tree)).toEqual([]);
  });

  it('catches an import that runs back up, one between channels, a provider library in the engine and an unplaced folder', () => {
    expect(
      violations([
        { file: 'src/store/store.port.ts', imports: ['../http/app.js'] },
        { file: 'src/core/message.ts', imports: ['../engine/types.js'] },
        { file: 'src/pipeline/turn-pipeline.ts', imports: ['../channels/channel.js'] },
        { file: 'src/engine/advance.ts', imports: ['../store/store.port.js', 'telegraf'] },
        { file: 'src/domain/records.ts', imports: ['../../dialogs/index.js'] },
        { file: 'src/staff/report-desk.ts', imports: ['../service.js'] },
        { file: 'src/channels/sms/sms.routes.ts', imports: ['../telegram/telegram.channel.js', '../channel.js', './sms-sender.js'] },
        { file: 'src/channels/render.ts', imports: ['./webchat/activity-mapping.js'] },
        { file: 'src/pipeline/turn-pipeline.ts', imports: ['../config.js'] },
        { file: 'src/service.ts', imports: ['./http/app.js', './main.js'] },
        { file: 'dialogs/menu.dialog.ts', imports: ['../src/pipeline/turn-pipeline.js', '../src/engine/types.js'] },
        { file: 'src/inbox/inbox.ts', imports: [] },
        { file: 'src/constructor/x.ts', imports: [] },
      ]),
    ).toEqual([
      'src/store/store.port.ts imports ../http/app.js (store may not import http)',
      'src/core/message.ts imports ../engine/types.js (core may not import engine)',
      'src/pipeline/turn-pipeline.ts imports ../channels/channel.js (pipeline may not import channels)',
      'src/engine/advance.ts imports ../store/store.port.js (engine may not import store)',
      'src/engine/advance.ts imports telegraf (a provider library)',
      'src/domain/records.ts imports ../../dialogs/index.js (domain may not import dialogs)',
      'src/staff/report-desk.ts imports ../service.js (staff may not import service)',
      "src/channels/sms/sms.routes.ts imports ../telegram/telegram.channel.js (a channel's folder is its own)",
      "src/channels/render.ts imports ./webchat/activity-mapping.js (a channel's folder is its own)",
      'src/pipeline/turn-pipeline.ts imports ../config.js (pipeline may not import config)',
      'src/service.ts imports ./http/app.js (service may not import http)',
      'src/service.ts imports ./main.js (service may not import entry)',
      'dialogs/menu.dialog.ts imports ../src/pipeline/turn-pipeline.js (dialogs may not import pipeline)',
      'src/inbox/inbox.ts is in no part of the layering: give its folder a row in MAY_IMPORT',
      'src/constructor/x.ts is in no part of the layering: give its folder a row in MAY_IMPORT',
    ]);
  });

  it('reads imports of every form', () => {
    const text = [
      "import type {\n  A, // the service's own\n  B,\n} from './a.js';",
      "export { c } from '../b.js';",
      "export * from '../b2.js';",
      "import './c.js';",
      "const d = await import('../d.js', { with: {} });",
      '/* x */ import e from "./e.js"; const f = require(`../f.js`);',
      "import { z } from 'zod'; const t = await import('telegraf');",
      "const notAModule = './data'; const alsoNot = '../README.md';",
    ].join('\n');
    expect(importsOf(text).sort()).toEqual(['../b.js', '../b2.js', '../d.js', '../f.js', './a.js', './c.js', './e.js', 'telegraf', 'zod'].sort());
  });

  it('imports botbuilder only in src/channels/webchat/ (so its successor is a one-folder swap)', () => {
    const importers = tree.filter(({ imports }) => imports.some((spec) => /^botbuilder|^botframework-/.test(spec))).map(({ file }) => file);
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((file) => !file.startsWith('src/channels/webchat/'))).toEqual([]);
  });

  it('reads process.env only in src/config.ts', () => {
    const readers = sources('src').filter((file) => /process\.env/.test(readFileSync(path.join(ROOT, file), 'utf8')));
    expect(readers).toEqual(['src/config.ts']);
  });

  it('test/ mirrors the folders of src/', () => {
    const folders = (dir: string) =>
      readdirSync(path.join(ROOT, dir), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    const unmirrored = folders('test').filter((folder) => !folders('src').includes(folder) && !TEST_ONLY_FOLDERS.includes(folder));
    expect(unmirrored).toEqual([]);
  });
});
