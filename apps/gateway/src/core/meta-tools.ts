import { SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, SEARCH_QUERY_MAX_CHARS } from "@mcphub/contracts";

/**
 * Smart routing's meta-tools (`/mcp/$smart[/<group>]`, MCPHub's names): instead of every tool
 * of its scope, a client sees these three and finds what it needs by meaning.
 *
 * Their text is fixed here and never built from upstream data: a tool description is searched
 * and returned as a value, so no upstream can rewrite what the meta-tools tell the model.
 */
export const SEARCH_TOOLS = "search_tools";
export const CALL_TOOL = "call_tool";
export const DESCRIBE_TOOL = "describe_tool";

function metaTools(progressiveDisclosure: boolean): Record<string, unknown>[] {
  return [
    {
      name: SEARCH_TOOLS,
      title: "Search tools",
      description:
        "Finds the tools that fit a task among every tool this endpoint can reach, best first. Describe what you want to do " +
        "in plain words (\"read a file and count its lines\", \"current time in Tokyo\"). Each result has the tool's name to pass " +
        `to ${CALL_TOOL}, its description, a relevance score from 0 to 1` +
        (progressiveDisclosure ? `; call ${DESCRIBE_TOOL} for a tool's input schema before calling it.` : ", and its input schema."),
      inputSchema: {
        type: "object",
        properties: {
          query: { type: "string", description: "What the tool should do, in a sentence.", minLength: 1, maxLength: SEARCH_QUERY_MAX_CHARS },
          limit: { type: "integer", description: `How many tools to return (1-${SEARCH_LIMIT_MAX}, default ${SEARCH_LIMIT_DEFAULT}).`, minimum: 1, maximum: SEARCH_LIMIT_MAX },
        },
        required: ["query"],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    {
      name: CALL_TOOL,
      title: "Call a tool",
      description: `Runs a tool found with ${SEARCH_TOOLS}, by its name, with arguments that follow its input schema, and returns the tool's own result.`,
      inputSchema: {
        type: "object",
        properties: {
          toolName: { type: "string", description: `The tool's name as ${SEARCH_TOOLS} returned it.`, minLength: 1 },
          arguments: { type: "object", description: "The tool's arguments.", additionalProperties: true },
        },
        required: ["toolName"],
        additionalProperties: false,
      },
    },
    {
      name: DESCRIBE_TOOL,
      title: "Describe a tool",
      description: `Returns one tool's full definition (description and input schema), by the name ${SEARCH_TOOLS} returned.`,
      inputSchema: {
        type: "object",
        properties: { toolName: { type: "string", description: `The tool's name as ${SEARCH_TOOLS} returned it.`, minLength: 1 } },
        required: ["toolName"],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
  ];
}

const listJson = [false, true].map((p) => JSON.stringify({ tools: metaTools(p) }));

/** The tools/list result of a smart-routing endpoint, pre-serialised like every other view's list. */
export function metaToolsJson(progressiveDisclosure: boolean): string {
  return listJson[progressiveDisclosure ? 1 : 0]!;
}
