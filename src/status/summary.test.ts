import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atomFeed, rssFeed } from './feeds.js';
import { statusDocuments } from './summary.js';
import type { StatusEntry, StatusSnapshot } from './types.js';

const at = Date.parse('2026-12-07T10:00:00Z');
const incident: StatusEntry = { id: 'incident-1', kind: 'incident', title: 'Sign-in slow <b>', text: '', components: ['sign-in'], status: 'identified', impact: 'major', startsAt: at - 60_000, createdAt: at - 60_000, updatedAt: at, updates: [{ at, status: 'identified', text: 'A & B' }, { at: at - 60_000, status: 'investigating', text: 'Looking' }] };
const maintenance: StatusEntry = { id: 'maintenance-1', kind: 'maintenance', title: 'Upgrade', text: 'PostgreSQL 17', components: ['api'], status: 'scheduled', impact: 'none', startsAt: at + 3_600_000, endsAt: at + 7_200_000, createdAt: at, updatedAt: at, updates: [] };
const snapshot: StatusSnapshot = { format: 'tresor-status/1', checkedAt: at, storedAt: at, databaseDown: false, components: [{ id: 'api', state: 'operational' }, { id: 'sign-in', state: 'degraded_performance', reason: 'slow' }], entries: [incident, maintenance, { ...incident, id: 'incident-0', status: 'resolved' }], days: [] };

describe('the Statuspage documents', () => {
  it('have the shape status clients read', () => {
    const { summary, components } = statusDocuments({ name: 'Tresor', url: 'https://vault.example.org/status' }, snapshot);
    assert.deepEqual(Object.keys(summary).slice(0, 5), ['page', 'status', 'components', 'incidents', 'scheduled_maintenances']);
    assert.deepEqual(summary.page, { id: 'tresor', name: 'Tresor', url: 'https://vault.example.org/status', time_zone: 'Etc/UTC', updated_at: '2026-12-07T10:00:00.000Z' });
    assert.deepEqual(summary.status, { indicator: 'major', description: 'Partial System Outage' });
    assert.deepEqual(summary.components.map((c) => [c.id, c.name, c.status]), [['api', 'API', 'operational'], ['sign-in', 'Sign-in', 'degraded_performance']]);
    // Unresolved only, with updates newest first.
    assert.deepEqual(summary.incidents.map((i) => i.id), ['incident-1']);
    assert.deepEqual(summary.incidents[0]?.incident_updates.map((u) => u.status), ['identified', 'investigating']);
    assert.equal(summary.scheduled_maintenances[0]?.scheduled_until, '2026-12-07T12:00:00.000Z');
    assert.equal(components.components.length, 2);
  });
});

describe('the feeds', () => {
  it('are Atom (RFC 4287) and RSS 2.0 with escaped text', () => {
    const input = { title: 'Tresor status', pageUrl: 'https://vault.example.org/status', entries: snapshot.entries, updatedAt: at };
    const atom = atomFeed(input);
    assert.match(atom, /^<\?xml version="1.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/);
    assert.match(atom, /<entry><id>https:\/\/vault.example.org\/status#incident-1<\/id><title>Incident: Sign-in slow &lt;b&gt; \(identified\)<\/title><updated>2026-12-07T10:00:00.000Z<\/updated>/);
    assert.match(atom, /A &amp; B/);
    assert.doesNotMatch(atom, /<b>/);
    const rss = rssFeed(input);
    assert.match(rss, /<rss version="2.0"><channel><title>Tresor status<\/title>/);
    assert.match(rss, /<pubDate>Mon, 07 Dec 2026 10:00:00 GMT<\/pubDate>/);
    assert.equal(rss.match(/<item>/g)?.length, 3);
  });
});
