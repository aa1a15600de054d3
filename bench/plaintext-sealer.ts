import type { FieldSealer } from '../src/records/index.js';

/**
 * The benchmark's baseline for encryption overhead: stores the same rows as production, only
 * without the AES-GCM step (everything in the plaintext column). It lives in bench/ and is
 * handed to buildApp in code; no configuration setting can select it.
 */
export const plaintextSealer: FieldSealer = {
  seal: (_context, resource) => ({ plain: JSON.stringify(resource), sealed: null }),
  open: async (_context, stored) => ({ text: stored.plain, sealedElements: [] }),
};
