import { expect, test } from "vitest";
import { mapLimited } from "../src/github/map-limited.js";

test("mapLimited keeps the items' order and never has more than `limit` calls in flight", async () => {
  let inFlight = 0;
  let most = 0;
  const results = await mapLimited([5, 1, 4, 2, 3, 0], 2, async (n) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, n * 3));
    inFlight--;
    return n * 10;
  });
  expect(results).toEqual([50, 10, 40, 20, 30, 0]);
  expect(most).toBe(2);
  expect(await mapLimited([], 4, async () => 1)).toEqual([]);
});
