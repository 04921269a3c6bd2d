/**
 * The MCP server over Streamable HTTP at `/mcp`, for hosted agents: behind
 * the admin token like the JSON API, off when no token is set. Stateless:
 * each request gets its own server and transport over the shared store, so
 * any instance (or Lambda) can answer any request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Store } from "../store/db.js";
import { bearerAuthorized } from "./api.js";
import { createFailureLimiter, type FailureLimiter } from "./rate-limit.js";
import { requestUrl, sendJson } from "./respond.js";

export const MCP_PATH = "/mcp";

export function createMcpHttpHandler(deps: { store: Store; adminToken?: string | undefined; authLimiter?: FailureLimiter }) {
  const limiter = deps.authLimiter ?? createFailureLimiter();
  return async function mcpHttp(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (requestUrl(req).pathname.replace(/\/+$/, "") !== MCP_PATH) return false;
    if (!deps.adminToken) return sendJson(res, 404, { error: "the MCP endpoint is off: set FIXLOOP_ADMIN_TOKEN to enable it" });
    if (!bearerAuthorized(req, res, deps.adminToken, limiter)) return true;
    // The SDK is loaded on the first MCP request, not at every start of the app.
    const [{ StreamableHTTPServerTransport }, { createFixloopMcpServer }] = await Promise.all([
      import("@modelcontextprotocol/sdk/server/streamableHttp.js"),
      import("../mcp/server.js"),
    ]);
    const server = createFixloopMcpServer(deps.store);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
    return true;
  };
}
