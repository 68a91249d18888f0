import { createHash } from "node:crypto";
import type { CatalogSnapshot, McpObject } from "@mcphub/contracts";

/** Long descriptions are cut: embedding APIs limit input tokens, and the start says what a tool is for. */
const MAX_TEXT_CHARS = 8000;

export interface ToolItem {
  contentId: string;
  server: string;
  tool: string;
  description: string;
  text: string;
}

export function contentId(server: string, tool: string): string {
  return `${server}/${tool}`;
}

/**
 * The text embedded for one tool: its server, its name with separators turned into spaces
 * (so "get-sum" reads as words), its description, and the names of its parameters, which
 * often say what it acts on ("path", "repository", "city").
 */
export function toolText(server: string, tool: McpObject): string {
  const name = tool.name.replace(/[-_./]+/g, " ").trim();
  const description = typeof tool.description === "string" ? tool.description.trim() : "";
  const schema = tool.inputSchema as { properties?: Record<string, unknown> } | undefined;
  const params = schema && typeof schema.properties === "object" && schema.properties ? Object.keys(schema.properties) : [];
  const parts = [`${server} ${name}`];
  if (description) parts.push(description);
  if (params.length) parts.push(`Parameters: ${params.join(", ")}`);
  return parts.join("\n").slice(0, MAX_TEXT_CHARS);
}

/** sha256 of text + model: the same text embedded by another model is another row. */
export function contentHash(text: string, model: string): string {
  return createHash("sha256").update(text).update("\u0000").update(model).digest("hex");
}

/** Every tool of every ready server in the catalog. */
export function catalogTools(snapshot: CatalogSnapshot): ToolItem[] {
  const items: ToolItem[] = [];
  for (const [server, entry] of Object.entries(snapshot.servers)) {
    for (const tool of entry.tools) {
      items.push({
        contentId: contentId(server, tool.name),
        server,
        tool: tool.name,
        description: typeof tool.description === "string" ? tool.description : "",
        text: toolText(server, tool),
      });
    }
  }
  return items;
}
