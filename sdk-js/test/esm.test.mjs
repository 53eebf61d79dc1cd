// The package imported by its name, as an application would: in Node through
// package.json "exports" (a package may import itself by its own name, so
// `@mqlive/sdk` resolves here exactly as from a user's node_modules), and in
// headless Chromium through an import map that maps the bare name to dist/
// the way a bundler or a CDN page would. No bridge is needed: the runtime
// loads and a client is created without connecting. (browser.test.mjs and
// monitor.test.mjs import the copy the bridge serves at /sdk/index.js.)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { distEntry, launchChromium } from './helpers.mjs';

const sdkDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(sdkDir, 'package.json'), 'utf8'));
const EXPORTS = ['Client', 'Subscription', 'createClient', 'loadRuntime'];

before(() => {
  distEntry(); // a clear message when dist/ was not built
});

test('Node: import from "@mqlive/sdk" by name resolves through "exports" and works', async () => {
  assert.equal(pkg.name, '@mqlive/sdk');
  assert.equal(import.meta.resolve('@mqlive/sdk'), pathToFileURL(path.join(sdkDir, 'dist', 'index.js')).href);
  assert.equal(import.meta.resolve('@mqlive/sdk/mqlive.wasm'), pathToFileURL(path.join(sdkDir, 'dist', 'mqlive.wasm')).href);
  assert.throws(() => import.meta.resolve('@mqlive/sdk/dist/index.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }, 'only the exported entry points resolve');

  const sdk = await import('@mqlive/sdk');
  for (const name of EXPORTS) assert.equal(typeof sdk[name], 'function', name);
  const { createClient, loadRuntime, Client } = sdk;
  assert.equal(typeof await loadRuntime(), 'object', 'the .wasm next to index.js loads from the file system');
  const client = await createClient({ url: 'ws://127.0.0.1:9/ws', token: 't' });
  try {
    assert.ok(client instanceof Client);
    assert.equal(client.state, 'disconnected');
    assert.equal(client.session, null);
    assert.deepEqual(client.devices(), []);
  } finally {
    client.close();
  }
  assert.equal(client.state, 'closed');
  await assert.rejects(createClient({}), TypeError);
});

test('browser: import from "@mqlive/sdk" by name (import map to dist/) works in Chromium', { timeout: 60000 }, async () => {
  const dist = path.join(sdkDir, 'dist');
  const entry = pkg.exports['.'].default.replace(/^\.\/dist\//, '/dist/');
  const html = `<!doctype html><meta charset="utf-8">
<script type="importmap">${JSON.stringify({ imports: { '@mqlive/sdk': entry } })}</script>
<script type="module">
import * as sdk from '@mqlive/sdk';
import { createClient, loadRuntime, Client } from '@mqlive/sdk';
window.result = (async () => {
  await loadRuntime();
  const client = await createClient({ url: 'ws://127.0.0.1:9/ws', token: 't' });
  const out = { exports: Object.keys(sdk).filter((k) => typeof sdk[k] === 'function').sort(), isClient: client instanceof Client, state: client.state };
  client.close();
  out.closed = client.state;
  return out;
})();
</script>`;
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname;
    if (name === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      return;
    }
    const file = path.join(dist, path.normalize(name.replace(/^\/dist\//, '/')));
    if (!name.startsWith('/dist/') || !file.startsWith(dist + path.sep)) {
      res.writeHead(404).end('not found');
      return;
    }
    try {
      res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' }).end(readFileSync(file));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 20000 }).catch(() => {});
    const got = await page.evaluate(() => window.result);
    assert.deepEqual(problems, []);
    assert.ok(got, 'the page module ran');
    for (const name of EXPORTS) assert.ok(got.exports.includes(name), `${name} is exported`);
    assert.deepEqual({ ...got, exports: undefined }, { exports: undefined, isClient: true, state: 'disconnected', closed: 'closed' });
  } finally {
    await browser.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

