import { base64url } from './base64url-script.js';

/** Where the passkey sign-in script is served (by `assetRoutes`). */
export const passkeySignInPath = '/assets/passkey-sign-in.js';

/**
 * `/assets/passkey-sign-in.js`: the second sign-in step with a passkey, on both sign-in pages
 * (the account's and an app's) — asks for the options of this sign-in's ticket, lets the browser
 * sign the challenge (WebAuthn Level 3 §5.1.4), and posts the assertion with the form. The code
 * field keeps working without it.
 *
 * What a page gives it: a form `#second-factor-form` with the fields `csrf`, `ticket` and an empty
 * `passkey`; a button `#use-passkey`, rendered `hidden` (the script shows it only where WebAuthn
 * runs), with `data-options` (where to POST `csrf` and `ticket` for the options), `data-waiting`
 * and `data-failed` (its messages, in the page's language); and a `#passkey-status` live region.
 */
export const passkeySignInScript = `'use strict';
(function () {
  var button = document.getElementById('use-passkey');
  var form = document.getElementById('second-factor-form');
  var status = document.getElementById('passkey-status');
  if (!button || !form || !window.PublicKeyCredential || !navigator.credentials) return;
  button.hidden = false;
${base64url}
  button.addEventListener('click', function () {
    status.textContent = button.getAttribute('data-waiting');
    var fields = new URLSearchParams();
    fields.set('csrf', form.elements.namedItem('csrf').value);
    fields.set('ticket', form.elements.namedItem('ticket').value);
    fetch(button.getAttribute('data-options'), { method: 'POST', body: fields, credentials: 'same-origin' })
      .then(function (response) { if (!response.ok) throw new Error('options'); return response.json(); })
      .then(function (options) {
        options.challenge = unb64(options.challenge);
        options.allowCredentials = (options.allowCredentials || []).map(function (c) { return { type: c.type, id: unb64(c.id), transports: c.transports }; });
        return navigator.credentials.get({ publicKey: options });
      })
      .then(function (credential) {
        var r = credential.response;
        form.elements.namedItem('passkey').value = JSON.stringify({
          id: credential.id, rawId: b64(credential.rawId), type: credential.type,
          clientExtensionResults: credential.getClientExtensionResults(),
          response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData), signature: b64(r.signature), userHandle: r.userHandle ? b64(r.userHandle) : undefined }
        });
        form.submit();
      })
      .catch(function () { status.textContent = button.getAttribute('data-failed'); });
  });
})();
`;
