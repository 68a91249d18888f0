export { default as authApp, authServerOptions, type AuthDeps } from "./app.ts";
export { authEnvSchema, authPolicy, authPolicyEnv, DEFAULT_AUTH_POLICY, resolveJwtSecret, type AuthEnv, type AuthPolicy } from "./config.ts";
export { createAuthRuntime, type AuthRuntime, type AuthRuntimeOptions } from "./runtime.ts";
export { AuthenticationService } from "./authn.service.ts";
export { DirectAuditSink } from "./audit.producer.ts";
export { AuditProducer, AUDIT_STREAM } from "@mcphub/bus";
export { AuditConsumer } from "./audit.consumer.ts";
export { auditEventSchema, type AuditEvent, type AuditEventInput, type AuditSink } from "@mcphub/contracts";
export * from "@mcphub/contracts";
