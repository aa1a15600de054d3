import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markdownTitle, renderInline, renderMarkdown, safeHref } from './markdown.js';

describe('the Markdown subset of shipped documents', () => {
  it('renders headings, paragraphs, lists, code, strong and links', () => {
    const out = renderMarkdown('# Title\n\nSome *plain* text\nthat goes on.\n\n## What it means\n\n- one `code`\n- two [link](https://example.org/a)\n  continued\n\n1. first\n2. **second**\n').text;
    assert.equal(
      out,
      '<h1>Title</h1>\n<p>Some *plain* text that goes on.</p>\n<h2>What it means</h2>\n<ul><li>one <code>code</code></li><li>two <a href="https://example.org/a">link</a> continued</li></ul>\n<ol><li>first</li><li><strong>second</strong></li></ol>\n',
    );
  });

  it('escapes everything: raw HTML in the source is text, and a hostile link target is dropped', () => {
    const out = renderMarkdown('<script>alert(1)</script>\n\n- [click](javascript:alert(1)) and <img src=x onerror=alert(1)>\n\n## <b>"quoted"</b> & more\n\n`<i>` [x](https://a.example/"onmouseover=alert(1))').text;
    assert.ok(!out.includes('<script') && !out.includes('<img') && !out.includes('<b>') && !out.includes('<i>'), out);
    assert.ok(out.includes('&#60;script&#62;'));
    assert.ok(!out.includes('href="javascript'), 'no javascript: link');
    assert.ok(!/href="[^"]*"onmouseover/.test(out), out);
    assert.ok(out.includes('<li>click'), 'the text of a refused link stays');
  });

  it('allows web addresses, site paths and anchors as link targets, nothing else', () => {
    assert.equal(safeHref('https://example.org/x?y=1'), 'https://example.org/x?y=1');
    assert.equal(safeHref('/runbooks/auth.brute-force'), '/runbooks/auth.brute-force');
    assert.equal(safeHref('#contain'), '#contain');
    for (const bad of ['javascript:alert(1)', '//evil.example/x', 'data:text/html,x', '/\\evil.example', 'mailto:x@y']) assert.equal(safeHref(bad), undefined, bad);
  });

  it('finds the title, skips it on request and shifts heading levels', () => {
    assert.equal(markdownTitle('intro\n\n# The title\n\n# Another'), 'The title');
    assert.equal(renderMarkdown('# T\n\n## S', { skipTitle: true }).text, '<h2>S</h2>\n');
    assert.equal(renderMarkdown('# T', { topLevel: 2 }).text, '<h2>T</h2>\n');
    assert.equal(renderInline('a [b](other.md)', (t) => (t.endsWith('.md') ? `/runbooks/${t.slice(0, -3)}` : undefined)).text, 'a <a href="/runbooks/other">b</a>');
  });
});
