import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPublicText } from './public-text.js';
import { StatusError } from './errors.js';
import { securityTxt } from './security-txt.js';

describe('security.txt (RFC 9116)', () => {
  const now = Date.parse('2026-12-07T10:00:00.123Z');
  it('names every contact, expires N days ahead and is canonical at the public URL', () => {
    const text = securityTxt({ contact: ['mailto:security@example.org', 'https://example.org/report'], preferredLanguages: 'en, de', expiresDays: 180, policy: 'https://example.org/policy' }, 'https://vault.example.org/.well-known/security.txt', now);
    assert.equal(
      text,
      'Contact: mailto:security@example.org\nContact: https://example.org/report\nExpires: 2027-06-05T10:00:00Z\nPreferred-Languages: en, de\nCanonical: https://vault.example.org/.well-known/security.txt\nPolicy: https://example.org/policy\n',
    );
  });
  it('is not served without a contact', () => {
    assert.equal(securityTxt({ contact: [], preferredLanguages: 'en', expiresDays: 10 }, undefined, now), undefined);
  });
});

describe('public text', () => {
  const tenants = [{ id: 'klinik-nord', name: 'Klinik Nord' }];
  const refused = (fields: Record<string, string>) => assert.throws(() => checkPublicText(fields, tenants), (e: unknown) => e instanceof StatusError && e.code === 'public-text-unsafe' && !e.message.includes('Nord'));
  it('refuses a tenant id or name and a patient reference', () => {
    refused({ text: 'Customers of klinik-nord were affected' });
    refused({ title: 'Outage at KLINIK NORD' });
    refused({ text: 'see Patient/123' });
  });
  it('lets other text through, whole words only', () => {
    checkPublicText({ text: 'Sign-in was slow for customers in northern Germany; Klinik Nordsee unaffected' }, tenants);
  });
});
