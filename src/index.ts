/**
 * Entry for Probot's own tooling: `probot run ./dist/index.js` and
 * `probot receive -e <event> -p <payload> ./dist/index.js`. It opens the
 * store named by DATABASE_URL (embedded libSQL file by default).
 */
import type { ApplicationFunction } from "probot";
import { fixloopApp } from "./app.js";
import { openStore } from "./store/db.js";

const app: ApplicationFunction = async (probot, options) => {
  const store = await openStore();
  await fixloopApp({ store, adminToken: process.env.FIXLOOP_ADMIN_TOKEN || undefined })(probot, options);
};

export default app;
