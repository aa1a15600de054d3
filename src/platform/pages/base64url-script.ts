/**
 * The base64url helpers of the pages' WebAuthn scripts (the server's JSON carries challenges and
 * credentials as base64url, RFC 4648 §5; the browser's API wants bytes): `b64(buffer)` and
 * `unb64(text)`, as script source to put inside a script's function.
 */
export const base64url = `  function b64(buffer) {
    var bytes = new Uint8Array(buffer), text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }
  function unb64(text) {
    var plain = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
    return bytes;
  }`;
