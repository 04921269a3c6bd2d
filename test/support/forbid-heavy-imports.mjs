// Loaded with `node --import` by the CLI start test: any import of Probot, the AWS SDK
// or the HTTP stack fails the process, so a command that loads them eagerly is caught.
import { register } from "node:module";

const hooks = `
const HEAVY = /^(?:probot|@probot\\/|@aws-sdk\\/|pino-http|express)(?:\\/|$)|\\/src\\/(?:http|app|server|lambda)\\b/;
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (HEAVY.test(specifier) || HEAVY.test(result.url)) throw new Error("heavy module loaded: " + specifier);
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url);
