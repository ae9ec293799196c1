/**
 * Headless Chromium for the browser tests (test/browser): Debian's `chromium` package, driven
 * with puppeteer-core (which never downloads a browser).
 *
 * Environment:
 *   TRAILGRAPH_CHROMIUM  the browser to run, an absolute path (by default /usr/bin/chromium);
 *                        "none" (also "", "0", "false", "off"): behave as if none were
 *                        installed (to see the skip, or the failure under CI).
 *
 * Without a browser the browser tests are skipped with a loud warning; when CI is set that is
 * a failure instead, as for the MySQL half of the suite (test/global-setup.ts).
 */
import { accessSync, constants, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { isLoopback } from "../../src/auth/settings";

const DEFAULT_CHROMIUM = "/usr/bin/chromium";
const HOW_TO_ENABLE = [
  "To run them, either:",
  "  - install Debian's browser:  sudo apt-get install --no-install-recommends chromium",
  "  - or name one:  TRAILGRAPH_CHROMIUM=/path/to/chromium npm test",
];

function isCI(): boolean {
  const value = (process.env.CI ?? "").trim().toLowerCase();
  return value !== "" && value !== "false" && value !== "0";
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium binary, or undefined when none is installed (or TRAILGRAPH_CHROMIUM=none). */
export function findChromium(): string | undefined {
  const override = process.env.TRAILGRAPH_CHROMIUM;
  if (override !== undefined) {
    const value = override.trim();
    if (["", "none", "0", "false", "off"].includes(value.toLowerCase())) return undefined;
    if (isExecutableFile(value)) return value;
    throw new Error(`TRAILGRAPH_CHROMIUM=${override} is not an executable file`);
  }
  return isExecutableFile(DEFAULT_CHROMIUM) ? DEFAULT_CHROMIUM : undefined;
}

/**
 * The browser for a browser suite (call at the top of the spec file, for `describe.skipIf`):
 * its path, or null after a loud warning; throws when CI is set and there is none.
 */
export function chromiumForTests(suite: string): string | null {
  const found = findChromium();
  if (found) return found;
  const why =
    process.env.TRAILGRAPH_CHROMIUM === undefined
      ? `No Chromium at ${DEFAULT_CHROMIUM} and TRAILGRAPH_CHROMIUM is not set`
      : `TRAILGRAPH_CHROMIUM=${process.env.TRAILGRAPH_CHROMIUM} says there is no browser`;
  if (isCI()) {
    throw new Error(
      [
        `No Chromium for the browser tests (${suite}), and CI is set: refusing to skip them.`,
        `${why}.`,
        ...HOW_TO_ENABLE,
      ].join("\n"),
    );
  }
  const bar = "!".repeat(78);
  process.stderr.write(
    [
      "",
      bar,
      `!!  WARNING: THE BROWSER TESTS (${suite}) ARE BEING SKIPPED.`,
      `!!  ${why}:`,
      "!!  CORS and GraphiQL are not tested in a real browser. A green run does NOT cover them.",
      ...HOW_TO_ENABLE.map((line) => `!!  ${line}`),
      bar,
      "",
      "",
    ].join("\n"),
  );
  return null;
}

/** A headless Chromium with a fresh profile; `close` ends it and removes the profile. */
export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(executablePath: string): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "trailgraph-chromium-"));
  const browser = await puppeteer.launch({
    executablePath,
    // puppeteer passes --headless itself (true: Chromium's current headless mode).
    headless: true,
    userDataDir: profile,
    // Nothing but what a test asks for: without the background-networking flags Chromium
    // reaches out to Google's services (and may find its connections refused).
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
    timeout: 30_000,
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Records every request a page makes (its workers' too) and lets through only those that stay
 * on this host: data: and blob: URLs, and http(s)/ws(s) to a loopback address. Any other is
 * aborted and listed in `leaving`.
 */
export async function recordRequests(page: Page): Promise<{ all: string[]; leaving: string[] }> {
  const all: string[] = [];
  const leaving: string[] = [];
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const url = request.url();
    all.push(url);
    if (staysOnHost(url)) void request.continue();
    else {
      leaving.push(url);
      void request.abort("blockedbyclient");
    }
  });
  return { all, leaving };
}

function staysOnHost(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === "data:" || url.protocol === "blob:") return true;
  return ["http:", "https:", "ws:", "wss:"].includes(url.protocol) && isLoopback(url.hostname);
}
