import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = new URL('../test-results/', import.meta.url).pathname;
const MODELS = ['sn1/apex-chat', 'sn4/targon-chat', 'sn18/cortex-chat'];

if (!existsSync(CHROMIUM)) {
  console.warn(`dashboard browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

describe.skipIf(!existsSync(CHROMIUM))('the operator dashboard in a browser', () => {
  let stack: Stack;
  let browser: Browser;
  let traffic: Promise<void> | undefined;
  let sending = true;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([
      startStack(),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      }),
    ]);
    // Steady localnet traffic to three subnets while the page is open.
    traffic = (async () => {
      for (let i = 0; sending; i++) {
        await stack.client.chat.completions
          .create({ model: MODELS[i % MODELS.length]!, messages: [{ role: 'user', content: `live ${i}` }] })
          .catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
  });
  afterAll(async () => {
    sending = false;
    await traffic;
    await browser?.close();
    await stack?.close();
  });

  it('shows latency charts and subnet rows filling with live numbers, without CSP violations', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    const response = await page.goto(`${stack.gateway.url}/dashboard`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");

    // Both charts draw (uPlot renders into a canvas) with one series per subnet in their legends.
    await page.locator('#latency-chart canvas').first().waitFor({ timeout: 10_000 });
    await page.locator('#traffic-chart canvas').first().waitFor();
    const legend = await page.locator('#latency-chart .u-legend .u-series').allTextContents();
    expect(legend.join(' ')).toContain('sn1 apex');

    const requestsOf = async (key: string) =>
      Number(await page.locator(`#subnets tbody tr[data-key="${key}"] td`).nth(1).textContent());
    await expect.poll(() => requestsOf('sn1'), { timeout: 10_000 }).toBeGreaterThan(0);
    const first = await requestsOf('sn4');
    // The page polls every two seconds: the counts keep growing with the traffic.
    await expect.poll(() => requestsOf('sn4'), { timeout: 10_000 }).toBeGreaterThan(first);
    const sn1Cells = await page.locator('#subnets tbody tr[data-key="sn1"] td').allTextContents();
    expect(sn1Cells[2]).toMatch(/%$/); // success rate
    expect(Number(sn1Cells[3])).toBeGreaterThan(0); // p50 ms
    await expect.poll(() => page.locator('#miners tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#status').getAttribute('data-live')).toBe('true');

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOT_DIR}dashboard.png`, fullPage: true });
    expect(problems).toEqual([]);
  });
});
