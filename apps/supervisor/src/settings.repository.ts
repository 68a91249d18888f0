import { desc } from "drizzle-orm";
import { insertAuditEvents, settingsRevisions, type AuditRowEvent, type Database } from "@mcphub/db";

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
  constructor(
    private readonly db: Database,
    /**
     * Whether audit_logs is in this database (all-in-one, and split services sharing one
     * Postgres): then a change's audit row is inserted in the revision's transaction, so neither
     * exists without the other. Otherwise the event goes to the audit sink (the stream).
     */
    private readonly recordsAudit = false,
  ) {}

  async latest(): Promise<SettingsRevision | undefined> {
    const [row] = await this.db.select().from(settingsRevisions).orderBy(desc(settingsRevisions.id)).limit(1);
    return row as SettingsRevision | undefined;
  }

  /** Appends a revision; with `audit` (and an audit table here) its audit row in the same transaction. */
  async insert(rev: Omit<SettingsRevision, "id" | "createdAt">, audit?: AuditRowEvent): Promise<SettingsRevision & { audited: boolean }> {
    if (!audit || !this.recordsAudit) {
      const [row] = await this.db.insert(settingsRevisions).values(rev).returning();
      return { ...(row as SettingsRevision), audited: false };
    }
    return this.db.transaction(async (tx) => {
      const [row] = await tx.insert(settingsRevisions).values(rev).returning();
      await insertAuditEvents(tx, [audit]);
      return { ...(row as SettingsRevision), audited: true };
    });
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
