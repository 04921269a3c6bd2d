/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): log in through the form, read the seeded table, chart and
 * rates, retry a dead job, and save screenshots to test-artifacts/.
 *
 * Without /usr/bin/chromium this fails under CI (which installs it) and skips
 * elsewhere, so `npm test` on a laptop without Chromium still passes.
 */
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { formatRate } from "../src/http/dashboard/views.js";
import { jobs } from "../src/store/schema.js";
import { METRICS, type MetricName } from "../src/tensorzero/metrics.js";
import { seedRealistic, VARIANTS, type SeedTally } from "./dashboard-seed.js";
import { ADMIN_TOKEN, startTestServer, type TestServer } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
// No network here: keep Chromium from reaching for it (QUIC probes, component and sync updates).
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
const haveChromium = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI) && process.env.CI !== "false";

if (!haveChromium && !inCi) {
  console.warn(`test/browser.test.ts: skipped, ${CHROMIUM} is missing (apt-get install -y chromium); CI installs it and runs this test.`);
}

test.runIf(!haveChromium && inCi)("Chromium is installed for the browser test", () => {
  throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (apt-get install -y chromium) for test/browser.test.ts`);
});

describe.runIf(haveChromium)("dashboard in headless Chromium", { timeout: 60_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let tally: SeedTally;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    tally = await seedRealistic(server.store, new Date());
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // CSP violations and page errors land here: the page must work under its own policy.
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test("the dashboard sends a stranger to the login form", async () => {
    const response = await page.goto(`${server.url}/fixloop`);
    expect(response?.status()).toBe(401);
    await page.getByRole("link", { name: "Log in" }).click();
    await page.waitForURL(`${server.url}/fixloop/login`);
    await expect(page.getByLabel("Admin token").isVisible()).resolves.toBe(true);
  });

  test("a wrong token keeps the door shut", async () => {
    await page.getByLabel("Admin token").fill("not-the-token");
    await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Log in" }).click()]);
    await expect(page.getByRole("alert").textContent()).resolves.toContain("That token is not right.");
    expect(await page.context().cookies()).toEqual([]);
  });

  test("logging in lands on the dashboard with an HttpOnly, SameSite=Strict session", async () => {
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${server.url}/fixloop`), page.getByRole("button", { name: "Log in" }).click()]);
    // The 401s before this point were the test's own doing; from here on the console must stay clean.
    consoleErrors.length = 0;
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: "fixloop_session", httpOnly: true, sameSite: "Strict", path: "/fixloop" });
    expect(cookies[0].value).not.toContain(ADMIN_TOKEN);
    await expect(page.getByRole("heading", { name: /Recent fix attempts/ }).isVisible()).resolves.toBe(true);
  });

  test("the attempts table is filled from the database", async () => {
    const rows = page.locator("#attempts tbody tr[data-attempt]");
    expect(await rows.count()).toBe(tally.attempts);
    const text = await page.locator("#attempts").innerText();
    for (const variant of VARIANTS) expect(text).toContain(variant);
    expect(text).toMatch(/ci passed/);
    expect(await page.locator('#attempts a[href^="https://github.com/"][href*="/pull/"]').count()).toBeGreaterThan(10);
  });

  test("the chart draws a bar per day with attempts, with a legend and axis labels", async () => {
    const chart = page.getByRole("img", { name: /Fix attempts and outcomes per day/ });
    await expect(chart.isVisible()).resolves.toBe(true);
    const daysWithAttempts = Object.keys(tally.openedByDay).length;
    expect(await page.locator("svg.chart rect.bar-opened").count()).toBe(daysWithAttempts);
    expect(await page.locator("svg.chart rect.bar-ciPassed").count()).toBeGreaterThan(0);
    expect(await page.locator("svg.chart rect.bar-merged").count()).toBeGreaterThan(0);
    const box = await page.locator("svg.chart rect.bar-opened").first().boundingBox();
    expect(box?.height).toBeGreaterThan(0);
    const legend = await page.locator("svg.chart .legend").textContent();
    expect(legend).toContain("Attempts opened");
    expect(legend).toContain("CI passed");
    expect(legend).toContain("Merged");
    expect(await page.locator("svg.chart text.day").count()).toBeGreaterThanOrEqual(5);
  });

  test("each variant card shows the rates of the seeded outcomes", async () => {
    for (const variant of VARIANTS) {
      const card = page.locator(`article.card[data-variant="${variant}"]`);
      await expect(card.isVisible()).resolves.toBe(true);
      const expected = tally.perVariant[variant];
      await expect(card.locator(".count").textContent()).resolves.toMatch(new RegExp(`^${expected.attempts} attempts`));
      for (const metric of Object.values(METRICS) as MetricName[]) {
        await expect(card.locator(`dd[data-metric="${metric}"]`).textContent()).resolves.toBe(formatRate(expected.outcomes[metric]));
      }
    }
    expect(tally.perVariant[VARIANTS[0]].outcomes[METRICS.ciPassed].total).toBeGreaterThan(0);
  });

  test("retrying a dead job re-queues it and says so", async () => {
    const [deadJob] = tally.failedJobIds;
    const row = page.locator(`#failed-jobs tr[data-job="${deadJob}"]`);
    await expect(row.innerText()).resolves.toContain("ECONNREFUSED");
    await Promise.all([page.waitForURL(`${server.url}/fixloop?retried=${deadJob}`), row.getByRole("button", { name: `Retry job ${deadJob}` }).click()]);
    await expect(page.getByRole("status").textContent()).resolves.toContain(`Job ${deadJob} is queued again`);
    expect(await page.locator(`#failed-jobs tr[data-job="${deadJob}"]`).count()).toBe(0);
    const [job] = await server.store.db.select().from(jobs).where(eq(jobs.id, deadJob));
    expect(job).toMatchObject({ status: "queued", attempts: 0, lastError: null });
    // The other failed job is still there with its retry button.
    expect(await page.locator(`#failed-jobs tr[data-job="${tally.failedJobIds[1]}"] button.retry`).count()).toBe(1);
  });

  test("the page runs clean under its CSP; screenshots are saved", async () => {
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    expect(existsSync(`${ARTIFACTS}dashboard.png`)).toBe(true);
    expect(consoleErrors).toEqual([]);
  });

  test("at phone width nothing spills sideways out of the page", async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    try {
      await phone.context().addCookies(await page.context().cookies());
      const response = await phone.goto(`${server.url}/fixloop`);
      expect(response?.status()).toBe(200);
      const scrollWidth = await phone.evaluate("document.documentElement.scrollWidth");
      expect(scrollWidth).toBeLessThanOrEqual(390);
      await phone.screenshot({ path: `${ARTIFACTS}dashboard-phone.png`, fullPage: true });
    } finally {
      await phone.close();
    }
  });
});
