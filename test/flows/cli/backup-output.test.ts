import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../../src/cli/index.js';
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
    // A few KiB of change is said in KiB, not as "0.0 MiB stored".
    assert.doesNotMatch(second.stdout, /\b0\.0 MiB/);
    assert.match(second.stdout, /, \d+(\.\d+)? (B|KiB) stored;/);
  });

  it('backup list has a header and aligned columns, and --json for scripts', async () => {
    const list = await backup(['list']);
    assert.equal(list.code, 0, list.stderr);
    const [header, ...rows] = list.stdout.trimEnd().split('\n') as [string, ...string[]];
    assert.match(header, /^SNAPSHOT\s+TAKEN \(UTC\)\s+DATA SETS\s+SIZE\s+ADDED\s+VERIFIED\s+VERSION$/);
    assert.ok(rows.length >= 2, list.stdout);
    assert.doesNotMatch(list.stdout, /\t/, 'spaces, not tabs: columns line up on any terminal');
    for (const column of ['TAKEN', 'DATA SETS', 'SIZE', 'ADDED', 'VERIFIED', 'VERSION']) {
      const at = header.indexOf(column);
      for (const row of rows) assert.match(row.slice(at - 2, at), /^ {2}$/, `${column} starts at the same place in: ${row}`);
    }
    const json = await backup(['list', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.equal(parsed.length, rows.length);
    const newest = parsed.at(-1) as { id: string; takenAt: string; bytes: number; dataSets: Array<{ kind: string; id: string; bytes: number }>; verified: unknown };
    assert.ok(rows.at(-1)?.startsWith(newest.id));
    assert.match(newest.takenAt, /^\d{4}-\d{2}-\d{2}T/);
    assert.ok(newest.dataSets.some((d) => d.kind === 'tenant' && d.id === 'acme'));
    assert.equal(newest.bytes, newest.dataSets.reduce((n, d) => n + d.bytes, 0));
    assert.ok(!('chunks' in (newest.dataSets[0] as object)), 'no chunk lists: a summary, not the manifest');
  });

  it('a well-formed command the state refuses is exit 1 with one error line, not a usage error', async () => {
    const id = (await backup(['run'])).stdout.trimEnd().split('\n').at(-1) as string;
    for (const argv of [['restore', '--snapshot', id, '--to', dataDir], ['restore', '--snapshot', id, '--to', join(dataDir, '..')]]) {
      const refused = await backup(argv);
      assert.equal(refused.code, 1, argv.join(' '));
      assert.match(refused.stderr, /^error: [^\n]+\n$/);
    }
    // A live process named in the data directory's server.pid: the CLI must not swap a file under it.
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dataDir, 'server.pid'), `${holder.pid as number}\n`);
      const running = await backup(['restore', '--snapshot', id, '--tenant', 'acme']);
      assert.equal(running.code, 1, running.stderr);
      assert.match(running.stderr, new RegExp(`^error: a Tresor server \\(process ${holder.pid as number}\\) runs on [^\\n]+\\n$`));
    } finally {
      holder.kill();
      rmSync(join(dataDir, 'server.pid'), { force: true });
    }
    const empty = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    try {
      const none = await cli(['backup', 'verify', '--all', '--repository', empty]);
      assert.equal(none.code, 1);
      assert.equal(none.stderr, 'error: no snapshots to verify\n');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

/** Runs `tresor <args>` as on a terminal: the progress bar is drawn through `progress` (main.ts: stderr is a TTY). */
async function onTerminal(args: string[]): Promise<{ code: number; stdout: string; stderr: string; drawn: Array<{ line: string; final: boolean }> }> {
  const drawn: Array<{ line: string; final: boolean }> = [];
  const out: string[] = [];
  const err: string[] = [];
  const result = await runCli({ argv: args, env: { PATH: process.env['PATH'] ?? '' }, stdout: (line) => out.push(`${line}\n`), stderr: (line) => err.push(`${line}\n`), progress: (line, final) => drawn.push({ line, final }) });
  return { code: result.exitCode, stdout: out.join(''), stderr: err.join(''), drawn };
}

describe('tresor backup progress', () => {
  let dataDir: string;
  let repository: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-'));
    repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    assert.equal((await tresorHere(['tenant', 'create', 'acme', '--data-dir', dataDir])).code, 0);
    assert.equal((await tresorHere(['backup', 'run', '--repository', repository, '--data-dir', dataDir])).code, 0);
  });
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(repository, { recursive: true, force: true });
  });

  it('on a terminal, the verify bar advances to 100 % for each data set and is cleared before the result is printed', async () => {
    const verify = await onTerminal(['backup', 'verify', '--repository', repository, '--data-dir', dataDir]);
    assert.equal(verify.code, 0, verify.stderr);
    const bars = verify.drawn.filter((d) => d.line !== '');
    assert.ok(bars.length > 0, 'a bar was drawn');
    assert.ok(bars.some((d) => /100%/.test(d.line)), 'it reaches 100 %');
    assert.doesNotMatch(bars.at(-1)?.line ?? '', /\s0%/, 'the last bar drawn is not stuck at 0 %');
    assert.deepEqual(verify.drawn.at(-1), { line: '', final: false }, 'the bar line is cleared at the end: no stale line');
  });

  it('the platform operators\' data set is not shown as a tenant', async () => {
    const verify = await onTerminal(['backup', 'verify', '--repository', repository, '--data-dir', dataDir]);
    const drawn = verify.drawn.map((d) => d.line).join('\n');
    assert.match(drawn, /tenant acme/);
    assert.match(drawn, /platform operators/);
    assert.doesNotMatch(drawn, /tenant operators/);
    const audit = await tresorHere(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /^tenant acme: /m);
    assert.match(audit.stdout, /^platform operators: /m);
    assert.doesNotMatch(audit.stdout, /tenant operators/);
  });

  it('not on a terminal: no bar, no carriage-return drawing, in stdout or stderr', async () => {
    const verify = await tresorHere(['backup', 'verify', '--repository', repository, '--data-dir', dataDir]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.doesNotMatch(verify.stdout + verify.stderr, /\[[#-]{24}\]/);
  });
});

describe('tresor usage errors', () => {
  it('a mistyped command gets the error and one line pointing to its help, exit 2 (docs/operations/commands.md: 2 usage error)', async () => {
    for (const argv of [['backup', 'frobnicate'], ['backup', 'list', '--frobnicate'], ['tenant', 'create']]) {
      const result = await tresorHere(argv);
      assert.equal(result.code, 2, argv.join(' '));
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 2, `${argv.join(' ')}: ${result.stderr}`);
      assert.match(lines[0] as string, /^error: /);
      assert.equal(lines[1], `Run \`tresor help ${argv[0] as string}\` for its usage.`);
      assert.equal(result.stdout, '');
    }
  });

  it('tresor help <command> shows that command\'s usage only', async () => {
    const help = await tresorHere(['help', 'backup']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /tresor backup run \[--repository LOCATION\]/);
    assert.match(help.stdout, /tresor backup physical run/);
    assert.doesNotMatch(help.stdout, /tresor tenant create/);
    const flag = await tresorHere(['backup', '--help']);
    assert.equal(flag.stdout, help.stdout, 'the same as --help after the command');
    const unknown = await tresorHere(['help', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trimEnd().split('\n').length, 2);
    assert.match((await tresorHere(['help'])).stdout, /tresor tenant create/, 'plain help: every command');
  });
});

describe('rates in CLI summaries', () => {
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-'));
    assert.equal((await tresorHere(['tenant', 'create', 'acme', '--data-dir', dataDir])).code, 0);
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a small rotation or audit verify says what it did and how long it took, without a meaningless rate', async () => {
    const onTerm = await onTerminal(['keys', 'rotate', '--tenant', 'acme', '--data-dir', dataDir]);
    assert.equal(onTerm.code, 0, onTerm.stderr);
    assert.match(onTerm.stdout, /tenant acme: generation \d+; 0 fields re-encrypted in \d+\.\d s;/);
    assert.doesNotMatch(onTerm.stdout, /fields\/s/);
    assert.ok(onTerm.drawn.every((d) => !/ 0 fields\/s/.test(d.line)), 'no "0 fields/s" in the bar either');
    const audit = await tresorHere(['audit', 'verify', '--tenant', 'acme', '--data-dir', dataDir]);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /chain intact/);
    assert.doesNotMatch(audit.stdout, /events\/s/);
  });
});
