/**
 * Builds src/catalog/expenses-and-costs.json from the ActionTrail documentation page
 * "Audit events for Expenses and Costs" saved as plain text.
 *
 * Usage: npx tsx scripts/build-catalog.ts <path-to-seed-txt>
 *
 * The page lists, after the two header lines "Event name" and "Event definition", one
 * operation name followed by its one-line definition, blank lines in between. Every
 * non-blank line after the headers belongs to the table, so the section must hold an
 * even number of lines. Access is derived by rule: names starting with Query, Describe,
 * Get or Inquiry (price inquiries such as InquiryPriceRefundInstance) are READ,
 * everything else is WRITE. Names are kept exactly as the page spells them, typos
 * included (QueryAvaliableQuota).
 *
 * Fails with a non-zero exit code on: a missing table header, an odd number of lines
 * in the table section, a name not matching NAME_PATTERN, a duplicate name, or a
 * definition that looks like a name (a sign that the name/definition pairs are shifted).
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

export type Access = "READ" | "WRITE";

export interface CatalogEntry {
  eventName: string;
  description: string;
  access: Access;
}

const NAME_PATTERN = /^[A-Z][A-Za-z0-9]+$/;
const READ_PREFIXES = ["Query", "Describe", "Get", "Inquiry"] as const;
const HEADER_NAME = "Event name";
const HEADER_DEFINITION = "Event definition";

const OUTPUT_PATH = resolve(__dirname, "..", "src", "catalog", "expenses-and-costs.json");

class CatalogError extends Error {}

export function accessFor(eventName: string): Access {
  return READ_PREFIXES.some((prefix) => eventName.startsWith(prefix)) ? "READ" : "WRITE";
}

export function parseSeed(text: string): CatalogEntry[] {
  const lines = text.split(/\r?\n/).map((line) => line.trim());

  const nameHeader = lines.indexOf(HEADER_NAME);
  if (nameHeader < 0) {
    throw new CatalogError(`header line "${HEADER_NAME}" not found`);
  }
  const definitionHeader = lines.indexOf(HEADER_DEFINITION, nameHeader + 1);
  if (definitionHeader < 0) {
    throw new CatalogError(`header line "${HEADER_DEFINITION}" not found after "${HEADER_NAME}"`);
  }
  if (lines.slice(nameHeader + 1, definitionHeader).some((line) => line !== "")) {
    throw new CatalogError(`unexpected text between "${HEADER_NAME}" and "${HEADER_DEFINITION}" headers`);
  }

  // Non-blank lines of the table section, with their 1-based line numbers.
  const table: { lineNo: number; text: string }[] = [];
  for (let i = definitionHeader + 1; i < lines.length; i++) {
    if (lines[i] !== "") table.push({ lineNo: i + 1, text: lines[i] });
  }

  if (table.length === 0) {
    throw new CatalogError("the table section is empty");
  }
  if (table.length % 2 !== 0) {
    throw new CatalogError(
      `odd number of lines (${table.length}) in the table section: ` +
        `a name or a definition is missing (last line ${table[table.length - 1].lineNo}: ` +
        `"${table[table.length - 1].text}")`,
    );
  }

  const entries: CatalogEntry[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < table.length; i += 2) {
    const name = table[i];
    const definition = table[i + 1];
    if (!NAME_PATTERN.test(name.text)) {
      throw new CatalogError(
        `line ${name.lineNo}: "${name.text}" is not a valid event name (expected ${NAME_PATTERN})`,
      );
    }
    const firstSeen = seen.get(name.text);
    if (firstSeen !== undefined) {
      throw new CatalogError(
        `line ${name.lineNo}: duplicate event name "${name.text}" (first seen on line ${firstSeen})`,
      );
    }
    if (NAME_PATTERN.test(definition.text)) {
      throw new CatalogError(
        `line ${definition.lineNo}: definition of "${name.text}" looks like an event name ` +
          `("${definition.text}"): name/definition pairs are out of step`,
      );
    }
    seen.set(name.text, name.lineNo);
    entries.push({
      eventName: name.text,
      description: definition.text,
      access: accessFor(name.text),
    });
  }
  return entries;
}

function main(argv: string[]): number {
  const seedPath = argv[0];
  if (!seedPath || argv.length !== 1) {
    console.error("usage: npx tsx scripts/build-catalog.ts <path-to-seed-txt>");
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(seedPath, "utf8");
  } catch (err) {
    console.error(`build-catalog: cannot read ${seedPath}: ${(err as Error).message}`);
    return 1;
  }
  let entries: CatalogEntry[];
  try {
    entries = parseSeed(text);
  } catch (err) {
    if (err instanceof CatalogError) {
      console.error(`build-catalog: ${seedPath}: ${err.message}`);
      return 1;
    }
    throw err;
  }
  mkdirSync(dirname(OUTPUT_PATH), { recursive: true });
  writeFileSync(OUTPUT_PATH, JSON.stringify(entries, null, 2) + "\n", "utf8");
  const reads = entries.filter((entry) => entry.access === "READ").length;
  console.log(
    `build-catalog: wrote ${entries.length} entries (${reads} READ, ` +
      `${entries.length - reads} WRITE) to src/catalog/expenses-and-costs.json`,
  );
  return 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
