// `/orgs/:org/shared-links`: the organization's shared links (owners and admins see all of
// them, members their own), each paused, resumed or revoked at once.
import { api, type Schemas, unwrap } from "../../api/client";
import { Layout } from "../../components/Layout";
import { Button, Card, Empty, ErrorNote, Loading, useAction } from "../../components/ui";
import { useAsync } from "../../lib/useAsync";

type Link = Schemas["SharedLinkOut"];

export function SharedLinksPage({ orgId }: { orgId: string }) {
  const links = useAsync(
    () => unwrap(api.GET("/api/v1/orgs/{org_id}/shared-links", { params: { path: { org_id: orgId } } })),
    [orgId],
  );
  const pause = useAction(async (link: Link) => {
    await unwrap(
      api.PATCH("/api/v1/orgs/{org_id}/shared-links/{link_id}", {
        params: { path: { org_id: orgId, link_id: link.id } },
        body: { paused: !link.paused },
      }),
    );
    links.reload();
  });
  const revoke = useAction(async (link: Link) => {
    if (!window.confirm(`Revoke the link "${link.name}"? Anyone using it loses access at once.`)) return;
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/shared-links/{link_id}", {
        params: { path: { org_id: orgId, link_id: link.id } },
      }),
    );
    links.reload();
  });
  return (
    <Layout orgId={orgId}>
      <h1>Shared links</h1>
      <ErrorNote error={links.error ?? pause.error ?? revoke.error} />
      {!links.data && !links.error && <Loading />}
      {links.data && (
        <Card>
          {links.data.length === 0 && <Empty>No shared links. Use “Share” on a dashboard to make one.</Empty>}
          {links.data.length > 0 && (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Shows</th>
                  <th scope="col">Protection</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {links.data.map((link) => (
                  <tr key={link.id}>
                    <td>{link.name}</td>
                    <td>
                      {link.dashboard_id ? "A custom dashboard" : "The main dashboard"}
                      {link.segment_id ? ", limited to a segment" : ""}
                    </td>
                    <td>
                      {link.has_password ? "Password" : "None"}
                      {link.embed_origins.length > 0 ? `; embeddable by ${link.embed_origins.join(", ")}` : ""}
                    </td>
                    <td>
                      {link.paused
                        ? "Paused"
                        : link.expires_at && new Date(link.expires_at) < new Date()
                          ? "Expired"
                          : link.expires_at
                            ? `Until ${new Date(link.expires_at).toLocaleDateString()}`
                            : "Active"}
                    </td>
                    <td className="row-actions">
                      <Button variant="secondary" onClick={() => pause.run(link)}>
                        {link.paused ? `Resume ${link.name}` : `Pause ${link.name}`}
                      </Button>
                      <Button variant="danger" onClick={() => revoke.run(link)}>
                        {`Revoke ${link.name}`}
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      )}
    </Layout>
  );
}
