/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and sums self time per function and per area
 * (a package under node_modules, a folder of CivicLine, node's internals, the garbage
 * collector), so the results say what a turn's CPU time is spent on.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function or area, in ms and as a share of the busy (non-idle) time. */
export interface ProfileEntry {
  name: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  busyMs: number;
  topFunctions: ProfileEntry[];
  /**
   * Inclusive time (the function and everything it called; once per sample however often it is
   * on the stack): which of our functions a turn's time is spent under. Absent in older results.
   */
  topInclusive?: ProfileEntry[];
  byArea: ProfileEntry[];
}

/**
 * Sums a profile's samples by function and by area; `top` entries of each. Samples in the first
 * `skipMs` of the profile (start-up: loading modules, training the NLU) are left out.
 */
export function summarizeProfile(file: string, options: { top?: number; skipMs?: number } = {}): ProfileSummary {
  const top = options.top ?? 25;
  const skipUs = (options.skipMs ?? 0) * 1000;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const byFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busyUs = 0;
  let elapsedUs = 0;
  for (const [i, id] of profile.samples.entries()) {
    elapsedUs += profile.timeDeltas[i] ?? 0;
    const node = nodes.get(id);
    if (!node || elapsedUs < skipUs) continue;
    const us = profile.timeDeltas[i + 1] ?? 0;
    const { functionName, url } = node.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const name = functionLabel(node);
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const onStack = new Set<string>();
    for (let at: ProfileNode | undefined = node; at; at = nodes.get(parents.get(at.id) ?? -1)) onStack.add(functionLabel(at));
    for (const each of onStack) inclusive.set(each, (inclusive.get(each) ?? 0) + us);
    const area = areaOf(functionName, url);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const entries = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  // The root and the event loop's entry points are on every stack: they say nothing.
  for (const name of inclusive.keys()) if (name.startsWith('(root)') || name.startsWith('processTicksAndRejections')) inclusive.delete(name);
  return { busyMs: busyUs / 1000, topFunctions: entries(byFunction), topInclusive: entries(inclusive), byArea: entries(byArea) };
}

/** A function as the summary names it: its name and where it is defined. */
function functionLabel(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = shortUrl(url);
  return `${functionName || '(anonymous)'}${where ? ` ${where}:${lineNumber + 1}` : ''}`;
}

function shortUrl(url: string): string {
  if (!url) return '';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

/** A package (`lmdb`, `@scope/name`), a CivicLine folder (`src/store`), `node` or a V8 pseudo-entry. */
function areaOf(functionName: string, url: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node (core)';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) {
    const parts = url.slice(dist + '/dist/'.length).split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  return url;
}
