import { connect as tcp } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHub, type TestHub } from "./helpers/hub.ts";

/**
 * A request Node's HTTP parser cannot read, most often a body its headers do not declare (a GET
 * or DELETE body without Content-Length, read as a second request), ends the connection. The
 * answer must say so (`Connection: close`): the hub used to answer 400 and close the socket
 * without it, so a keep-alive client sent its next request into a reset.
 */

let t: TestHub;
let port: number;

beforeAll(async () => {
  t = await startHub({ mcpServers: {} });
  port = Number(new URL(t.base).port);
});
afterAll(() => t?.close());

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes raw bytes on one connection and reads until the server closes it (or, with `expect`,
 * until that many responses arrived: then the client closes). Responses here carry Content-Length.
 */
function exchange(raw: string, expectCount?: number): Promise<{ responses: RawResponse[]; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tcp(port, "127.0.0.1");
    let data = "";
    const responses: RawResponse[] = [];
    let closedByUs = false;
    const parse = () => {
      for (;;) {
        const end = data.indexOf("\r\n\r\n");
        if (end < 0) return;
        const [statusLine, ...lines] = data.slice(0, end).split("\r\n");
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
        const length = Number(headers["content-length"] ?? 0);
        if (data.length < end + 4 + length) return;
        responses.push({ status: Number(statusLine!.split(" ")[1]), headers, body: data.slice(end + 4, end + 4 + length) });
        data = data.slice(end + 4 + length);
        if (expectCount !== undefined && responses.length >= expectCount) {
          closedByUs = true;
          socket.end();
        }
      }
    };
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      data += chunk;
      parse();
    });
    socket.on("error", reject);
    socket.on("close", () => resolve({ responses, closedByServer: !closedByUs }));
    socket.write(raw);
  });
}

describe("a request the framing does not declare", () => {
  it("a GET with a body and no Content-Length: its answer says Connection: close, and the connection ends", async () => {
    const { responses, closedByServer } = await exchange(`GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n{"jsonrpc":"2.0","id":1}`);
    expect(closedByServer).toBe(true);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.status).toBe(200);
    expect(responses[0]!.headers.connection).toBe("close");
  });

  it("a DELETE with a body and no Content-Length, the same", async () => {
    const { responses, closedByServer } = await exchange(`DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nMcp-Session-Id: none\r\n\r\n{"x":1}`);
    expect(closedByServer).toBe(true);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.headers.connection).toBe("close");
  });

  it("bytes that are no request at all: 400 in the REST error shape, with Connection: close", async () => {
    const { responses, closedByServer } = await exchange(`{"jsonrpc":"2.0"} not http\r\n\r\n`);
    expect(closedByServer).toBe(true);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.status).toBe(400);
    expect(responses[0]!.headers.connection).toBe("close");
    expect(JSON.parse(responses[0]!.body).error).toMatchObject({ code: "HUB_MALFORMED_REQUEST", message: expect.stringMatching(/Content-Length.*this connection is closed/) });
  });

  it("headers too large: 431 with Connection: close", async () => {
    const { responses } = await exchange(`GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.status).toBe(431);
    expect(responses[0]!.headers.connection).toBe("close");
  });

  it("well-framed keep-alive requests are unaffected: both answered, the connection stays open", async () => {
    const get = `GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const { responses, closedByServer } = await exchange(get + get, 2);
    expect(closedByServer).toBe(false);
    expect(responses.map((r) => [r.status, r.headers.connection])).toEqual([[200, "keep-alive"], [200, "keep-alive"]]);
  });
});
