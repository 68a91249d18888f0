import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

/**
 * The id of the request being served, carried through everything that request causes (log
 * lines, calls to other services, audit events) by AsyncLocalStorage. Set as the HTTP server
 * receives the request (`serverFactory` in serviceFastifyOptions), from the `X-Request-Id`
 * nginx or a peer service sent, or made here; Fastify names the request by it.
 */
const context = new AsyncLocalStorage<{ requestId: string }>();

/** What a client may choose as its id; anything else (too long, odd characters) is replaced. */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

export const REQUEST_ID_HEADER = "x-request-id";

/** The id of the request this code runs for, if any. */
export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}

/** The `X-Request-Id` header of a request to another service, or none outside a request. */
export function requestIdHeaders(): Record<string, string> | undefined {
  const id = context.getStore()?.requestId;
  return id === undefined ? undefined : { [REQUEST_ID_HEADER]: id };
}

/** The id a request goes by: the sender's when it is acceptable, else a new one (32 hex digits, like nginx's). */
export function requestIdFrom(header: string | string[] | undefined): string {
  const sent = Array.isArray(header) ? header[0] : header;
  return sent !== undefined && ACCEPTED.test(sent) ? sent : randomBytes(16).toString("hex");
}

/** Runs `fn` with `requestId` current (tests, and work a request hands off). */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return context.run({ requestId }, fn);
}

/** `headers` plus the current request's `X-Request-Id`, for a call to another service (the same object outside a request). */
export function withRequestIdHeader<H extends Record<string, string>>(headers: H): H {
  const id = context.getStore()?.requestId;
  return id === undefined ? headers : { ...headers, [REQUEST_ID_HEADER]: id };
}

/**
 * An audit event's details with the current request's id added as `requestId` (unless the
 * producer set one), so the audit entry names the request its log lines name.
 */
export function detailsWithRequestId(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const id = context.getStore()?.requestId;
  if (id === undefined || details?.requestId !== undefined) return details;
  return { ...details, requestId: id };
}
