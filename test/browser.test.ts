/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): a stranger lands on the login form; logged in, the walk
 * goes Overview → Attempts (filtered) → an attempt → its run and its PR →
 * Deliveries → replays a failed delivery, retries a dead job, and checks the
 * chart, rates and phone layout (the phone chart whole on a 390 px screen).
 * Screenshots of each page at 1280 px and 390 px are taken on every run; with
 * FIXLOOP_SCREENSHOTS=1 they replace the committed ones in test-artifacts/,
 * otherwise they go to a temporary directory (a test run leaves the tree clean).
 *
 * Without /usr/bin/chromium this fails under CI (which installs it) and skips
 * elsewhere, so `npm test` on a laptop without Chromium still passes.
 */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { formatRate } from "../src/http/dashboard/views.js";
import { deliveries, jobs } from "../src/store/schema.js";
import { METRICS, type MetricName } from "../src/tensorzero/metrics.js";
import { seedRealistic, VARIANTS, type SeedTally } from "./dashboard-seed.js";
import { ADMIN_TOKEN, startTestServer, type TestServer } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
// No network here: keep Chromium from reaching for it (QUIC probes, component and sync updates).
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const ARTIFACTS =
  process.env.FIXLOOP_SCREENSHOTS === "1" ? fileURLToPath(new URL("../test-artifacts/", import.meta.url)) : `${mkdtempSync(join(tmpdir(), "fixloop-screenshots-"))}/`;
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
  let attemptId = "";
  const consoleErrors: string[] = [];
  const shots: string[] = [];

  /** A full-page screenshot of the current page at 1280 px, and the same URL at 390 px (phone), where nothing may spill sideways. */
  async function shoot(name: string): Promise<void> {
    await page.screenshot({ path: `${ARTIFACTS}${name}-1280.png`, fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    try {
      await phone.context().addCookies(await page.context().cookies());
      await phone.goto(page.url());
      expect(await phone.evaluate("document.documentElement.scrollWidth"), `${name} at 390 px`).toBeLessThanOrEqual(390);
      await phone.screenshot({ path: `${ARTIFACTS}${name}-390.png`, fullPage: true });
    } finally {
      await phone.close();
    }
    shots.push(name);
  }

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
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`${server.url}/fixloop/login`);
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

  test("the overview shows the tiles, the newest attempts and links to every section", async () => {
    const tileValue = (label: string) => page.locator(".tile", { has: page.locator(".label", { hasText: label }) }).locator(".value").textContent();
    await expect(tileValue("Fix attempts")).resolves.toBe(String(tally.attempts));
    await expect(tileValue("Failed deliveries")).resolves.toBe("1");
    await expect(tileValue("Failed jobs")).resolves.toBe("2");
    expect(await page.locator("#attempts tbody tr[data-attempt]").count()).toBe(10);
    for (const tab of ["Overview", "Attempts", "Runs", "PRs", "Jobs", "Deliveries"]) {
      await expect(page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: tab, exact: true }).isVisible()).resolves.toBe(true);
    }
    await shoot("overview");
  });

  test("Attempts, filtered by repository and variant, pages through what matches", async () => {
    await Promise.all([page.waitForURL(`${server.url}/fixloop/attempts`), page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Attempts", exact: true }).click()]);
    expect(await page.locator("#attempts tbody tr[data-attempt]").count()).toBe(Math.min(25, tally.attempts));
    await expect(page.getByText(`of ${tally.attempts} · page 1`).isVisible()).resolves.toBe(true);
    await page.getByLabel("Repository").selectOption("acme/widgets");
    await page.getByLabel("Variant").selectOption(VARIANTS[1]);
    await Promise.all([page.waitForURL(/\/fixloop\/attempts\?repo=acme%2Fwidgets&.*variant=/), page.getByRole("button", { name: "Filter" }).click()]);
    const rows = page.locator("#attempts tbody tr[data-attempt]");
    expect(await rows.count()).toBeGreaterThan(0);
    const text = await page.locator("#attempts").innerText();
    expect(text).not.toContain("octo-org/");
    expect(text).not.toContain(VARIANTS[0]);
    expect(await page.locator('#attempts a[href^="https://github.com/acme/widgets/pull/"]').count()).toBeGreaterThan(0);
    await shoot("attempts-filtered");
  });

  test("an attempt's page shows its trigger run, context, diff, PR, CI verdicts, feedback and attribution", async () => {
    const withPr = page.locator("#attempts tbody tr[data-attempt]").filter({ has: page.locator('a[href^="/fixloop/pr?"]') }).first();
    attemptId = (await withPr.getAttribute("data-attempt"))!;
    await Promise.all([page.waitForURL(`${server.url}/fixloop/attempts/${attemptId}`), withPr.locator("td.when a").click()]);
    await expect(page.getByRole("heading", { name: /Fix attempt on acme\/widgets/ }).isVisible()).resolves.toBe(true);
    await expect(page.locator("pre.diff .add").first().textContent()).resolves.toContain('if (input.trim() === "") return [];');
    await expect(page.locator("#context-heading").isVisible()).resolves.toBe(true);
    await expect(page.getByText("AssertionError: expected [ '' ] to deeply equal []").isVisible()).resolves.toBe(true);
    expect(await page.locator("#feedback tbody tr[data-feedback]").count()).toBeGreaterThan(0);
    await expect(page.locator("#links").innerText()).resolves.toContain("authored");
    await shoot("attempt");
  });

  test("from the attempt to its trigger run and back, then to its PR", async () => {
    // These links go through a redirect (/fixloop/run?… names the run by its GitHub id): wait for where it lands.
    await page.locator('a[href^="/fixloop/run?"]').first().click();
    await page.waitForURL(/\/fixloop\/runs\/\d+$/);
    await expect(page.getByRole("heading", { name: /^Run #\d+/ }).isVisible()).resolves.toBe(true);
    expect(await page.locator(`#attempts tr[data-attempt="${attemptId}"]`).count()).toBe(1);
    await expect(page.locator('a[href^="https://github.com/acme/widgets/actions/runs/"]').first().isVisible()).resolves.toBe(true);
    await shoot("run");
    await Promise.all([page.waitForURL(`${server.url}/fixloop/attempts/${attemptId}`), page.locator(`#attempts tr[data-attempt="${attemptId}"] td.when a`).click()]);
    await page.locator('section[aria-labelledby="pr-heading"] a[href^="/fixloop/pr?"]').first().click();
    await page.waitForURL(/\/fixloop\/prs\/\d+$/);
    await expect(page.getByRole("heading", { name: /^PR #\d+: fixloop: fix/ }).isVisible()).resolves.toBe(true);
    expect(await page.locator(`#attempts tr[data-attempt="${attemptId}"]`).count()).toBe(1);
    await expect(page.locator('a[href^="https://github.com/acme/widgets/pull/"]').first().isVisible()).resolves.toBe(true);
    await shoot("pr");
  });

  test("Deliveries: the failed one is replayed through the inbox and says so", async () => {
    await Promise.all([page.waitForURL(`${server.url}/fixloop/deliveries`), page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Deliveries", exact: true }).click()]);
    const row = page.locator(`#deliveries tr[data-delivery="${tally.failedDeliveryId}"]`);
    await expect(row.innerText()).resolves.toContain("SQLITE_BUSY");
    await shoot("deliveries");
    await Promise.all([
      page.waitForURL(`${server.url}/fixloop/deliveries/${tally.failedDeliveryId}?replayed=processed`),
      row.getByRole("button", { name: `Replay delivery ${tally.failedDeliveryId}` }).click(),
    ]);
    await expect(page.locator(".flash").textContent()).resolves.toContain("Replayed: the delivery was processed.");
    const [stored] = await server.store.db.select().from(deliveries).where(eq(deliveries.id, tally.failedDeliveryId));
    expect(stored).toMatchObject({ status: "processed", error: null });
    await shoot("delivery-replayed");
    await page.goto(`${server.url}/fixloop`);
  });

  test("the chart draws a bar per day with attempts, with a legend and axis labels", async () => {
    // Wide screens get the 30-day drawing; the phone's is hidden here.
    const chart = page.getByRole("img", { name: /Fix attempts and outcomes per day, last 30 days/ });
    await expect(chart.isVisible()).resolves.toBe(true);
    await expect(page.locator("svg.chart-narrow").isVisible()).resolves.toBe(false);
    const daysWithAttempts = Object.keys(tally.openedByDay).length;
    expect(await page.locator("svg.chart-wide rect.bar-opened").count()).toBe(daysWithAttempts);
    expect(await page.locator("svg.chart-wide rect.bar-ciPassed").count()).toBeGreaterThan(0);
    expect(await page.locator("svg.chart-wide rect.bar-merged").count()).toBeGreaterThan(0);
    const box = await page.locator("svg.chart-wide rect.bar-opened").first().boundingBox();
    expect(box?.height).toBeGreaterThan(0);
    const legend = await page.locator("svg.chart-wide .legend").textContent();
    expect(legend).toContain("Attempts opened");
    expect(legend).toContain("CI passed");
    expect(legend).toContain("Merged");
    expect(await page.locator("svg.chart-wide text.day").count()).toBeGreaterThanOrEqual(5);
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
    // The flash is a status too: take the one that says what happened.
    await expect(page.locator(".flash").textContent()).resolves.toContain(`Job ${deadJob} is queued again`);
    expect(await page.locator(`#failed-jobs tr[data-job="${deadJob}"]`).count()).toBe(0);
    const [job] = await server.store.db.select().from(jobs).where(eq(jobs.id, deadJob));
    expect(job).toMatchObject({ status: "queued", attempts: 0, lastError: null });
    // The other failed job is still there with its retry button.
    expect(await page.locator(`#failed-jobs tr[data-job="${tally.failedJobIds[1]}"] button.retry`).count()).toBe(1);
  });

  test("the pages run clean under their CSP; screenshots are saved at both widths", async () => {
    expect(shots).toEqual(["overview", "attempts-filtered", "attempt", "run", "pr", "deliveries", "delivery-replayed"]);
    for (const name of shots) for (const width of [1280, 390]) expect(existsSync(`${ARTIFACTS}${name}-${width}.png`)).toBe(true);
    expect(consoleErrors).toEqual([]);
  });

  test("on a 390 px phone the chart is whole on screen: bars, legend and axis inside the viewport, no sideways scrolling", async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    try {
      await phone.context().addCookies(await page.context().cookies());
      const response = await phone.goto(`${server.url}/fixloop`);
      expect(response?.status()).toBe(200);
      expect(await phone.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
      await expect(phone.locator("svg.chart-wide").isVisible()).resolves.toBe(false);
      const chart = phone.locator("svg.chart-narrow");
      await expect(chart.isVisible()).resolves.toBe(true);
      await chart.scrollIntoViewIfNeeded();
      const inside = async (selector: string) => {
        const boxes = await phone.locator(`svg.chart-narrow ${selector}`).evaluateAll((nodes) =>
          nodes.map((node) => {
            const r = node.getBoundingClientRect();
            return { left: r.left, right: r.right };
          }),
        );
        expect(boxes.length, selector).toBeGreaterThan(0);
        for (const box of boxes) {
          expect(box.left, selector).toBeGreaterThanOrEqual(0);
          expect(box.right, selector).toBeLessThanOrEqual(390);
        }
      };
      await inside(".legend-item");
      await inside(".axis text");
      await inside("rect.bar");
      await inside("text.day");
      const legend = await phone.locator("svg.chart-narrow .legend").textContent();
      for (const label of ["Attempts opened", "CI passed", "Merged"]) expect(legend).toContain(label);
      await chart.screenshot({ path: `${ARTIFACTS}chart-390.png` });
    } finally {
      await phone.close();
    }
  });
});
