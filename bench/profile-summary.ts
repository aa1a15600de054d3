/**
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]`: the profile's top
 * self-time entries (function, file:line, % of all samples) and the share by source area (our
 * modules by folder, node_modules by package, node internals, garbage collection, idle), as
 * Markdown. Self time is where the CPU was, not who called it.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function areaOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'V8/native (program)';
  if (url === '') return `native: ${name || '(anonymous)'}`;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules !== null) return `npm: ${modules[1] as string}`;
  // dist/ is the compiled src/: one area per module either way.
  const ours = /\/(src|dist|bench)\/(.+?)\/?[^/]*$/.exec(url);
  if (ours !== null) return `${ours[1] === 'dist' ? 'src' : (ours[1] as string)}/${(ours[2] as string).split('/')[0] as string}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0] as string}`;
  return url;
}

export function summariseProfile(file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (node === undefined) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^.*\/(src|dist|bench|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    const label = `${functionName || '(anonymous)'}${where}`;
    self.set(label, (self.get(label) ?? 0) + ms);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + ms);
  });
  const pct = (ms: number) => `${((ms / total) * 100).toFixed(1)} %`;
  const rows = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([label, ms]) => `| ${label.replace(/\|/g, '\\|')} | ${pct(ms)} |`);
  return [
    `${(total / 1000).toFixed(1)} s sampled.`,
    '',
    '| self time: function | share |',
    '|---|---:|',
    ...rows(self, top),
    '',
    '| self time by area | share |',
    '|---|---:|',
    ...rows(areas, 12),
  ].join('\n');
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  console.log(summariseProfile(file, Number(process.argv[3] ?? 15)));
}
