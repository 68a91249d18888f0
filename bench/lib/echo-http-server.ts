// A reference point, not MCPHub: the least an MCP server over Streamable HTTP can do for echo
// (canned JSON, no upstream, no validation). The SDK client against it shows what the client
// and HTTP cost by themselves, which no hub can take away. Prints {"port":N} once listening.
import { createServer } from "node:http";

const TOOL = { name: "echo", description: "Echoes back the input string", inputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] } };
let sessions = 0;

const server = createServer((req, res) => {
  if (req.method === "GET") return void res.writeHead(405, { allow: "POST, DELETE" }).end();
  if (req.method === "DELETE") return void res.writeHead(200).end();
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (d: string) => (body += d));
  req.on("end", () => {
    const msg = JSON.parse(body) as { id?: number | string; method?: string; params?: { arguments?: { message?: string }; protocolVersion?: string } };
    const answer = (result: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(200, { "content-type": "application/json", ...headers }).end(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result }));
    switch (msg.method) {
      case "initialize":
        return answer(
          { protocolVersion: msg.params?.protocolVersion ?? "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "echo-reference", version: "1.0.0" } },
          { "mcp-session-id": `s${++sessions}` },
        );
      case "tools/call":
        return answer({ content: [{ type: "text", text: `Echo: ${msg.params?.arguments?.message ?? ""}` }] });
      case "tools/list":
        return answer({ tools: [TOOL] });
      default:
        if (msg.id === undefined) return void res.writeHead(202).end();
        return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "Method not found" } }));
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof addr === "object" && addr ? addr.port : 0 })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)).closeAllConnections());
// The bench holds our stdin open; when it dies without stopping us, stdin ends and so do we.
process.stdin.on("end", () => process.exit(0)).resume();
