import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccountInfo } from './accounts.js';
import { invitationMessage, resetMessage } from './messages.js';

const account: AccountInfo = { id: 'usr_1', tenantId: 'praxis-<b>', kind: 'staff', role: 'clinician', email: 'a@b.example', status: 'invited', secondFactor: false };
const operator: AccountInfo = { ...account, tenantId: 'operators', role: 'operator' };
const token = 'T0ken_-abcdefghijklmnopqrstuvwxyzABCDEFGHIJ';

describe('messages to people', () => {
  it('link to the pages (tenant and operators), never to a JSON endpoint', () => {
    assert.match(invitationMessage(account, token, 'https://v.example').text, /^https:\/\/v\.example\/tenants\/praxis-%3Cb%3E\/account\/setup\?token=T0ken_-[A-Za-z]+$/m);
    assert.match(resetMessage(account, token, 'https://v.example/').text, /^https:\/\/v\.example\/tenants\/praxis-%3Cb%3E\/account\/reset\?token=/m);
    assert.match(invitationMessage(operator, token, 'https://v.example').text, /^https:\/\/v\.example\/platform\/account\/setup\?token=/m);
    assert.doesNotMatch(invitationMessage(account, token, 'https://v.example').text, /\/auth\//);
  });

  it('without server.publicUrl: a path, and a note in both languages that says so', () => {
    const { text, html } = resetMessage(account, token, undefined);
    assert.match(text, /^\/tenants\/praxis-%3Cb%3E\/account\/reset\?token=/m);
    assert.match(text, /server\.publicUrl ist nicht gesetzt/);
    assert.match(text, /server\.publicUrl is unset/);
    assert.match(html ?? '', /server\.publicUrl is unset/);
    assert.doesNotMatch(invitationMessage(account, token, 'https://v.example').text, /publicUrl/);
  });

  it('the HTML part escapes what it did not write (the tenant id here)', () => {
    const { html } = invitationMessage(account, token, 'https://v.example');
    assert.ok(html?.includes('praxis-&#60;b&#62;'), html);
    assert.ok(!html?.includes('praxis-<b>'));
    assert.match(html ?? '', /<p lang="de">Für Sie/);
    assert.ok((html ?? '').indexOf('lang="de"') < (html ?? '').indexOf('<p lang="en"'), 'German first');
  });
});
