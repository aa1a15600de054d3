import { passwordMaxLength, passwordMinLength } from '../../identity/index.js';
import { html, type Html, type Locale, type Texts } from '../../platform/pages/index.js';

/**
 * The password rules next to a new-password field, as the server applies them (identity
 * passwords.ts: NIST SP 800-63B-4 §3.1.1.2, OWASP ASVS 5 V6.2): a length, nothing common or
 * breached, nothing of the account's own context — no composition rules. The length is checked
 * as one types by /assets/password-rules.js (a progressive enhancement); without it, and always,
 * the server decides, with the same words.
 */
const text: Texts<'rules' | 'length' | 'max' | 'common' | 'context' | 'counter' | 'met' | 'unmet'> = {
  en: {
    rules: 'Your password needs:',
    length: 'at least {min} characters — several words with spaces between them are easy to remember',
    max: 'at most {max} characters',
    common: 'not a common or breached password (checked when you send it)',
    context: 'not your email address, your name or the organisation’s name',
    counter: '{n} of at least {min} characters',
    met: 'met',
    unmet: 'not yet met',
  },
  de: {
    rules: 'Ihr Passwort braucht:',
    length: 'mindestens {min} Zeichen — mehrere Wörter mit Leerzeichen dazwischen sind leicht zu merken',
    max: 'höchstens {max} Zeichen',
    common: 'kein verbreitetes oder geleaktes Passwort (geprüft beim Absenden)',
    context: 'nicht Ihre E-Mail-Adresse, Ihr Name oder der Name der Organisation',
    counter: '{n} von mindestens {min} Zeichen',
    met: 'erfüllt',
    unmet: 'noch nicht erfüllt',
  },
};

/** The minimum for this account: 15 characters as its only factor, 8 with a second factor. */
export const minimumFor = (hasSecondFactor: boolean) => (hasSecondFactor ? passwordMinLength.withSecondFactor : passwordMinLength.singleFactor);

/**
 * A new-password field with its rules (tied by aria-describedby) and a polite live counter the
 * script fills in (WCAG 2.2, 3.3.2 Labels or Instructions; 4.1.3 Status Messages).
 */
export function newPasswordField(input: { id: string; name: string; label: string; locale: Locale; min: number; error?: string | undefined }): Html {
  const t = text[input.locale];
  const min = String(input.min);
  const describedBy = [`${input.id}-rules`, ...(input.error === undefined ? [] : ['page-error'])].join(' ');
  return html`<label for="${input.id}">${input.label}</label>
<input id="${input.id}" name="${input.name}" type="password" autocomplete="new-password" required maxlength="${String(passwordMaxLength)}" data-password-rules="${input.id}-rules" aria-describedby="${describedBy}"${input.error === undefined ? undefined : html` aria-invalid="true"`}>
<div id="${input.id}-rules" class="hint rules">
<p>${t.rules}</p>
<ul>
<li data-rule="length" data-min="${min}" data-met-text="${t.met}" data-unmet-text="${t.unmet}">${t.length.replace('{min}', min)}<span class="state"></span></li>
<li>${t.max.replace('{max}', String(passwordMaxLength))}</li>
<li>${t.common}</li>
<li>${t.context}</li>
</ul>
<p class="counter" role="status" aria-live="polite" data-template="${t.counter}"></p>
</div>`;
}

/**
 * `/assets/password-rules.js`: counts the new password's characters as the server does (code
 * points after NFKC) and says, politely, whether the length rule is met. Nothing is sent anywhere.
 */
export const passwordRulesScript = `'use strict';
(function () {
  var fields = document.querySelectorAll('input[data-password-rules]');
  Array.prototype.forEach.call(fields, function (input) {
    var rules = document.getElementById(input.getAttribute('data-password-rules'));
    if (!rules) return;
    var rule = rules.querySelector('[data-rule=length]');
    var counter = rules.querySelector('.counter');
    var min = Number(rule.getAttribute('data-min'));
    var update = function () {
      var n = Array.from(input.value.normalize('NFKC')).length;
      var met = n >= min;
      rule.setAttribute('data-met', met ? 'true' : 'false');
      rule.querySelector('.state').textContent = ' (' + rule.getAttribute(met ? 'data-met-text' : 'data-unmet-text') + ')';
      counter.textContent = input.value === '' ? '' : counter.getAttribute('data-template').replace('{n}', String(n)).replace('{min}', String(min));
    };
    input.addEventListener('input', update);
    update();
  });
})();
`;
