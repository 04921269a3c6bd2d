/**
 * `fixloop mcp`: the MCP server on stdin/stdout. stdout carries the protocol
 * only, so nothing else may print there; the store closes when the client
 * hangs up.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { openStore } from "../store/db.js";
import { createFixloopMcpServer } from "./server.js";

export async function serveMcpOverStdio(options: { databaseUrl?: string } = {}): Promise<void> {
  const store = await openStore(options.databaseUrl ? { url: options.databaseUrl } : {});
  const server = createFixloopMcpServer(store);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  process.stdin.on("end", () => void server.close());
  await server.connect(transport);
  await closed;
  store.close();
}
