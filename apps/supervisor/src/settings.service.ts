import { createHash } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { canonicalJson, ConfigError, parseSettings, type Settings } from "@mcphub/config";
import type { Bus } from "@mcphub/bus";
import type { AuditRowEvent } from "@mcphub/db";
import { HubError } from "@mcphub/contracts";
import type { Logger } from "@mcphub/observability";
import type { SettingsRepository } from "./settings.repository.ts";

export type RawSettings = Record<string, unknown>;

export interface CurrentSettings {
  /** The revision id in the database; null until the database is attached. */
  revision: number | null;
  /** As written by the user, `${VAR}` unexpanded: what the API shows and the file holds. */
  raw: RawSettings;
  /** Expanded and validated: what runs. */
  parsed: Settings;
  hash: string;
}

export interface SettingsServiceOptions {
  path: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  bus: Bus;
  /** Makes the settings run (the supervisor's applySettings). */
  apply: (settings: Settings) => Promise<void>;
  /**
   * Opens the revision store on first need (all-in-one: the embedded database costs memory
   * and seconds, so a hub run from the file alone never opens it).
   */
  openRepository?: () => Promise<SettingsRepository>;
  debounceMs?: number;
}

/**
 * The one owner of the settings. Three inputs — the file on disk, the REST API, and the
 * revisions in the database — and one state: every accepted change becomes a revision,
 * is written back to the file (so the file always shows what runs), is applied, and is
 * announced with `settings.changed`. Invalid input is refused whole: nothing half-applied.
 */
export class SettingsService {
  private current: CurrentSettings | undefined;
  private repo: SettingsRepository | undefined;
  private opening: Promise<SettingsRepository> | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Serializes every change (file, API, database attach) so none is lost or reordered. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SettingsServiceOptions) {}

  get settings(): CurrentSettings {
    if (!this.current) throw new HubError("HUB_NOT_READY", "settings are not loaded yet", 503);
    return this.current;
  }

  /** Loads and applies the file (throws ConfigError if invalid and nothing else is known), then watches it. */
  async start(): Promise<void> {
    const text = await readFile(this.opts.path, "utf8");
    const next = this.validate(parseRaw(text, this.opts.path), this.opts.path);
    await this.accept(next, null);
    const file = basename(this.opts.path);
    this.watcher = watch(dirname(this.opts.path), (_event, name) => {
      if (name === file) this.scheduleReload();
    });
    this.watcher.on("error", (err) => this.opts.logger.error({ err: err.message }, "settings watcher failed"));
  }

  /**
   * Attaches the revision store (it may open slowly: PGlite's first start). The file wins
   * if it differs from the newest revision, since the user edited it while we were away.
   */
  attachRepository(repo: SettingsRepository): Promise<void> {
    return this.enqueue(() => this.attach(repo));
  }

  /** The newest revisions, without their content; opens the store if needed. */
  history(limit: number): ReturnType<SettingsRepository["history"]> {
    return this.enqueue(async () => (await this.repository()).history(limit));
  }

  /** Runs inside the queue. */
  private async attach(repo: SettingsRepository): Promise<void> {
    this.repo = repo;
    const latest = await repo.latest();
    const current = this.current;
    if (current && latest?.contentHash === current.hash) {
      this.current = { ...current, revision: latest.id };
      return;
    }
    if (current) {
      const rev = await repo.insert({ settings: current.raw, contentHash: current.hash, source: "file", author: this.opts.path });
      this.current = { ...current, revision: rev.id };
      this.opts.bus.publish("settings.changed", { revision: rev.id });
      return;
    }
    if (latest) {
      const next = this.validate(latest.settings, `revision ${latest.id}`);
      await this.accept(next, latest.id);
      await this.writeFile(next.raw);
    }
  }

  /** The attached store, or the lazily opened one; runs inside the queue. */
  private async repository(): Promise<SettingsRepository> {
    if (this.repo) return this.repo;
    const open = this.opts.openRepository;
    if (!open) throw new HubError("HUB_NOT_READY", "the settings database is still starting; retry in a few seconds", 503);
    this.opening ??= open();
    try {
      const repo = await this.opening;
      await this.attach(repo);
      return repo;
    } catch (err) {
      this.opening = undefined;
      this.opts.logger.error({ err }, "could not open the settings database");
      throw new HubError("HUB_DATABASE_UNAVAILABLE", `the settings database could not be opened: ${(err as Error).message}`, 503);
    }
  }

  /**
   * Changes the settings through the API: `mutate` gets a copy of the raw settings and
   * returns the new ones. Refused with HUB_INVALID_SETTINGS (every field and reason) if the
   * result is invalid; nothing is written then. `audit` is the change's audit event: stored
   * with the revision when the store holds the audit log (`audited` says whether it did).
   */
  update(mutate: (raw: RawSettings) => RawSettings, author: string, audit?: AuditRowEvent): Promise<CurrentSettings & { audited: boolean }> {
    return this.enqueue(async () => {
      const base = this.settings;
      const next = this.validate(mutate(structuredClone(base.raw)), "request");
      if (next.hash === base.hash) return { ...base, audited: false };
      const repo = await this.repository();
      // The revision is the change: once it (and, where the store holds the audit log, its audit row) is committed, the file and the running state follow it.
      const rev = await repo.insert({ settings: next.raw, contentHash: next.hash, source: "api", author }, audit);
      await this.writeFile(next.raw);
      await this.accept(next, rev.id);
      return { ...this.current!, audited: rev.audited };
    });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }

  private scheduleReload(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.enqueue(() => this.reloadFile()), this.opts.debounceMs ?? 50);
  }

  private async reloadFile(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.opts.path, "utf8");
    } catch (err) {
      this.opts.logger.warn({ path: this.opts.path, err: (err as Error).message }, "settings file unreadable; keeping current settings");
      return;
    }
    let next: Omit<CurrentSettings, "revision">;
    try {
      next = this.validate(parseRaw(text, this.opts.path), this.opts.path);
    } catch (err) {
      const issues = err instanceof HubError ? (err.details as string[]) : [(err as Error).message];
      this.opts.logger.error({ path: this.opts.path, issues }, "settings rejected; keeping the last good settings");
      return;
    }
    if (next.hash === this.current?.hash) return; // our own write-back, or a whitespace edit
    const rev = this.repo ? await this.repo.insert({ settings: next.raw, contentHash: next.hash, source: "file", author: this.opts.path }) : undefined;
    await this.accept(next, rev?.id ?? null);
    this.opts.logger.info({ path: this.opts.path, revision: rev?.id, servers: Object.keys(next.parsed.mcpServers).length }, "settings reloaded");
  }

  /** Expands and validates; throws HUB_INVALID_SETTINGS naming each JSON path and reason. */
  private validate(raw: RawSettings, source: string): Omit<CurrentSettings, "revision"> {
    try {
      const { settings, missingVars } = parseSettings(JSON.stringify(raw), this.opts.env, source);
      if (missingVars.length) this.opts.logger.warn({ vars: missingVars }, "settings reference undefined environment variables; they expand to empty strings");
      return { raw, parsed: settings, hash: contentHash(raw) };
    } catch (err) {
      if (err instanceof ConfigError) throw new HubError("HUB_INVALID_SETTINGS", err.message, 400, err.issues);
      throw err;
    }
  }

  private async accept(next: Omit<CurrentSettings, "revision">, revision: number | null): Promise<void> {
    this.current = { ...next, revision };
    await this.opts.apply(next.parsed);
    if (revision !== null) this.opts.bus.publish("settings.changed", { revision });
  }

  /** Atomic replace, so the watcher and editors never see half a file. */
  private async writeFile(raw: RawSettings): Promise<void> {
    const tmp = `${this.opts.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(raw, null, 2)}\n`);
    await rename(tmp, this.opts.path);
  }
}

/** sha256 of the canonical JSON: key order and whitespace do not make a new revision. */
export function contentHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/** Parses settings text; broken JSON is refused like any other invalid settings. */
function parseRaw(text: string, source: string): RawSettings {
  try {
    const raw = JSON.parse(text) as unknown;
    if (raw && typeof raw === "object" && !Array.isArray(raw)) return raw as RawSettings;
    throw new Error("the top level must be an object");
  } catch (e) {
    throw new HubError("HUB_INVALID_SETTINGS", `${source} is invalid`, 400, [`$: not valid settings JSON (${(e as Error).message})`]);
  }
}
