import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { ConfigError, parseSettings, type Settings } from "@mcphub/config";
import type { Logger } from "@mcphub/observability";

export interface SettingsWatcherOptions {
  path: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Called with each valid new content; not called for an unchanged or invalid file. */
  apply: (settings: Settings) => Promise<void>;
  debounceMs?: number;
}

/**
 * Watches the settings file and applies every valid change. The directory is watched, not
 * the file, because editors save by writing a new file and renaming it over the old one.
 * An invalid file is logged with each JSON path and reason; the last good settings keep running.
 */
export class SettingsWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastText: string | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SettingsWatcherOptions) {}

  /** Loads the file once (throwing if it is invalid), then watches it. */
  async start(): Promise<void> {
    const text = await readFile(this.opts.path, "utf8");
    const { settings, missingVars } = parseSettings(text, this.opts.env, this.opts.path);
    this.warnMissing(missingVars);
    this.lastText = text;
    await this.opts.apply(settings);
    const file = basename(this.opts.path);
    this.watcher = watch(dirname(this.opts.path), (_event, name) => {
      if (name === file) this.schedule();
    });
    this.watcher.on("error", (err) => this.opts.logger.error({ err: err.message }, "settings watcher failed"));
  }

  stop(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // Serialize reloads so two quick saves apply in order.
      this.running = this.running.then(() => this.reload());
    }, this.opts.debounceMs ?? 50);
  }

  private async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.opts.path, "utf8");
    } catch (err) {
      // Mid-rename or deleted: keep running on the last good settings.
      this.opts.logger.warn({ path: this.opts.path, err: (err as Error).message }, "settings file unreadable; keeping current settings");
      return;
    }
    if (text === this.lastText) return;
    try {
      const { settings, missingVars } = parseSettings(text, this.opts.env, this.opts.path);
      this.warnMissing(missingVars);
      this.lastText = text;
      await this.opts.apply(settings);
      this.opts.logger.info({ path: this.opts.path, servers: Object.keys(settings.mcpServers).length }, "settings reloaded");
    } catch (err) {
      if (err instanceof ConfigError) {
        this.opts.logger.error({ path: this.opts.path, issues: err.issues }, "settings rejected; keeping the last good settings");
      } else {
        this.opts.logger.error({ err: (err as Error).message }, "applying settings failed");
      }
    }
  }

  private warnMissing(vars: string[]): void {
    if (vars.length) this.opts.logger.warn({ vars }, "settings reference undefined environment variables; they expand to empty strings");
  }
}
