import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { regionPathsOf, regionProblems, type RegionSettings } from './region-rules.js';

const base: RegionSettings = {
  dataDir: '/srv/a',
  defaultRegion: 'default',
  storage: { engine: 'sqlite', postgres: { schemaPrefix: 'tresor' } },
  keys: {},
  backup: { repository: '/backup/a' },
  audit: {},
};
const withRegions = (regions: RegionSettings['regions'], more: Partial<RegionSettings> = {}): RegionSettings => ({ ...base, ...more, regions });
const region = (dir: string, more: object = {}) => ({ dataDir: dir, keys: {}, ...more });

describe('region rules', () => {
  it('without regions there is one region, the top-level settings, with their defaults', () => {
    assert.deepEqual(regionProblems(base), []);
    const [home, ...rest] = regionPathsOf(base);
    assert.equal(rest.length, 0);
    assert.equal(home?.name, 'default');
    assert.equal(home?.dataDir, '/srv/a');
    assert.equal(home?.auditCheckpointDir, '/srv/a/audit-checkpoints');
    assert.equal(home?.backup.repository, '/backup/a');
  });

  it('accepts separate regions and fills in their defaults', () => {
    const config = withRegions({ b: region('/srv/b', { backup: { repository: '/backup/b' }, location: 'Zürich, CH' }) }, { defaultRegion: 'b' });
    assert.deepEqual(regionProblems(config), []);
    const b = regionPathsOf(config)[1];
    assert.equal(b?.auditCheckpointDir, '/srv/b/audit-checkpoints');
    assert.equal(b?.location, 'Zürich, CH');
  });

  it('refuses a data directory inside another region’s, a shared master key file or repository, and an unknown default', () => {
    const problems = (regions: RegionSettings['regions'], more: Partial<RegionSettings> = {}) => regionProblems(withRegions(regions, more)).join('\n');
    assert.match(problems({ b: region('/srv/a/b') }), /regions\.b\.dataDir: .*share a data directory/);
    assert.match(problems({ b: region('/srv/b', { keys: { masterKeyFile: '/srv/a/master-key.json' } }) }), /regions\.b\.keys\.masterKeyFile/);
    assert.match(problems({ b: region('/srv/b', { backup: { repository: '/backup/a' } }) }), /regions\.b\.backup\.repository/);
    assert.match(problems({ b: region('/srv/b', { keys: { masterKey: 'same' } }) }, { keys: { masterKey: 'same' } }), /regions\.b\.keys\.masterKey:/);
    assert.match(problems({ b: region('/srv/b') }, { defaultRegion: 'c' }), /config\.defaultRegion/);
    assert.match(problems({ b: { keys: {} } }), /regions\.b\.dataDir: required/);
    assert.match(problems({ b: region('/srv/b', { postgres: { url: 'postgres://x/y' } }) }), /every region uses the same engine/);
    assert.match(problems({ default: { keys: {}, dataDir: '/srv/x' } }), /regions\.default: the home region is the top-level settings/);
    assert.deepEqual(regionProblems(withRegions({ default: { keys: {}, label: 'EU', location: 'Frankfurt, DE' }, b: region('/srv/b') })), []);
  });
});
