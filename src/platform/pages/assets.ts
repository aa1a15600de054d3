import type { FastifyInstance } from 'fastify';
import { passkeySignInPath, passkeySignInScript } from './passkey-sign-in.js';

/**
 * The pages' static files, served from this origin under `/assets/` (CSP `style-src 'self'`,
 * `script-src 'self'`: nothing inline, nothing from elsewhere). Scripts are progressive
 * enhancements only — every form works without them — and each page that needs one names it.
 */
export const stylesheet = `:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;line-height:1.5;--accent:#0b5cad;--danger:#b00020;--line:color-mix(in srgb,CanvasText 25%,Canvas)}
body{margin:0;background:Canvas;color:CanvasText}
a{color:LinkText}
.skip{position:absolute;left:-999px;top:0;padding:.5rem 1rem;background:Canvas}
.skip:focus{left:1rem;z-index:1}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:.75rem 1.5rem;border-bottom:1px solid var(--line)}
header.top p{margin:0}
.brand{font-weight:700;font-size:1.15rem}
.brand a{text-decoration:none;color:inherit}
.brand .space{font-weight:400;margin-left:.5rem;padding-left:.5rem;border-left:1px solid var(--line)}
.who{margin-left:auto}
.role{color:color-mix(in srgb,CanvasText 70%,Canvas)}
header.top form{margin:0}
header.top button{margin:0}
header.top nav{flex-basis:100%}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;margin:0;padding:0}
nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
main{max-width:32rem;margin:0 auto;padding:1.5rem 1rem 3rem}
main.wide{max-width:72rem}
footer{border-top:1px solid var(--line);padding:.75rem 1.5rem;font-size:.9rem}
h1{font-size:1.5rem;margin:0 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
label{display:block;font-weight:600;margin-top:1rem}
input[type=email],input[type=password],input[type=text],input[type=search],input[type=date],input[type=datetime-local],input[type=number],select,textarea{display:block;box-sizing:border-box;width:100%;padding:.55rem;font-size:1rem;border:1px solid color-mix(in srgb,CanvasText 55%,Canvas);border-radius:.3rem;background:Field;color:FieldText}
input:focus-visible,button:focus-visible,a:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid Highlight;outline-offset:2px}
button{margin-top:1rem;padding:.55rem 1.1rem;font-size:1rem;border-radius:.3rem;border:1px solid color-mix(in srgb,CanvasText 55%,Canvas);background:ButtonFace;color:ButtonText;cursor:pointer}
button.primary{background:var(--accent);color:#fff;border-color:var(--accent)}
button.danger{background:var(--danger);color:#fff;border-color:var(--danger)}
.actions{display:flex;gap:.75rem;flex-wrap:wrap;align-items:center}
.inline{display:inline}
.inline button{margin-top:0}
.alert{border-left:4px solid var(--danger);padding:.5rem .75rem;margin:1rem 0;background:color-mix(in srgb,var(--danger) 10%,Canvas)}
.notice{border-left:4px solid var(--accent);padding:.5rem .75rem;margin:1rem 0;background:color-mix(in srgb,var(--accent) 10%,Canvas)}
.hint{color:color-mix(in srgb,CanvasText 72%,Canvas);font-size:.92rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0}
fieldset{border:1px solid var(--line);border-radius:.3rem;margin:1rem 0;padding:.5rem 1rem 1rem}
legend{font-weight:600;padding:0 .25rem}
.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:0 1rem;align-items:end}
.codes{font-family:ui-monospace,monospace;font-size:1.1rem;columns:2}
ol.codes{columns:1;padding-left:2.5rem}
ol.codes li{white-space:nowrap}
.actions>a{margin-top:1rem}
.secret{font-family:ui-monospace,monospace;word-break:break-all}
.qr{width:14rem;height:14rem;background:#fff;padding:.5rem}
figure.chart{margin:1rem 0}
figure.chart svg{width:100%;height:auto;max-height:20rem}
.chart .axis{stroke:CanvasText;stroke-width:1}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart .line{fill:none;stroke:var(--accent);stroke-width:2}
.chart .point{fill:var(--accent)}
.chart text{fill:CanvasText;font-size:12px}
ul.plain{list-style:none;padding:0}
ul.plain>li{border-top:1px solid var(--line);padding:.5rem 0 .75rem}
.rules ul{margin:.25rem 0;padding-left:1.25rem}
.rules p{margin:.25rem 0}
.rules li[data-met=true]{font-weight:600}
@media print{header.top,footer,form,.skip,.no-print{display:none}main{max-width:none}}
`;

/** Scripts by file name, each a progressive enhancement of one page. */
export type Scripts = ReadonlyMap<string, string>;

const cacheControl = 'public, max-age=3600';

/**
 * `/assets/tresor.css`, the passkey sign-in script both sign-in pages share (the account's and an
 * app's: `passkeySignInPath`), and `/assets/<name>.js` for every script given.
 */
export function assetRoutes(scripts: Scripts) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/assets/tresor.css', async (_request, reply) => reply.header('cache-control', cacheControl).type('text/css; charset=utf-8').send(stylesheet));
    app.get(passkeySignInPath, async (_request, reply) => reply.header('cache-control', cacheControl).type('text/javascript; charset=utf-8').send(passkeySignInScript));
    for (const [name, source] of scripts) {
      app.get(`/assets/${name}`, async (_request, reply) => reply.header('cache-control', cacheControl).type('text/javascript; charset=utf-8').send(source));
    }
  };
}
