// Given to `node --import` before a command runs: writes every module the process loads to the
// file TRESOR_TEST_MODULE_LOG names — ES modules as they are resolved (on the loader thread),
// CommonJS modules from the require cache at exit — for tests of what a command pulls in.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const log = process.env.TRESOR_TEST_MODULE_LOG;
if (log === undefined) throw new Error('record-modules.mjs: TRESOR_TEST_MODULE_LOG is not set');
register(new URL('./record-modules-hooks.mjs', import.meta.url), { data: { log } });
process.on('exit', () => {
  const required = Object.keys(createRequire(import.meta.url).cache).map((path) => pathToFileURL(path).href);
  appendFileSync(log, `${required.join('\n')}\n`);
});
