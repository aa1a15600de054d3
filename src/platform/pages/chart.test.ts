import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { niceTicks, timeSeriesChart } from './chart.js';

describe('timeSeriesChart', () => {
  it('draws a line through every point inside the plot, with the unit and a text alternative, and no style attribute', () => {
    const points = [70.2, 71.4, 69.8].map((value, i) => ({ at: new Date(Date.UTC(2026, 0, 1 + i * 10)), value }));
    const svg = timeSeriesChart({ locale: 'en', title: 'Body weight <kg>', unit: 'kg', points, id: 'w' }).text;
    assert.match(svg, /<title id="w-title">Body weight &#60;kg&#62;<\/title>/, 'the title is escaped');
    assert.match(svg, /<desc id="w-desc">[^<]*69\.8–71\.4 kg, 3 × /);
    assert.equal((svg.match(/<circle /g) ?? []).length, 3);
    const coordinates = /points="([^"]+)"/.exec(svg)?.[1]?.split(' ').map((p) => p.split(',').map(Number)) ?? [];
    assert.equal(coordinates.length, 3);
    for (const [x, y] of coordinates) assert.ok((x as number) >= 64 && (x as number) <= 704 && (y as number) >= 16 && (y as number) <= 252, `point ${x},${y} inside the plot`);
    assert.doesNotMatch(svg, /style=/, 'no inline style: the CSP refuses it');
    const labels = [...svg.matchAll(/text-anchor="end">([0-9.,]+)</g)].map((m) => Number((m[1] as string).replace(',', '')));
    assert.ok(Math.min(...labels) <= 69.8 && Math.max(...labels) >= 71.4, `the axis labels (${labels.join(', ')}) cover every value`);
  });

  it('renders nothing for no points, and one point without a line', () => {
    assert.equal(timeSeriesChart({ locale: 'de', title: 'x', unit: 'kg', points: [], id: 'a' }).text, '');
    const one = timeSeriesChart({ locale: 'de', title: 'x', unit: 'kg', points: [{ at: new Date(0), value: 1.5 }], id: 'b' }).text;
    assert.doesNotMatch(one, /polyline/);
    assert.match(one, /1,5 kg/, 'German decimal comma');
  });

  it('picks round ticks', () => {
    assert.deepEqual(niceTicks(69.8, 71.4), [70, 70.5, 71]);
    assert.deepEqual(niceTicks(0, 100), [0, 20, 40, 60, 80, 100]);
  });
});
