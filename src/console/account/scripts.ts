/**
 * The account pages' scripts, served from this origin under /assets/ (CSP `script-src 'self'`,
 * nothing inline). Each is a progressive enhancement: every form works without it, except adding
 * a passkey, which is WebAuthn and so a script by nature (the page says so when it cannot run).
 */
import { base64url } from '../../platform/pages/index.js';

/** `/assets/print.js`: the recovery codes' print button (the print stylesheet leaves only the codes). */
export const printScript = `'use strict';
(function () {
  Array.prototype.forEach.call(document.querySelectorAll('button.print-codes'), function (button) {
    button.addEventListener('click', function () { window.print(); });
  });
})();
`;

/**
 * `/assets/passkey-register.js`: adds a passkey through the JSON endpoints the API has
 * (`POST …/auth/passkeys/options` with the password, then `POST …/auth/passkeys` with the
 * attestation; the session's CSRF token as `X-CSRF-Token`), with the browser's WebAuthn
 * (Level 3 §5.1.3). The first factor of an account comes with recovery codes: shown here, once.
 */
export const passkeyRegisterScript = `'use strict';
(function () {
  var form = document.getElementById('passkey-add');
  var note = document.getElementById('passkey-needs-script');
  if (!form || !window.PublicKeyCredential || !navigator.credentials) return;
  form.hidden = false;
  if (note) note.hidden = true;
  var status = document.getElementById('passkey-status');
  var csrf = form.getAttribute('data-csrf');
${base64url}
  function post(url, body) {
    return fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) })
      .then(function (response) { if (!response.ok) throw new Error('refused'); return response.json(); });
  }
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var name = form.elements.namedItem('name').value.trim() || 'Passkey';
    var password = form.elements.namedItem('password');
    status.textContent = form.getAttribute('data-waiting');
    post(form.getAttribute('data-options'), { password: password.value })
      .then(function (options) {
        password.value = '';
        options.challenge = unb64(options.challenge);
        options.user.id = unb64(options.user.id);
        options.excludeCredentials = (options.excludeCredentials || []).map(function (c) { return { type: c.type, id: unb64(c.id), transports: c.transports }; });
        return navigator.credentials.create({ publicKey: options });
      })
      .then(function (credential) {
        var r = credential.response;
        return post(form.getAttribute('data-register'), { name: name, response: {
          id: credential.id, rawId: b64(credential.rawId), type: credential.type,
          clientExtensionResults: credential.getClientExtensionResults(),
          authenticatorAttachment: credential.authenticatorAttachment || undefined,
          response: { clientDataJSON: b64(r.clientDataJSON), attestationObject: b64(r.attestationObject), transports: r.getTransports ? r.getTransports() : [] }
        } });
      })
      .then(function (result) {
        // The session continues under a new token: this page's forms carry its new CSRF token.
        Array.prototype.forEach.call(document.querySelectorAll('input[name=csrf]'), function (input) { input.value = result.csrfToken; });
        if (!result.recoveryCodes) { window.location.assign(form.getAttribute('data-home') || form.getAttribute('data-done')); return; }
        var section = document.getElementById('passkey-codes');
        var list = section.querySelector('ol');
        result.recoveryCodes.forEach(function (code) { var li = document.createElement('li'); li.textContent = code; list.appendChild(li); });
        form.hidden = true;
        section.hidden = false;
        section.querySelector('h2').focus();
      })
      .catch(function () { password.value = ''; status.textContent = form.getAttribute('data-failed'); });
  });
})();
`;
