/**
 * The layering rule (STYLE): the engine, the domain and the dialogs import nothing from
 * channels, store or http, nor any provider or database library. Checked on the source text,
 * so a new import that breaks it fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const FORBIDDEN = [/\/channels\//, /\/store\//, /\/http\//, /^mongoose$/, /^lmdb$/, /^twilio/, /^telegraf/, /^botbuilder/, /^express$/, /^pino$/];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

describe('layering', () => {
  for (const layer of ['src/engine', 'src/domain', 'dialogs']) {
    it(`${layer} depends on no channel, store, http or provider library`, () => {
      const offending = sources(path.join(ROOT, layer)).flatMap((file) =>
        importsOf(file)
          .filter((spec) => FORBIDDEN.some((rule) => rule.test(spec)))
          .map((spec) => `${path.relative(ROOT, file)} imports ${spec}`),
      );
      expect(offending).toEqual([]);
    });
  }

  it('imports botbuilder only in src/channels/webchat/ (so its successor is a one-folder swap)', () => {
    const importers = sources(path.join(ROOT, 'src'))
      .filter((file) => importsOf(file).some((spec) => /^botbuilder|^botframework-/.test(spec)))
      .map((file) => path.relative(ROOT, file));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((file) => !file.startsWith('src/channels/webchat/'))).toEqual([]);
  });

  it('reads process.env only in src/config.ts', () => {
    const readers = sources(path.join(ROOT, 'src')).filter((file) => /process\.env/.test(readFileSync(file, 'utf8')));
    expect(readers.map((file) => path.relative(ROOT, file))).toEqual(['src/config.ts']);
  });
});
