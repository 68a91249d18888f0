import { runMain } from "@mcphub/observability";
import { runAuth } from "./main.ts";

// The process entry; main.ts reads the environment and starts the service (the hub's
// HUB_TARGETS=<service> runs the same function).
runMain(runAuth);
