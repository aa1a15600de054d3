import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostOf, postgresPlace, repositoryPlace } from './ropa-regions.js';

describe('where data lives, as records of processing say it', () => {
  it('never shows a PostgreSQL user or password', () => {
    assert.equal(postgresPlace('postgres://tresor:s3cret-pw@db.example.net:5433/vault'), 'db.example.net:5433/vault');
    assert.equal(postgresPlace(undefined), 'not configured');
  });
  it('names an SFTP repository by host only, a local one by path', () => {
    assert.equal(repositoryPlace('sftp://backup:pw@store.example.org:2222/tresor'), 'SFTP host store.example.org:2222');
    assert.equal(repositoryPlace('/srv/backups'), 'local path /srv/backups');
    assert.equal(repositoryPlace(undefined), 'none');
  });
  it('shows a webhook by host: its path may carry a token', () => {
    assert.equal(hostOf('https://hooks.example.com/services/T000/B000/XXXXXXXX'), 'hooks.example.com');
    assert.equal(hostOf('not a url'), 'unparseable URL');
  });
});
