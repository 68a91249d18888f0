import { z } from "zod";
import type { CatalogSnapshot } from "./catalog.ts";
import type { UpstreamStatus } from "./upstream.ts";

/**
 * The supervisor's internal HTTP API (DESIGN.md, "Contracts"), called by gateways.
 * Guarded by `Authorization: Bearer <INTERNAL_TOKEN>`; never routed by nginx.
 */
export const INTERNAL_PATHS = {
  catalog: "/internal/catalog",
  call: "/internal/call",
} as const;

export interface InternalCatalogResponse {
  catalog: CatalogSnapshot;
  status: UpstreamStatus[];
}

export const internalCallRequestSchema = z.object({
  server: z.string().min(1),
  method: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
  /** When true the answer is NDJSON: progress lines, then the outcome line. */
  progress: z.boolean().default(false),
});
export type InternalCallRequest = z.infer<typeof internalCallRequestSchema>;

/** One line of a streamed call answer, or the whole body of a plain one. */
export type InternalCallLine =
  | { progress: { progress: number; total?: number; message?: string } }
  | { result: Record<string, unknown> }
  | { error: { code: number; message: string; data?: unknown; reason?: string } };
