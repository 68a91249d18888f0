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
  /** The gateway's answer to a server-to-client request streamed on a call (`request` line). */
  callAnswer: "/internal/call-answer",
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
  /**
   * Set when the gateway relays the upstream's traffic to its client: the answer is NDJSON with
   * `request` and `notification` lines too, and requests are answered at `callAnswer` under this id.
   */
  callId: z.string().min(1).max(100).optional(),
  /** The client session (or stateless request) the call is for: see CallClient.origin. */
  origin: z.string().max(200).optional(),
  /** See UpstreamCall.headers. */
  headers: z.record(z.string(), z.string()).optional(),
});
export type InternalCallRequest = z.infer<typeof internalCallRequestSchema>;

export const internalCallAnswerSchema = z
  .object({
    callId: z.string().min(1),
    id: z.number().int(),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }).optional(),
  })
  .refine((a) => (a.result === undefined) !== (a.error === undefined), { message: "exactly one of result and error is required" });
export type InternalCallAnswer = z.infer<typeof internalCallAnswerSchema>;

/** One line of a streamed call answer, or the whole body of a plain one. */
export type InternalCallLine =
  | { progress: { progress: number; total?: number; message?: string } }
  /** The upstream asks the client something during the call; answered at `callAnswer`. */
  | { request: { id: number; method: string; params?: Record<string, unknown> } }
  | { notification: { method: string; params?: Record<string, unknown> } }
  | { result: Record<string, unknown> }
  | { error: { code: number; message: string; data?: unknown; reason?: string } };
