import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { html, raw } from './html.js';

describe('html', () => {
  it('escapes every interpolation that is not already Html', () => {
    const name = '<script>alert("x")</script>&\'';
    assert.equal(html`<p title="${name}">${name}</p>`.text, '<p title="&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;">&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;</p>');
  });

  it('nests templates, joins arrays and renders nothing for undefined, null and false', () => {
    const items = ['a<b', 'c'].map((x) => html`<li>${x}</li>`);
    assert.equal(html`<ul>${items}</ul>${undefined}${null}${false}${raw('<hr>')}${0}`.text, '<ul><li>a&#60;b</li><li>c</li></ul><hr>0');
  });
});
