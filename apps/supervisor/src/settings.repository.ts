import { desc } from "drizzle-orm";
import { settingsRevisions, type Database } from "@mcphub/db";

export interface SettingsRevision {
  id: number;
  /** The settings as written, ${VAR} references unexpanded. */
  settings: Record<string, unknown>;
  contentHash: string;
  source: "file" | "api";
  author: string | null;
  createdAt: Date;
}

/** The settings_revisions table: append-only, the newest row is the current settings. */
export class SettingsRepository {
  constructor(private readonly db: Database) {}

  async latest(): Promise<SettingsRevision | undefined> {
    const [row] = await this.db.select().from(settingsRevisions).orderBy(desc(settingsRevisions.id)).limit(1);
    return row as SettingsRevision | undefined;
  }

  async insert(rev: Omit<SettingsRevision, "id" | "createdAt">): Promise<SettingsRevision> {
    const [row] = await this.db.insert(settingsRevisions).values(rev).returning();
    return row as SettingsRevision;
  }

  async history(limit: number): Promise<Omit<SettingsRevision, "settings">[]> {
    return this.db
      .select({
        id: settingsRevisions.id,
        contentHash: settingsRevisions.contentHash,
        source: settingsRevisions.source,
        author: settingsRevisions.author,
        createdAt: settingsRevisions.createdAt,
      })
      .from(settingsRevisions)
      .orderBy(desc(settingsRevisions.id))
      .limit(limit) as Promise<Omit<SettingsRevision, "settings">[]>;
  }
}
