/**
 * package.json promises a Node version ("engines"): every package `npm ci` installs from
 * package-lock.json must run on the oldest Node that promise admits, or `npm ci` warns
 * EBADENGINE there (and the package may well fail). A dependency update that brings in a
 * package for a newer Node fails here; package.json "overrides" pins such packages back.
 */
import { readFileSync } from "node:fs";
import semver from "semver";
import { describe, expect, it } from "vitest";

interface LockedPackage {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  engines?: { node?: string } | string[];
}

const manifest = JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, LockedPackage> };

describe("the engines promise", () => {
  it("is a range with a floor", () => {
    expect(semver.validRange(manifest.engines.node)).not.toBeNull();
    expect(semver.minVersion(manifest.engines.node)).not.toBeNull();
  });

  it("holds for every package in package-lock.json, dev dependencies included", () => {
    // The oldest Node the promise admits (20.19.0 for ">=20.19").
    const floor = semver.minVersion(manifest.engines.node)!.version;
    const unfit: string[] = [];
    for (const [path, info] of Object.entries(lock.packages)) {
      // "" is this package; a very old lock format lists engines as an array (no ranges).
      if (path === "" || !info.engines || Array.isArray(info.engines) || info.engines.node === undefined) continue;
      // Development tools count too: `npm install` and `npm ci` install them for `npm start`.
      if (!semver.satisfies(floor, info.engines.node, { includePrerelease: true })) {
        unfit.push(`${path}@${info.version}${info.dev ? " (dev)" : ""} wants node ${info.engines.node}`);
      }
    }
    expect(unfit, `not for node ${floor}`).toEqual([]);
  });
});
