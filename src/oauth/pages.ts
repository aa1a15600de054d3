import { escapeHtml, pageCsp, scriptPageCsp } from '../platform/pages/index.js';
import { describeScope } from './scopes.js';

export { escapeHtml, pageCsp };

/**
 * The server-rendered sign-in and consent pages. No script at all (the CSP forbids it, inline or
 * not), one stylesheet from this origin; every form carries a CSRF token; every input has a
 * label, errors are announced (role="alert") and tied to their field, and everything works by
 * keyboard (WCAG 2.2: 1.3.1, 2.1.1, 3.3.1, 3.3.2, 4.1.2).
 */

/** The second-factor page's: the same, plus this origin's passkey script (a file, never inline). */
export const passkeyPageCsp = scriptPageCsp;

export const stylesheet = `:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;line-height:1.5}
body{margin:0;padding:2rem 1rem;background:Canvas;color:CanvasText}
main{max-width:28rem;margin:0 auto}
h1{font-size:1.5rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin-top:1rem}
input[type=email],input[type=password],input[type=text]{display:block;box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;border:1px solid GrayText;border-radius:.3rem}
input:focus-visible,button:focus-visible{outline:3px solid Highlight;outline-offset:2px}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:.3rem;border:1px solid GrayText;cursor:pointer}
button.primary{background:#0b5cad;color:#fff;border-color:#0b5cad}
.actions{display:flex;gap:.75rem;flex-wrap:wrap}
.alert{border-left:4px solid #b00020;padding:.5rem .75rem;margin:1rem 0;background:color-mix(in srgb,#b00020 10%,Canvas)}
.hint{color:GrayText;font-size:.9rem}
ul.scopes{padding-left:1.2rem}
ul.scopes li{margin:.3rem 0}
ul.apps{list-style:none;padding:0}
li.app{border-top:1px solid GrayText;padding:.5rem 0 1rem}
h2{font-size:1.15rem;margin:.5rem 0 0}
dt{font-weight:600}
dd{margin:0 0 .5rem}
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)} – Tresor</title><link rel="stylesheet" href="/oauth-assets/tresor.css"></head>
<body><main>
${body}
</main></body>
</html>`;
}

const alert = (id: string, message: string | undefined) => (message === undefined ? '' : `<p class="alert" role="alert" id="${id}">${escapeHtml(message)}</p>`);
const described = (id: string, message: string | undefined) => (message === undefined ? '' : ` aria-describedby="${id}" aria-invalid="true"`);

/** Email and password, with the error (if any) announced and tied to both fields. */
function passwordForm(input: { action: string; csrf: string; error?: string; email?: string }): string {
  return `${alert('login-error', input.error)}
<form method="post" action="${escapeHtml(input.action)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(input.email ?? '')}"${described('login-error', input.error)}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${described('login-error', input.error)}>
<div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>`;
}

export interface AppFacts {
  readonly name: string;
  readonly publisher: string;
}

export function loginPage(input: { action: string; csrf: string; app: AppFacts; error?: string; email?: string }): string {
  return page(
    'Sign in',
    `<h1>Sign in to continue to ${escapeHtml(input.app.name)}</h1>
<p class="hint">${escapeHtml(input.app.name)} (by ${escapeHtml(input.app.publisher)}) asks to use your records. Sign in first; you decide what it may do on the next page.</p>
${passwordForm(input)}
<form method="post" action="${escapeHtml(input.action.replace(/\/login$/, '/abort'))}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit">Cancel and return to the app</button>
</form>`,
  );
}

export function secondFactorPage(input: { action: string; csrf: string; ticket: string; passkey: boolean; error?: string }): string {
  const passkey = input.passkey
    ? `<div class="actions"><button type="button" id="use-passkey" data-options="${escapeHtml(input.action.replace(/\/second-factor$/, '/passkey-options'))}">Use a passkey</button></div>
<p id="passkey-status" class="hint" role="status"></p>
<script src="/oauth-assets/passkey.js" defer></script>`
    : '';
  return page(
    'Second factor',
    `<h1>Confirm it is you</h1>
<p>${input.passkey ? 'Use your passkey, or enter' : 'Enter'} the 6-digit code from your authenticator app, or one of your recovery codes.</p>
${alert('code-error', input.error)}
<form method="post" action="${escapeHtml(input.action)}" id="second-factor-form" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<input type="hidden" name="ticket" value="${escapeHtml(input.ticket)}">
<input type="hidden" name="passkey" id="passkey" value="">${input.passkey ? '\n<input type="hidden" name="offer" value="passkey">' : ''}
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"${described('code-error', input.error)}>
<div class="actions"><button class="primary" type="submit">Continue</button></div>
</form>
${passkey}`,
  );
}

/**
 * The passkey button's script, served from this origin (CSP `script-src 'self'`, nothing
 * inline): asks for the options of this sign-in's ticket, lets the browser sign the challenge
 * (WebAuthn Level 3 §5.1.4), and posts the assertion with the form.
 */
export const passkeyScript = `'use strict';
(function () {
  var button = document.getElementById('use-passkey');
  var form = document.getElementById('second-factor-form');
  var status = document.getElementById('passkey-status');
  if (!button || !form) return;
  if (!window.PublicKeyCredential || !navigator.credentials) { button.hidden = true; return; }
  function b64(buffer) {
    var bytes = new Uint8Array(buffer), text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function unb64(text) {
    var plain = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
    return bytes;
  }
  button.addEventListener('click', function () {
    status.textContent = 'Waiting for your passkey…';
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
        document.getElementById('passkey').value = JSON.stringify({
          id: credential.id, rawId: b64(credential.rawId), type: credential.type,
          clientExtensionResults: credential.getClientExtensionResults(),
          response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData), signature: b64(r.signature), userHandle: r.userHandle ? b64(r.userHandle) : undefined }
        });
        form.submit();
      })
      .catch(function () { status.textContent = 'The passkey did not work. Try again, or enter a code.'; });
  });
})();
`;

export function consentPage(input: {
  action: string;
  csrf: string;
  app: AppFacts;
  scopes: readonly string[];
  /** Staff choosing the patient an app with patient/ scopes works with. */
  askPatient: boolean;
  /** The patient it will work with, when already known (a patient's own record). */
  patientLabel?: string;
  error?: string;
  role: string;
}): string {
  const items = input.scopes.map((s) => `<li>${escapeHtml(describeScope(s))} <span class="hint">(${escapeHtml(s)})</span></li>`).join('\n');
  return page(
    'Allow access?',
    `<h1>Allow ${escapeHtml(input.app.name)} to use your records?</h1>
<dl><dt>App</dt><dd>${escapeHtml(input.app.name)}</dd><dt>Published by</dt><dd>${escapeHtml(input.app.publisher)}</dd>${input.patientLabel === undefined ? '' : `<dt>Records of</dt><dd>${escapeHtml(input.patientLabel)}</dd>`}</dl>
<h2>It asks to</h2>
<ul class="scopes">
${items}
</ul>
<p class="hint">It can never do more than your own role (${escapeHtml(input.role)}) allows. You can withdraw this at any time under “Connected apps”; every access it makes is recorded.</p>
${alert('consent-error', input.error)}
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
${input.askPatient ? `<label for="patient">Patient record it works with (Patient id)</label>\n<input id="patient" name="patient" type="text" required autocomplete="off"${described('consent-error', input.error)}>` : ''}
<div class="actions"><button class="primary" type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Don’t allow</button></div>
</form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}

export interface ConnectedApp {
  readonly grantId: string;
  readonly name: string;
  readonly publisher: string;
  readonly scopes: readonly string[];
  readonly since: string;
  readonly patient?: string;
}

/** Signing in to one's own account pages (connected apps), outside any app's request. */
export function accountSignInPage(input: { action: string; csrf: string; error?: string; email?: string }): string {
  return page(
    'Sign in',
    `<h1>Sign in to see your connected apps</h1>
${passwordForm(input)}`,
  );
}

/** The apps a person allowed, each with what it may do and a button to withdraw it. */
export function connectedAppsPage(input: { apps: readonly ConnectedApp[]; csrf: string; base: string; notice?: string }): string {
  const items = input.apps
    .map(
      (app) => `<li class="app">
<h2>${escapeHtml(app.name)}</h2>
<p class="hint">Published by ${escapeHtml(app.publisher)} · allowed ${escapeHtml(app.since.slice(0, 10))}${app.patient === undefined ? '' : ` · works with ${escapeHtml(app.patient)}`}</p>
<ul class="scopes">${app.scopes.map((s) => `<li>${escapeHtml(describeScope(s))}</li>`).join('')}</ul>
<form method="post" action="${escapeHtml(`${input.base}/apps/${app.grantId}/withdraw`)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" aria-label="Withdraw access of ${escapeHtml(app.name)}">Withdraw access</button>
</form>
</li>`,
    )
    .join('\n');
  return page(
    'Connected apps',
    `<h1>Connected apps</h1>
${input.notice === undefined ? '' : `<p role="status">${escapeHtml(input.notice)}</p>`}
${input.apps.length === 0 ? '<p>No app can use your records.</p>' : `<p>These apps may use your records as listed. Withdrawing access stops an app at once.</p>\n<ul class="apps">\n${items}\n</ul>`}
<form method="post" action="${escapeHtml(`${input.base}/sign-out`)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit">Sign out</button>
</form>`,
  );
}
