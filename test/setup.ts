import nock from "nock";
import { afterEach, beforeAll } from "vitest";

// Tests never reach the network: GitHub and TensorZero are nock scopes, everything else is loopback.
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);
});

afterEach(() => {
  nock.cleanAll();
});
