/**
 * Where things are, whether the benchmark runs compiled (dist/bench/) or from source.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The project folder: the nearest one above this file with package.json and locales/. */
export function projectRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'locales'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('Cannot find the project folder (package.json with locales/)');
    dir = parent;
  }
  return dir;
}

/** A compiled script of the benchmark (dist/bench/<name>.js). */
export function benchScript(name: string): string {
  return path.join(projectRoot(), 'dist', 'bench', `${name}.js`);
}

/** The production build's entry point, as `npm start` runs it. */
export function serviceMain(): string {
  return path.join(projectRoot(), 'dist', 'src', 'main.js');
}
