// `/orgs/:org/members`: who belongs to the organization and with what role; admins change
// roles, remove members and invite people. Members the identity provider manages (SCIM) are
// marked, and changed there, not here.
import { useMemo, useState } from "react";
import { api, type Role, unwrap } from "../../api/client";
import { Layout } from "../../components/Layout";
import { Button, Card, Empty, ErrorNote, Field, Loading, Select, useAction } from "../../components/ui";
import { useOrg, useOrgs } from "../../lib/orgs";
import { canAdmin, isOwner } from "../../lib/roles";
import { useSession } from "../../lib/session";
import { useAsync } from "../../lib/useAsync";

const ROLES: Role[] = ["viewer", "member", "admin", "owner"];

function Invitations({ orgId, owner }: { orgId: string; owner: boolean }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const invitations = useAsync(
    async () =>
      (await unwrap(api.GET("/api/v1/orgs/{org_id}/invitations", { params: { path, query: { limit: 200 } } }))).items,
    [path],
  );
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const invite = useAction(async () => {
    await unwrap(api.POST("/api/v1/orgs/{org_id}/invitations", { params: { path }, body: { email, role } }));
    setEmail("");
    invitations.reload();
  });
  const revoke = useAction(async (id: string) => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/invitations/{invitation_id}", {
        params: { path: { ...path, invitation_id: id } },
      }),
    );
    invitations.reload();
  });
  return (
    <Card title="Invitations">
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void invite.run();
        }}
      >
        <Field label="Email to invite" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Select label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.filter((r) => owner || r !== "owner").map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </Select>
        <Button type="submit" busy={invite.busy}>
          Send invitation
        </Button>
      </form>
      <ErrorNote error={invite.error ?? revoke.error ?? invitations.error} />
      {invitations.data?.length === 0 && <Empty>No pending invitations.</Empty>}
      {invitations.data && invitations.data.length > 0 && (
        <ul className="list">
          {invitations.data.map((invitation) => (
            <li key={invitation.id}>
              <span>
                {invitation.email}{" "}
                <span className="muted">
                  as {invitation.role}, until {new Date(invitation.expires_at).toLocaleDateString()}
                </span>
              </span>
              <Button variant="ghost" onClick={() => void revoke.run(invitation.id)}>
                Revoke
              </Button>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

export function MembersPage({ orgId }: { orgId: string }) {
  const org = useOrg(orgId);
  const orgs = useOrgs();
  const { user } = useSession();
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const members = useAsync(
    async () =>
      (await unwrap(api.GET("/api/v1/orgs/{org_id}/members", { params: { path, query: { limit: 200 } } }))).items,
    [path],
  );
  const change = useAction(async (userId: string, role: Role) => {
    await unwrap(
      api.PATCH("/api/v1/orgs/{org_id}/members/{user_id}", {
        params: { path: { ...path, user_id: userId } },
        body: { role },
      }),
    );
    members.reload();
    // A change of one's own role changes which controls this user may see.
    if (userId === user?.id) orgs.reload();
  });
  const remove = useAction(async (userId: string) => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/members/{user_id}", { params: { path: { ...path, user_id: userId } } }),
    );
    members.reload();
  });
  const admin = org ? canAdmin(org.role) : false;
  const owner = org ? isOwner(org.role) : false;
  return (
    <Layout orgId={orgId}>
      <h1>Members</h1>
      <Card title={org ? `People in ${org.name}` : "People"}>
        <ErrorNote error={members.error ?? change.error ?? remove.error} />
        {!members.data && !members.error && <Loading />}
        {members.data && (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined</th>
                  {admin && (
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {members.data.map((member) => {
                  // The identity provider manages this member (SCIM): changes happen there.
                  const managed = member.managed_by_scim && member.role !== "owner";
                  const editable = admin && !managed && (owner || member.role !== "owner");
                  return (
                    <tr key={member.user_id}>
                      <td>
                        {member.email}
                        {member.user_id === user?.id && <span className="muted"> (you)</span>}
                        {managed && " "}
                        {managed && (
                          <span
                            className="badge"
                            title="Managed by your identity provider (SCIM): change this member's role or membership there"
                          >
                            managed by your identity provider
                          </span>
                        )}
                      </td>
                      <td>
                        {editable ? (
                          <Select
                            label={`Role of ${member.email}`}
                            value={member.role}
                            onChange={(e) => void change.run(member.user_id, e.target.value as Role)}
                          >
                            {ROLES.filter((r) => owner || r !== "owner").map((r) => (
                              <option key={r} value={r}>
                                {r}
                              </option>
                            ))}
                          </Select>
                        ) : (
                          member.role
                        )}
                      </td>
                      <td>{new Date(member.joined_at).toLocaleDateString()}</td>
                      {admin && (
                        <td>
                          {editable && member.user_id !== user?.id && (
                            <Button
                              variant="ghost"
                              aria-label={`Remove ${member.email}`}
                              onClick={() => void remove.run(member.user_id)}
                            >
                              Remove
                            </Button>
                          )}
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {admin && <Invitations orgId={orgId} owner={owner} />}
    </Layout>
  );
}
