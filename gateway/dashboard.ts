import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Context, Hono } from 'hono';

const own = (file: string) => new URL(`./dashboard/${file}`, import.meta.url);
const uplot = (file: string) => createRequire(import.meta.url).resolve(`uplot/dist/${file}`);

/** The page's files, read once at start-up: the page itself, its script and style, and uPlot from npm. */
const ASSETS: Record<string, { body: string; type: string }> = {
  'dashboard.js': { body: readFileSync(own('dashboard.js'), 'utf8'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { body: readFileSync(own('dashboard.css'), 'utf8'), type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': {
    body: readFileSync(uplot('uPlot.iife.min.js'), 'utf8'),
    type: 'text/javascript; charset=utf-8',
  },
  'uPlot.min.css': { body: readFileSync(uplot('uPlot.min.css'), 'utf8'), type: 'text/css; charset=utf-8' },
};
const PAGE = readFileSync(own('page.html'), 'utf8');

/**
 * Nothing on the page comes from elsewhere or runs inline: scripts and styles from the gateway only, data
 * from its own stats API, no framing (clickjacking), no referrer leaving with the operator's URL.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * GET /dashboard: a page an operator keeps open — per-subnet latency and traffic over the last ten minutes,
 * success and cache-hit rates, top miners — polling `/v1/subnets?include=series,miners` every two seconds.
 */
export function mountDashboard(app: Hono): void {
  app.get('/dashboard', (c) => send(c, PAGE, 'text/html; charset=utf-8', 'no-cache'));
  app.get('/dashboard/assets/:file', (c) => {
    const asset = ASSETS[c.req.param('file')];
    if (!asset) return c.text('not found', 404, SECURITY_HEADERS);
    return send(c, asset.body, asset.type, 'public, max-age=300');
  });
}

function send(c: Context, body: string, type: string, cacheControl: string): Response {
  return c.body(body, 200, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': cacheControl });
}
