// Node.js release lines and the day each leaves maintenance (the Node.js release schedule).
// A vault that keeps health data must not run on a runtime that no longer gets security fixes
// (OWASP ASVS 4.0 V14.2.1: components up to date), so the server says so when it starts.
const endOfLife: Readonly<Record<number, string>> = {
  20: '2026-04-30',
  22: '2027-04-30',
  24: '2028-04-30',
};

/** The warning to print at start when `nodeVersion` (e.g. "20.20.2") is past its end of life on `today`. */
export function nodeEndOfLifeWarning(nodeVersion: string, today: Date): string | undefined {
  const major = Number(nodeVersion.replace(/^v/, '').split('.')[0]);
  const ends = endOfLife[major];
  if (ends === undefined) return major % 2 === 1 ? `Node.js ${nodeVersion} is not a long-term support release; run the current LTS (Node 24) in production.` : undefined;
  if (today.toISOString().slice(0, 10) <= ends) return undefined;
  return `Node.js ${nodeVersion} reached its end of life on ${ends} and gets no security fixes; run the current LTS (Node 24).`;
}
