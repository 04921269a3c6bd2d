import nock from "nock";
import { afterEach, beforeAll } from "vitest";
import { LOOPBACK, nockGuard } from "./nock-guard.js";

// Tests never reach the network: GitHub and TensorZero are nock scopes, everything else is loopback.
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(LOOPBACK);
});

const guard = nockGuard();

// A mock left unused is a request the code stopped making; an unmatched request is one it was not meant to make.
afterEach(() => {
  const leftovers = guard.takeLeftovers();
  if (leftovers.length > 0) throw new Error(`test ended with ${leftovers.join("\n")}`);
});
