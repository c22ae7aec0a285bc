// Generic browser driver for compat-tests/test_ui_browser.py.
//
//   node driver.mjs <plan.json> <results.json>
//   node driver.mjs --serve      one browser for many plans: reads one line per plan,
//                                {"plan": "<plan.json>", "out": "<results.json>"}, on stdin
//                                and answers each with a line "done <results.json>"
//
// It launches Debian's chromium (headless, --no-sandbox) through playwright-core,
// opens every page of the plan in a fresh browser context (viewport 1400x900),
// runs the page's steps and records, per page: every response with status >= 400
// (with its body), every failed request, every uncaught page error, every
// console error, every request made (method + URL), the final URL, title and
// visible text, the outcome of every step, and a screenshot.  It makes no
// judgement: the assertions live in the Python test.
//
// Plan:
// { "screenshot_dir": "/abs/dir",              (chromium: $CHROMIUM, default /usr/bin/chromium)
//   "default_timeout_ms": 30000,
//   "parallel": 1,                              (pages run this many at a time)
//   "pages": [ { "name": "runs-table", "url": "http://127.0.0.1:5000/#/...",
//                "init_script": "localStorage.setItem(...)",   (optional, runs before page scripts)
//                "steps": [ STEP, ... ] } ] }
//
// STEP (one key names the action; "timeout_ms" and "optional" apply to all):
//   {"wait_text": "ref-run-1"}               body text contains the string
//   {"wait_no_text": "Loading"}              body text no longer contains it
//   {"wait_selector": "css", "state": "visible"|"attached"|"hidden"}
//   {"wait_url": "substring"}                page URL contains it
//   {"wait_response": "substring", "method": "POST"}  a response whose URL contains it
//                                            (arm it with the step *before* the action:
//                                            set "after" to the index of the action, see below)
//   {"sleep": 1000}
//   {"click": "css"} / {"click_text": "Rename", "exact": true, "nth": 0, "role": "button"}
//   {"dblclick": "css"}
//   {"hover": "css"}
//   {"fill": "css", "value": "x"}            replace an input's value
//   {"type": "css", "value": "x", "delay_ms": 20}   type key by key
//   {"press": "Enter", "selector": "css"}    keyboard (selector optional)
//   {"check_text": "s"}                      record whether the text is present (no wait)
//   {"snapshot": "label"}                    record the visible text under that label
//   {"eval": "js expression"}                record the value of an expression (awaited)
//   {"screenshot": "label"}                  an extra screenshot <page>-<label>.png
//   {"goto": "url"}                          navigate within the same context
//   {"reload": true}
// Any step may carry "expect_response": "substring" (and "expect_method"): the step's
// action is run while waiting for a matching response, whose status and body are
// recorded in the step result.
//
// A failed step (timeout, missing element) stops the page unless it is "optional";
// the page is still screenshotted and everything recorded so far is reported.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const serve = args[0] === '--serve';
if (!serve && args.length !== 2) {
  console.error('usage: node driver.mjs <plan.json> <results.json> | node driver.mjs --serve');
  process.exit(2);
}

const BODY_LIMIT = 4000; // bodies of failed responses
const STEP_BODY_LIMIT = 2000000; // bodies of responses a step waits for

function safeName(s) {
  return String(s).replace(/[^A-Za-z0-9._-]+/g, '_');
}

async function bodyText(page) {
  try {
    return await page.evaluate(() => (document.body ? document.body.innerText : ''));
  } catch (e) {
    return `<innerText failed: ${e.message}>`;
  }
}

function locatorFor(page, step, key) {
  if (key === 'click_text') {
    let loc;
    if (step.role) loc = page.getByRole(step.role, { name: step.click_text, exact: !!step.exact });
    else loc = page.getByText(step.click_text, { exact: !!step.exact });
    return step.nth === undefined ? loc.first() : loc.nth(step.nth);
  }
  const loc = page.locator(step[key]);
  return step.nth === undefined ? loc.first() : loc.nth(step.nth);
}

async function runAction(page, step, timeout) {
  const keys = Object.keys(step).filter(
    (k) => !['timeout_ms', 'optional', 'expect_response', 'expect_method', 'exact', 'nth', 'role',
      'value', 'delay_ms', 'selector', 'state', 'method'].includes(k));
  const key = keys[0];
  switch (key) {
    case 'wait_text': {
      const want = step.wait_text;
      await page.waitForFunction((t) => document.body && document.body.innerText.includes(t), want,
        { timeout, polling: 200 });
      return { key };
    }
    case 'wait_no_text': {
      await page.waitForFunction((t) => !document.body || !document.body.innerText.includes(t),
        step.wait_no_text, { timeout, polling: 200 });
      return { key };
    }
    case 'wait_selector':
      await page.waitForSelector(step.wait_selector, { timeout, state: step.state || 'visible' });
      return { key };
    case 'wait_url':
      await page.waitForURL((u) => u.toString().includes(step.wait_url), { timeout });
      return { key };
    case 'sleep':
      await page.waitForTimeout(step.sleep);
      return { key };
    case 'click':
    case 'click_text':
      await locatorFor(page, step, key).click({ timeout });
      return { key };
    case 'dblclick':
      await locatorFor(page, step, key).dblclick({ timeout });
      return { key };
    case 'hover':
      await locatorFor(page, step, key).hover({ timeout });
      return { key };
    case 'fill':
      await locatorFor(page, step, key).fill(String(step.value), { timeout });
      return { key };
    case 'type':
      await locatorFor(page, step, key).pressSequentially(String(step.value),
        { timeout, delay: step.delay_ms ?? 20 });
      return { key };
    case 'press':
      if (step.selector) await page.locator(step.selector).first().press(step.press, { timeout });
      else await page.keyboard.press(step.press);
      return { key };
    case 'check_text': {
      const text = await bodyText(page);
      return { key, value: text.includes(step.check_text) };
    }
    case 'snapshot':
      return { key, value: await bodyText(page) };
    case 'eval': {
      const value = await page.evaluate(`(async () => (${step.eval}))()`);
      return { key, value };
    }
    case 'screenshot':
      return { key, value: await shot(page, step.screenshot) };
    case 'goto':
      await page.goto(step.goto, { waitUntil: 'commit', timeout });
      return { key };
    case 'reload':
      await page.reload({ waitUntil: 'commit', timeout });
      return { key };
    default:
      throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
}

async function shot(page, label) {
  const file = path.join(page.__shotDir, `${safeName(page.__name)}${label ? '-' + safeName(label) : ''}.png`);
  try {
    await page.screenshot({ path: file, fullPage: false, timeout: 15000 });
    return file;
  } catch (e) {
    return `<screenshot failed: ${e.message}>`;
  }
}

async function runPage(browser, spec, opts) {
  const started = Date.now();
  const defaultTimeout = opts.defaultTimeout;
  const contextOptions = { viewport: { width: 1400, height: 900 } };
  // Basic-auth servers: the browser answers the 401 challenge with these.
  if (spec.http_credentials) contextOptions.httpCredentials = spec.http_credentials;
  const context = await browser.newContext(contextOptions);
  if (spec.init_script) await context.addInitScript(spec.init_script);
  const page = await context.newPage();
  page.__name = spec.name;
  page.__shotDir = opts.shotDir;
  page.setDefaultTimeout(defaultTimeout);
  const result = {
    name: spec.name, url: spec.url, final_url: null, title: null, text: '',
    requests: [], bad_responses: [], request_failed: [], page_errors: [], console_errors: [],
    console_warnings: 0, steps: [], ok: true, error: null, screenshot: null, elapsed_ms: 0,
  };
  const pending = [];
  page.on('request', (req) => {
    result.requests.push({ method: req.method(), url: req.url(), t: Date.now() - started });
  });
  page.on('response', (res) => {
    if (res.status() >= 400) {
      const req = res.request();
      const entry = { method: req.method(), url: res.url(), status: res.status(), body: null,
        request_body: req.postData() ? req.postData().slice(0, BODY_LIMIT) : null };
      result.bad_responses.push(entry);
      pending.push(res.text().then((t) => { entry.body = t.slice(0, BODY_LIMIT); }, () => {}));
    }
  });
  page.on('requestfailed', (req) => {
    const f = req.failure();
    result.request_failed.push({ method: req.method(), url: req.url(), failure: f ? f.errorText : null });
  });
  page.on('pageerror', (err) => {
    result.page_errors.push({ message: String(err && err.message), stack: String(err && err.stack).slice(0, 2000) });
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      result.console_errors.push({ text: msg.text().slice(0, 2000), url: loc ? loc.url : null });
    } else if (msg.type() === 'warning') {
      result.console_warnings += 1;
    }
  });

  try {
    await page.goto(spec.url, { waitUntil: 'commit', timeout: defaultTimeout });
    for (const [i, step] of (spec.steps || []).entries()) {
      const timeout = step.timeout_ms || defaultTimeout;
      const t0 = Date.now();
      const rec = { i, step, ok: true, error: null, value: null, ms: 0 };
      try {
        let out;
        if (step.expect_response) {
          const want = step.expect_response;
          const method = step.expect_method;
          const [res, o] = await Promise.all([
            page.waitForResponse((r) => r.url().includes(want) && (!method || r.request().method() === method),
              { timeout }),
            runAction(page, step, timeout),
          ]);
          out = o;
          let body = null;
          try { body = (await res.text()).slice(0, STEP_BODY_LIMIT); } catch (e) { /* a download: body not kept */ }
          rec.response = { method: res.request().method(), url: res.url(), status: res.status(), body,
            headers: res.headers(),
            request_body: res.request().postData() };
        } else {
          out = await runAction(page, step, timeout);
        }
        rec.value = out.value === undefined ? null : out.value;
      } catch (e) {
        rec.ok = false;
        rec.error = String(e && e.message).split('\n').slice(0, 6).join('\n');
      }
      rec.ms = Date.now() - t0;
      result.steps.push(rec);
      if (!rec.ok && !step.optional) {
        result.ok = false;
        result.error = `step ${i} ${JSON.stringify(step)} failed: ${rec.error}`;
        break;
      }
    }
  } catch (e) {
    result.ok = false;
    result.error = `navigation failed: ${String(e && e.message)}`;
  }
  result.final_url = page.url();
  try { result.title = await page.title(); } catch (e) { result.title = null; }
  result.text = await bodyText(page);
  result.screenshot = await shot(page, '');
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 3000))]);
  await context.close();
  result.elapsed_ms = Date.now() - started;
  return result;
}

async function runPlan(browser, planPath, outPath) {
  const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'));
  const opts = {
    defaultTimeout: plan.default_timeout_ms || 30000,
    shotDir: plan.screenshot_dir || path.dirname(outPath),
  };
  fs.mkdirSync(opts.shotDir, { recursive: true });
  const pages = new Array(plan.pages.length);
  let next = 0;
  const worker = async () => {
    while (next < plan.pages.length) {
      const i = next++;
      pages[i] = await runPage(browser, plan.pages[i], opts);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, plan.parallel || 1) }, worker));
  fs.writeFileSync(outPath, JSON.stringify({ chromium: browser.version(), pages }, null, 1));
  for (const p of pages) {
    console.error(`${p.ok ? 'ok  ' : 'FAIL'} ${p.name} ${p.elapsed_ms}ms bad=${p.bad_responses.length} ` +
      `failed=${p.request_failed.length} pageerrors=${p.page_errors.length} console=${p.console_errors.length}` +
      (p.error ? `\n     ${p.error}` : ''));
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  if (!serve) {
    await runPlan(browser, args[0], args[1]);
  } else {
    const readline = await import('node:readline');
    const rl = readline.createInterface({ input: process.stdin });
    for await (const line of rl) {
      if (!line.trim()) continue;
      const req = JSON.parse(line);
      try {
        await runPlan(browser, req.plan, req.out);
        process.stdout.write(`done ${req.out}\n`);
      } catch (e) {
        process.stdout.write(`error ${JSON.stringify(String(e && e.stack))}\n`);
      }
    }
  }
} finally {
  await browser.close();
}
