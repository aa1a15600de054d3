/**
 * The settings a `tresor` command is commonly given, checked by hand so that a command whose
 * configuration holds nothing else starts without the schema library (its ~100 modules cost
 * about a fifth of `tresor tenant list`, docs/performance.md "Command start-up"). Anything else
 * — another setting, a value of the wrong type, one out of range — answers undefined, and the full
 * schema decides, with its error messages: this check only ever accepts what the schema accepts.
 * config.test.ts holds the two to the same result.
 */

type Tree = Record<string, unknown>;
type Check = (value: unknown) => boolean;

const text = (max: number): Check => (value) => typeof value === 'string' && value.length >= 1 && value.length <= max;
const oneOf = (...allowed: string[]): Check => (value) => typeof value === 'string' && allowed.includes(value);
const integer = (min: number, max: number): Check => (value) => typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;

/** Path → check; each the same rule as the schema's (config.ts), or narrower. */
const checks: Readonly<Record<string, Check>> = {
  mode: oneOf('development', 'production'),
  dataDir: text(Number.MAX_SAFE_INTEGER),
  'server.host': text(Number.MAX_SAFE_INTEGER),
  'server.port': integer(0, 65535),
  'storage.engine': oneOf('sqlite', 'postgres'),
  'storage.postgres.url': text(Number.MAX_SAFE_INTEGER),
  'keys.masterKey': text(Number.MAX_SAFE_INTEGER),
  'keys.masterKeyFile': text(Number.MAX_SAFE_INTEGER),
  'audit.checkpointDir': text(Number.MAX_SAFE_INTEGER),
  'backup.repository': text(2000),
  'backup.key': text(Number.MAX_SAFE_INTEGER),
  'backup.keyFile': text(Number.MAX_SAFE_INTEGER),
  'log.level': oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
};

const isTree = (value: unknown): value is Tree => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The defaults without their unset (undefined) entries: the schema leaves an unset optional setting out. */
function withoutUnset(tree: Tree): Tree {
  const out: Tree = {};
  for (const [key, value] of Object.entries(tree)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? [...(value as unknown[])] : isTree(value) ? withoutUnset(value) : value;
  }
  return out;
}

/**
 * `raw` over the defaults when every setting in it is one of the common ones and valid; else
 * undefined. The result is the schema's output before its cross-setting rules and transform.
 */
export function commonSettings(raw: Tree, defaults: Tree): Tree | undefined {
  const config = withoutUnset(defaults);
  const walk = (node: Tree, path: string, into: Tree): boolean => {
    for (const [key, value] of Object.entries(node)) {
      const at = path === '' ? key : `${path}.${key}`;
      const check = checks[at];
      if (check !== undefined) {
        if (!check(value)) return false;
        into[key] = value;
        continue;
      }
      const inner = into[key];
      if (!isTree(value) || !isTree(inner) || !Object.keys(checks).some((known) => known.startsWith(`${at}.`))) return false;
      if (!walk(value, at, inner)) return false;
    }
    return true;
  };
  return walk(raw, '', config) ? config : undefined;
}
