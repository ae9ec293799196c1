import { UserInputError } from "./errors";

/**
 * Global IDs are base64url-encoded JSON arrays `[typename, ...naturalKey]`. JSON keeps
 * keys that contain any separator (resource types contain `::`) unambiguous.
 */
export function encodeGlobalId(ref: readonly string[]): string {
  return Buffer.from(JSON.stringify(ref), "utf8").toString("base64url");
}

export function decodeGlobalId(id: string): [string, ...string[]] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(id, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length < 2 || !parsed.every((part) => typeof part === "string")) {
    throw new UserInputError(`Invalid node ID '${id}': not an ID issued by this API.`, "id");
  }
  return parsed as [string, ...string[]];
}
