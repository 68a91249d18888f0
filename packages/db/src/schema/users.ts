import { check, pgTable, text, uuid, varchar } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";
import { lifecycleDates } from "./columns.ts";

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    username: varchar("username", { length: 255 }).notNull().unique(),
    /** A memory-hard hash (scrypt), never the password. */
    password: text("password").notNull(),
    role: text("role").notNull().default("user"),
    email: varchar("email", { length: 255 }).unique(),
    ...lifecycleDates,
  },
  (t) => [check("users_role", sql`${t.role} in ('admin', 'user')`)],
);
