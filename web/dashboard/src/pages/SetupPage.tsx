// `/orgs/:org/projects/:project/setup`: the snippet to paste, and a check that turns green
// when the first event arrives (instantly over the live stream; a poll of the Stats API
// covers servers behind a load balancer, where the event may land on another instance).
import { useEffect, useState } from "react";
import { useProject } from "../components/ProjectFrame";
import { Card, CopyButton } from "../components/ui";
import { Link } from "../lib/router";
import { runQuery } from "../lib/stats";
import { useLiveEvents } from "./dashboard/Live";

export function SetupPage() {
  const { project } = useProject();
  const [received, setReceived] = useState(false);
  const origin = window.location.origin;
  const snippet = [
    `<script>window.beacon=window.beacon||function(){(beacon.q=beacon.q||[]).push(arguments)}</script>`,
    `<script defer data-domain="${project.domains[0]}" src="${origin}/js/script.js"></script>`,
  ].join("\n");

  useLiveEvents(project.org_id, project.id, !received, () => setReceived(true));
  useEffect(() => {
    if (received) return;
    let stopped = false;
    const check = async () => {
      try {
        const result = await runQuery({ site_id: project.domains[0], metrics: ["events"], date_range: "all" });
        if (!stopped && (result.results[0]?.metrics[0] ?? 0) > 0) setReceived(true);
      } catch {
        // The next poll tries again.
      }
    };
    void check();
    const timer = setInterval(check, 5000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [received, project]);

  return (
    <>
      <Card title="Add the tracking code" actions={<CopyButton text={snippet} label="Copy snippet" />}>
        <p>
          Paste this into the <code>&lt;head&gt;</code> of every page of <strong>{project.domains.join(", ")}</strong>.
          It sets no cookies and weighs under 1 KB.
        </p>
        <figure aria-label="Tracking snippet">
          <pre className="snippet">
            <code>{snippet}</code>
          </pre>
        </figure>
        <p className="muted">
          Custom events:{" "}
          <code>
            beacon("Signup", {"{"} props: {"{"} plan: "pro" {"}"} {"}"})
          </code>
          . Optional modes (hash routing, outbound links, file downloads, tagged elements) are extra file names, such as{" "}
          <code>script.outbound-links.js</code>.
        </p>
      </Card>
      <Card title="Installation check">
        {received ? (
          <p className="check ok" role="status">
            <span aria-hidden="true">✓</span> Events are arriving.{" "}
            <Link to={`/orgs/${project.org_id}/projects/${project.id}`}>Open the dashboard</Link>
          </p>
        ) : (
          <p className="check waiting" role="status">
            <span className="spinner" aria-hidden="true" /> Waiting for the first event… visit your site in another tab.
          </p>
        )}
      </Card>
    </>
  );
}
