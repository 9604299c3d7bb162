#!/usr/bin/env bun
/**
 * API keys (`bun run keys …`). A key is shown once, at creation; only its SHA-256 is stored.
 *
 *   bun run keys create --name ci-bot     prints the key (shk_<id>_<secret>) and its id
 *   bun run keys create --name ops --admin   an admin key: the dashboard, /ws all-events topics, metrics
 *   bun run keys list                     id, scope, name, created, revoked
 *   bun run keys revoke <id>              every instance refuses it within about a second
 *
 * Reads the same env as the server; without node lists it uses the local cluster (--cluster NAME).
 */
import { parseConfig } from "../src/config";
import { composeKeyAdmin } from "../src/composition/key-admin";
import { survivingNodeFaults } from "../src/lifecycle/library-races";
import { envWithLocalCluster } from "./cluster/local-env";
import { parseCommand, runCli } from "./cluster/run-cli";

const USAGE = "usage: bun run keys create --name NAME [--admin] | list | revoke <id>  [--cluster NAME (dev)]";

async function main(): Promise<number> {
  const line = parseCommand(USAGE, { name: { type: "string" }, admin: { type: "boolean" }, cluster: { type: "string" } }, 1);
  if ("exitCode" in line) return line.exitCode;
  const { command, args, values } = line;
  const parsed = parseConfig(envWithLocalCluster(values.cluster ?? "dev"));
  if (!parsed.ok) throw new Error(parsed.message);
  const fatal = survivingNodeFaults((message, error) => console.error(`keys: ${message} (${error})`));
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  const admin = composeKeyAdmin(parsed.config, (l) => console.error(`keys: ${l}`));
  try {
    switch (command) {
      case "create": {
        const name = values.name?.trim();
        if (!name || name.length > 100 || args.length > 0) {
          console.error(`keys create needs --name (1-100 characters)\n${USAGE}`);
          return 2;
        }
        const scope = values.admin === true ? "admin" : "user";
        const key = await admin.create(name, scope);
        console.log(`created ${scope === "admin" ? "admin " : ""}key ${key.id} (${name}). It is shown only now; store it:\n\n${key.text}\n`);
        return 0;
      }
      case "list": {
        const keys = await admin.list();
        if (keys.length === 0) console.log("no keys");
        for (const k of keys) console.log(`${k.id}  ${k.scope.padEnd(5)}  ${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active"}  created ${k.createdAt.toISOString()}  ${k.name}`);
        return 0;
      }
      case "revoke": {
        const id = args[0];
        if (!id) {
          console.error(USAGE);
          return 2;
        }
        const { revoked, announced } = await admin.revoke(id);
        if (!revoked) {
          console.error(`no active key ${id}`);
          return 1;
        }
        console.log(`revoked ${id}${announced ? "" : " (the bus was unreachable: instances drop it at their next poll, within KEYS_POLL_MS)"}`);
        return 0;
      }
      default:
        console.error(USAGE);
        return 2;
    }
  } finally {
    await admin.close();
  }
}

if (import.meta.main) runCli("keys", main);
