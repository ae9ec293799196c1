import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { UsageError } from "../usage-error";
import { newApiKey, readApiKeys, writeApiKeys, type ApiKeyEntry } from "./api-keys";

export const APIKEY_USAGE = `apikey create --name NAME (--accounts ID,ID,... | --all-accounts) [--write]
    make an API key (printed once: only its hash is kept); --write lets it POST /ingest
    events of its accounts
apikey list [--json]
    the keys (id, name, accounts, write grant, created; never a key)
apikey revoke ID
    remove a key; a running server refuses it within a second
    (all three work on the file TRAILGRAPH_API_KEYS_FILE names)`;

/** `trailgraph apikey create|list|revoke`: the API keys of TRAILGRAPH_API_KEYS_FILE. */
export async function apikeyCommand(args: string[], log: (message: string) => void): Promise<number> {
  const [action, ...rest] = args;
  const file = process.env.TRAILGRAPH_API_KEYS_FILE?.trim();
  if (!file) throw new UsageError("apikey needs TRAILGRAPH_API_KEYS_FILE: the file the server reads its API keys from");
  switch (action) {
    case "create":
      return create(file, rest, log);
    case "list":
      return list(file, rest);
    case "revoke":
      return revoke(file, rest, log);
    default:
      throw new UsageError(action ? `unknown apikey command '${action}'` : "apikey needs create, list or revoke");
  }
}

function create(file: string, args: string[], log: (message: string) => void): number {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: "string" },
      accounts: { type: "string" },
      "all-accounts": { type: "boolean" },
      write: { type: "boolean" },
    },
  });
  const name = values.name?.trim();
  if (!name) throw new UsageError("apikey create needs --name NAME (who or what uses the key)");
  if ((values.accounts === undefined) === !values["all-accounts"])
    throw new UsageError("apikey create needs one of --accounts ID,ID,... or --all-accounts");
  let accounts: string[] | "*" = "*";
  if (values.accounts !== undefined) {
    accounts = [...new Set(values.accounts.split(",").map((id) => id.trim()))].filter((id) => id !== "");
    if (accounts.length === 0) throw new UsageError("--accounts names no account ID");
    const bad = accounts.find((id) => /\s/.test(id) || id.length > 64);
    if (bad !== undefined) throw new UsageError(`--accounts: '${bad}' is not an account ID`);
  }
  const keys = existsSync(file) ? readApiKeys(file) : [];
  const { key, entry } = newApiKey({ name, accounts, write: values.write === true });
  writeApiKeys(file, [...keys, entry]);
  process.stdout.write(`${key}\n`);
  log(
    `created API key ${entry.id} '${name}' for ${describeAccounts(entry)}${entry.write ? ", with a write grant" : ""}; ` +
      "it is printed only this once: keep it now",
  );
  return 0;
}

function list(file: string, args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" } } });
  const keys = readApiKeys(file).map(({ id, name, accounts, write, created }) => ({
    id,
    name,
    accounts,
    write,
    created,
  }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
    return 0;
  }
  const rows = [
    ["ID", "NAME", "ACCOUNTS", "WRITE", "CREATED"],
    ...keys.map((key) => [key.id, key.name, describeAccounts(key), key.write ? "yes" : "no", key.created]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) {
    process.stdout.write(
      `${row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join("  ")
        .trimEnd()}\n`,
    );
  }
  return 0;
}

function revoke(file: string, args: string[], log: (message: string) => void): number {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError("apikey revoke needs one key ID (see `trailgraph apikey list`)");
  const [id] = positionals;
  const keys = readApiKeys(file);
  const entry = keys.find((key) => key.id === id);
  if (!entry) {
    log(`no API key '${id}' in ${file} (see \`trailgraph apikey list\`)`);
    return 1;
  }
  writeApiKeys(
    file,
    keys.filter((key) => key !== entry),
  );
  log(`revoked API key ${entry.id} '${entry.name}': a running server refuses it within a second`);
  return 0;
}

function describeAccounts(entry: Pick<ApiKeyEntry, "accounts">): string {
  return entry.accounts === "*" ? "all accounts" : entry.accounts.join(",");
}
