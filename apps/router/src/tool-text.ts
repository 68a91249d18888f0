import { createHash } from "node:crypto";
import type { CatalogSnapshot, McpObject } from "@mcphub/contracts";
import type { LexicalDoc } from "./lexical.ts";

/** Long descriptions are cut: embedding APIs limit input tokens, and the start says what a tool is for. */
const MAX_TEXT_CHARS = 8000;
/** Parameters read for the lexical fields: a schema of hundreds of properties is not a description. */
const MAX_PARAMS = 40;

export interface ToolItem {
  contentId: string;
  server: string;
  tool: string;
  description: string;
  /** The text embedded for the tool (and hashed: a change re-embeds it). */
  text: string;
  lexical: LexicalDoc;
}

export function contentId(server: string, tool: string): string {
  return `${server}/${tool}`;
}

/** Identifier separators as spaces, so "get-sum" and "git_status" read as words. */
export function nameWords(name: string): string {
  return name.replace(/[-_./:]+/g, " ").trim();
}

/** "name: description" of each parameter, from a JSON Schema's top-level properties. */
export function parameterText(tool: McpObject): string {
  const schema = tool.inputSchema as { properties?: Record<string, unknown> } | undefined | null;
  const props = schema && typeof schema.properties === "object" && schema.properties ? Object.entries(schema.properties).slice(0, MAX_PARAMS) : [];
  return props
    .map(([name, p]) => {
      const d = p && typeof p === "object" && typeof (p as { description?: unknown }).description === "string" ? (p as { description: string }).description : "";
      return d ? `${name}: ${d}` : name;
    })
    .join("\n");
}

/**
 * The text embedded for one tool: its name as words, then its description, then its
 * parameters' names (what it acts on: "path", "repository", "city"), as ToolRet and ScaleMCP
 * build tool documents. The server's name stays out: it is a lexical field, and a server
 * configured under two names (two GitHub accounts) shares one vector per tool text.
 * Tool descriptions are data: they only ever become this text, never instructions.
 */
export function toolText(tool: McpObject): string {
  const description = typeof tool.description === "string" ? tool.description.trim() : "";
  const schema = tool.inputSchema as { properties?: Record<string, unknown> } | undefined | null;
  const params = schema && typeof schema.properties === "object" && schema.properties ? Object.keys(schema.properties).slice(0, MAX_PARAMS) : [];
  const parts = [description ? `${nameWords(tool.name)}: ${description}` : nameWords(tool.name)];
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
      const description = typeof tool.description === "string" ? tool.description : "";
      const title = typeof tool.title === "string" ? ` ${tool.title}` : "";
      items.push({
        contentId: contentId(server, tool.name),
        server,
        tool: tool.name,
        description,
        text: toolText(tool),
        lexical: { name: `${tool.name}${title}`, description: description.slice(0, MAX_TEXT_CHARS), params: parameterText(tool), server },
      });
    }
  }
  return items;
}
