import { html, raw, type Html } from '../../platform/pages/index.js';

/**
 * A QR code as SVG made of one `<path>` of unit squares, with presentation attributes only (the
 * CSP forbids `style`), dark on a white quiet zone of four modules (ISO/IEC 18004 §6.3.8) —
 * readable in a dark colour scheme too. The modules come from `uqr`'s encoder.
 */
export async function qrSvg(data: string, label: string): Promise<Html> {
  const { encode } = await import('uqr');
  const { data: modules } = encode(data, { ecc: 'M', border: 4 });
  const size = modules.length;
  let d = '';
  modules.forEach((row, y) => row.forEach((dark, x) => {
    if (dark) d += `M${x} ${y}h1v1h-1z`;
  }));
  // `d` is digits and path commands only, made here: constant markup.
  return html`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${String(size)} ${String(size)}" role="img" aria-label="${label}" shape-rendering="crispEdges"><rect width="${String(size)}" height="${String(size)}" fill="#ffffff"/><path fill="#000000" d="${raw(d)}"/></svg>`;
}
