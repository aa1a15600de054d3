/**
 * @module config
 * The one typed configuration object: defaults, a JSON file, environment variables and flags,
 * validated at start with errors that name the exact setting. Production mode refuses unsafe
 * settings. Only `main`/the CLI call `loadConfig` with `process.env`; everything else is handed
 * a `Config`.
 */
export { loadConfig, defaults, environment, assertSafeForProduction, ConfigError, type Config, type ConfigInput, type LoadConfigOptions } from './config.js';
export { homeRegion, regionPathsOf, regionProblems, type RegionPaths, type RegionSettings } from './region-rules.js';
