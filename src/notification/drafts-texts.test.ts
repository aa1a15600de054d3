import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultFreeText, unfinishedFields } from './drafts-texts.js';

test('a new draft is unfinished wherever a reminder is left, and finished once every one is written over', () => {
  const fresh = { de: defaultFreeText('de', 'Schlüssel veröffentlicht', undefined), en: defaultFreeText('en', 'Key published', 'privacy@clinic.example') };
  assert.deepEqual(unfinishedFields(fresh), ['de.whatHappened', 'de.measures', 'de.consequences', 'de.contact', 'en.whatHappened', 'en.measures', 'en.consequences']);
  const written = {
    de: { whatHappened: 'Ein Schlüssel wurde veröffentlicht.', measures: 'Gesperrt.', consequences: 'Gering.', contact: 'dsb@praxis.example' },
    en: { ...fresh.en, whatHappened: 'A key was published.', measures: 'Revoked.', consequences: 'Low. [Please add to this.]' },
  };
  assert.deepEqual(unfinishedFields(written), ['en.consequences'], 'a reminder left anywhere in a field counts');
  assert.deepEqual(unfinishedFields({ ...written, en: { ...written.en, consequences: 'Low [see our FAQ].' } }), [], 'square brackets of the writer’s own are fine');
});
