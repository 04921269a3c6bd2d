/**
 * `/mcp` on Lambda: the same MCP server as the node route (src/http/mcp.ts),
 * stateless, behind the admin token, off when none is set. API Gateway's
 * event becomes a web-standard Request for the SDK's web-standard
 * Streamable HTTP transport, and its Response becomes the function's answer
 * (JSON responses, no SSE stream: a Lambda answer is one body).
 */
import { tokenMatches } from "../http/api.js";
import type { Store } from "../store/db.js";
import { jsonResult, type HttpApiResult, type HttpRequest } from "./events.js";

export async function handleMcpRequest(request: HttpRequest, deps: { store: Store; adminToken?: string | undefined }): Promise<HttpApiResult> {
  if (!deps.adminToken) return jsonResult(404, { error: "the MCP endpoint is off: set FIXLOOP_ADMIN_TOKEN to enable it" });
  const presented = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? "")?.[1]?.trim();
  if (!presented || !tokenMatches(presented, deps.adminToken)) {
    return jsonResult(401, { error: "unauthorized: send Authorization: Bearer <FIXLOOP_ADMIN_TOKEN>" }, { "www-authenticate": "Bearer" });
  }
  // The SDK is loaded on the first MCP request, not on every cold start of the webhook function.
  const [{ WebStandardStreamableHTTPServerTransport }, { createFixloopMcpServer }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"),
    import("../mcp/server.js"),
  ]);
  const server = createFixloopMcpServer(deps.store);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  try {
    const hasBody = request.method !== "GET" && request.method !== "HEAD" && request.body !== "";
    const response = await transport.handleRequest(
      new Request(new URL(request.path, "https://lambda.invalid"), { method: request.method, headers: request.headers, body: hasBody ? request.body : undefined }),
    );
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    return { statusCode: response.status, headers, body: await response.text() };
  } finally {
    await transport.close();
    await server.close();
  }
}
