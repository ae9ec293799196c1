/**
 * A small, deterministic builder of realistic ActionTrail events for tests.
 *
 *   buildEvent({ eventTime: "2021-08-02T06:30:17Z", eventName: "RenewInstance" })
 *
 * Every call returns a new event with a unique eventId and requestId (from a counter, so
 * runs are reproducible) and the fields ActionTrail delivers for an API call of a RAM user;
 * `overrides` replace top-level fields (a field set to `undefined` is left out). Identity
 * helpers build the `userIdentity` of each requester type.
 */

export type ActionTrailEvent = Record<string, unknown> & {
  eventId: string;
  eventTime: string;
};

export type EventOverrides = Record<string, unknown> & {
  eventId?: string;
  /** ISO string, or a Date (written as ActionTrail does: ISO 8601 UTC). */
  eventTime?: string | Date;
};

/** The default owner of built events. */
export const DEFAULT_ACCOUNT = "151266687691****";

/** Where default event times start; each event is one minute after the previous one. */
export const BASE_TIME = Date.parse("2021-08-02T06:00:00Z");

let counter = 0;

export function buildEvent(overrides: EventOverrides = {}): ActionTrailEvent {
  counter += 1;
  const n = counter;
  const hex = n.toString(16).padStart(12, "0");
  const event: Record<string, unknown> = {
    eventId: `7e57e0e0-0000-4000-8000-${hex}`,
    eventVersion: "1",
    eventType: "ApiCall",
    eventCategory: "Management",
    eventName: "DescribeInstances",
    eventRW: "Read",
    eventSource: "ecs.aliyuncs.com",
    eventTime: new Date(BASE_TIME + n * 60_000).toISOString(),
    serviceName: "Ecs",
    acsRegion: "cn-hangzhou",
    apiVersion: "2014-05-26",
    requestId: `7E57A0A0-0000-4000-8000-${hex.toUpperCase()}`,
    userIdentity: ramUser("alice"),
    sourceIpAddress: "192.168.XX.XX",
    userAgent: "AlibabaCloud (linux; x64) Python/3.9.7 Core/2.13.36",
    requestParameters: { RegionId: "cn-hangzhou", PageSize: 10 },
    responseElements: null,
    recipientAccountId: DEFAULT_ACCOUNT,
    isGlobal: false,
    errorCode: "",
    errorMessage: "",
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete event[key];
    else event[key] = value instanceof Date ? value.toISOString() : value;
  }
  return event as ActionTrailEvent;
}

/** A RAM user of `accountId`; principalId and accessKeyId derive from the name. */
export function ramUser(
  userName: string,
  accountId: string = DEFAULT_ACCOUNT,
  accessKeyId = `LTAI5t${userName.toUpperCase().padEnd(6, "X")}****`,
): Record<string, unknown> {
  return {
    type: "ram-user",
    principalId: `2${digits(userName)}`,
    accountId,
    userName,
    accessKeyId,
  };
}

/** The account itself (root), signed in on the console: no AccessKey. */
export function rootAccount(accountId: string = DEFAULT_ACCOUNT): Record<string, unknown> {
  return { type: "root-account", principalId: accountId, accountId, userName: "root" };
}

/** A session of an assumed RAM role, with its STS token. */
export function assumedRole(
  roleName: string,
  sessionName: string,
  accountId: string = DEFAULT_ACCOUNT,
): Record<string, unknown> {
  return {
    type: "assumed-role",
    principalId: `3${digits(roleName)}:${sessionName}`,
    accountId,
    userName: `${roleName}:${sessionName}`,
    accessKeyId: `STS.NT${roleName.toUpperCase().padEnd(6, "X")}****`,
    sessionContext: {
      attributes: { creationDate: "2021-08-02T05:00:00Z", mfaAuthenticated: "false" },
    },
  };
}

/** The platform itself (auto-renewals, ...): names no account; the recipient owns the event. */
export function systemIdentity(): Record<string, unknown> {
  return { type: "system" };
}

/** A stable 15-digit number for a name. */
function digits(name: string): string {
  let hash = 7;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) % 1e14;
  return String(hash).padStart(14, "0");
}
