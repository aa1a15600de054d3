import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tresorHere } from '../../support/cli.js';

/** What an operator reads from `tresor backup …` on a terminal or in a cron mail. */
describe('tresor backup output', () => {
  let dataDir: string;
  let repository: string;
  const cli = (args: string[]) => tresorHere([...args, '--data-dir', dataDir]);
  const backup = (args: string[]) => cli(['backup', ...args, '--repository', repository]);
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-'));
    repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    assert.equal((await cli(['tenant', 'create', 'acme'])).code, 0);
  });
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(repository, { recursive: true, force: true });
  });

  it('warns loudly, once, that the backup key it made inside the data directory must be copied off the machine', async () => {
    const first = await backup(['run']);
    assert.equal(first.code, 0, first.stderr);
    const file = join(dataDir, 'backup-key.json');
    assert.ok(existsSync(file));
    assert.match(first.stderr, /WARNING/);
    assert.ok(first.stderr.includes(file), 'names the file');
    assert.match(first.stderr, /off this machine/);
    assert.match(first.stderr, /TRESOR_BACKUP_KEY/, 'says how to configure it from outside');
    const second = await backup(['run']);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /WARNING/, 'the key exists now: nothing new to warn about');
  });
});
