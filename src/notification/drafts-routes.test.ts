import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotificationError } from './errors.js';
import { parseRenderQuery } from './drafts-routes.js';

test('a download names its format, and a letter or the print batch; anything else is refused by name', () => {
  assert.deepEqual(parseRenderQuery({}), { format: 'json' });
  assert.deepEqual(parseRenderQuery({ format: 'pdf', batch: 'post' }), { format: 'pdf', batch: 'post' });
  assert.deepEqual(parseRenderQuery({ format: 'html', recipient: 'Patient/p1' }), { format: 'html', recipient: 'Patient/p1' });
  assert.deepEqual(parseRenderQuery({ format: 'text', language: 'de' }), { format: 'text', language: 'de' });
  for (const query of [{ format: 'docx' }, { format: 'pdf', batch: 'all' }, { format: 'text', language: 'fr' }, { format: 'pdf', page: '2' }, { format: ['pdf', 'html'] }]) {
    assert.throws(() => parseRenderQuery(query), (error: unknown) => error instanceof NotificationError && error.code === 'notice-invalid', JSON.stringify(query));
  }
});
