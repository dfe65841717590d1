// What a role may do, mirroring the API's checks (docs/api-design.md, "Roles"), so the
// dashboard shows no control the server would refuse.
import type { Role } from "../api/client";
import type { components } from "../api/schema";

/** A role single sign-on and SCIM may give (owners are made by owners only). */
export type GrantedRole = components["schemas"]["GrantedRole"];
/** The roles a connection's default or a group mapping may give, highest first. */
export const GRANTED_ROLES: GrantedRole[] = ["admin", "member", "viewer"];

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

/** Members and above create and edit projects, goals and funnels. */
export const canWrite = (role: Role | string) => (RANK[role as Role] ?? 0) >= RANK.member;
/** Admins and above manage members, invitations, API keys and data settings. */
export const canAdmin = (role: Role | string) => (RANK[role as Role] ?? 0) >= RANK.admin;
/** Only owners grant or take away ownership. */
export const isOwner = (role: Role | string) => role === "owner";
