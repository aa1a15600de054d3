import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/**
 * Pages in a real browser: Debian's Chromium, driven by playwright-core. Without
 * /usr/bin/chromium the browser tests are skipped, unless TRESOR_REQUIRE_CHROMIUM=1 (set by
 * .ci/run, which installs Debian's `chromium`) makes that a failure.
 */
export const chromiumPath = '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const requireChromium = process.env['TRESOR_REQUIRE_CHROMIUM'] === '1';
export const skipWithoutChromium: false | string = haveChromium || requireChromium ? false : `${chromiumPath} is missing (apt-get install chromium); TRESOR_REQUIRE_CHROMIUM=1 makes this a failure`;

/** Playwright's headless mode plus what this machine's closed network needs (no background connections, no QUIC). */
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export async function launchChromium(): Promise<Browser> {
  if (!haveChromium) throw new Error(`TRESOR_REQUIRE_CHROMIUM=1 but ${chromiumPath} is missing: install Debian's chromium package`);
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs, timeout: 20_000 });
}

/** A page that records what the browser refused (CSP) and any script error, for `assertNoRefusals`. */
export interface WatchedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console lines about the CSP refusing something, and page errors. */
  refusals(): string[];
}

export async function watchedPage(browser: Browser, options: { locale?: string } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ locale: options.locale ?? 'en-GB' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const messages: string[] = [];
  page.on('console', (m) => void messages.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => void messages.push(`pageerror: ${e.message}`));
  return { page, context, refusals: () => messages.filter((m) => /Content Security Policy|Refused to|pageerror/i.test(m)) };
}

/**
 * axe-core on the page as it is now (WCAG 2.0–2.2 A and AA rules and best practices): no
 * serious or critical violation. Returns the count of minor and moderate ones, for the log.
 */
export async function assertAccessible(page: Page, which: string): Promise<number> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']).analyze();
  const grave = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    grave.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `${which}: axe-core finds no serious or critical accessibility violation`,
  );
  return result.violations.length;
}

/** The stylesheet applied under the CSP: `main` is narrowed by tresor.css, which an unstyled page never is. */
export async function assertStyled(page: Page, which: string): Promise<void> {
  // A page reached by a form's submit may still be loading its stylesheet: wait for the load, then
  // give a busy machine up to 5 s to apply it. A stylesheet the CSP refused never applies.
  await page.waitForLoadState('load');
  let maxWidth = 'none';
  for (let waited = 0; waited <= 5000; waited += 100) {
    maxWidth = (await page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth")) as string;
    if (maxWidth !== 'none') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.notEqual(maxWidth, 'none', `${which}: the same-origin stylesheet loaded and applied under the CSP (main has a max-width)`);
}

const isFocused = async (page: Page, locator: Locator) => (await locator.and(page.locator(':focus')).count()) === 1;

/** Presses Tab until `target` has focus; returns how many presses that took. */
export async function tabTo(page: Page, target: Locator, what: string, max = 12): Promise<number> {
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press('Tab');
    if (await isFocused(page, target)) return presses;
  }
  return assert.fail(`keyboard: ${what} is reached with at most ${max} presses of Tab`);
}

/** Types into a field reached by keyboard (Tab), as a person without a mouse would. */
export async function typeInto(page: Page, target: Locator, what: string, value: string): Promise<void> {
  await tabTo(page, target, what, 30);
  await page.keyboard.type(value);
}

/**
 * Signs in on the sign-in page the browser shows, by keyboard: email, password, then the code on
 * the second-factor page. The caller waits for where the person lands.
 */
export async function signInByKeyboard(page: Page, credentials: { email: string; password: string; code: string }): Promise<void> {
  await tabTo(page, page.getByLabel('Email address', { exact: true }), 'the email field');
  await page.keyboard.type(credentials.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(credentials.password);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Confirm it is you' }).waitFor();
  await tabTo(page, page.getByLabel('Code', { exact: true }), 'the code field');
  await page.keyboard.type(credentials.code);
  await page.keyboard.press('Enter');
}

/**
 * A screenshot for the docs: with TRESOR_SCREENSHOTS set to a directory (`npm run screenshots`
 * sets docs/screenshots), the page is saved there as `<name>.png`; otherwise nothing is written.
 */
export async function screenshotForDocs(page: Page, name: string): Promise<void> {
  const dir = process.env['TRESOR_SCREENSHOTS'];
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
