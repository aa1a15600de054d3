import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { updateMessage } from './update-message.js';

describe('customer update mail', () => {
  const input = {
    incident: { id: '0190a1b2-0000-7000-8000-000000000001', title: 'Key\r\nBcc: x@evil.example', severity: 'high' as const, state: 'contained' as const },
    seq: 4,
    tenant: { id: 'north', name: 'Praxis Nord' },
    text: 'We revoked the key.\n\nNo <b>data</b> was read.',
    publicUrl: 'https://vault.example/',
    to: { accountId: 'usr_1', email: 'admin@north.example' },
  };
  it('keeps the subject on one line, links the clinic console page, escapes the text in HTML', () => {
    const mail = updateMessage(input);
    assert.ok(!/[\r\n]/.test(mail.subject), 'no header injection through the title');
    assert.match(mail.subject, /^\[Tresor incident HIGH\] Key Bcc: x@evil\.example – Praxis Nord \(north\)$/);
    assert.ok(mail.text.includes('https://vault.example/tenants/north/console/incidents/0190a1b2-0000-7000-8000-000000000001'));
    assert.ok(mail.html?.includes('was read.') && !mail.html.includes('<b>'), 'the operator’s text is escaped');
    assert.ok(mail.text.includes('Incident: 0190a1b2-0000-7000-8000-000000000001#4'), 'names the update, so its delivery can be followed');
    assert.deepEqual([mail.kind, mail.tenantId, mail.accountId, mail.to], ['incident', 'north', 'usr_1', 'admin@north.example']);
  });
});
