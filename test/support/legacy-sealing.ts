import { seal, type DataKey } from '../../src/keys/index.js';
import { storableInClear } from '../../src/records/data-register.js';

/**
 * Format 1 of a stored version's sealed part, as releases before the one-envelope format wrote
 * it: one envelope per sealed element, `v1.<key id>.<key version>.<base64url(iv ‖ ct ‖ tag)>`,
 * the element's `"name":value` under an AAD that binds its position. Written here from the
 * format's description, not from the server's code, so that reading it back tests the server's
 * compatibility with data already on disk.
 */
export function sealFormatOne(context: { tenantId: string; type: string; id: string; versionId: number }, resource: Record<string, unknown>, key: DataKey): { plain: string; sealed: string } {
  const plain: Record<string, unknown> = {};
  const sealed: string[] = [];
  for (const [element, value] of Object.entries(resource)) {
    if (storableInClear(context.type, element, value)) {
      plain[element] = value;
      continue;
    }
    const aad = `field|${context.tenantId}|${context.type}|${context.id}|${context.versionId}|${sealed.length}|${key.keyId}|${key.version}`;
    const box = seal(key.key, Buffer.from(`${JSON.stringify(element)}:${JSON.stringify(value)}`, 'utf8'), aad);
    sealed.push(`v1.${key.keyId}.${key.version}.${box.toString('base64url')}`);
  }
  return { plain: JSON.stringify(plain), sealed: JSON.stringify(sealed) };
}
