// The toolbar's PDF of the dashboard. A short period downloads at once; a long one (more than a
// month: its many queries take a while) is made by a worker job: the button shows how many of
// its queries are done, then becomes the download link. The parent keys it by period and paper,
// so another view starts afresh.
import { useEffect, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { Button, ErrorNote } from "../../components/ui";
import { isCustomPeriod } from "./viewState";

type Job = Schemas["PdfJobOut"];

/** Whether `period` is long enough to make its PDF in the background. */
export function isLongPeriod(period: string): boolean {
  if (["6mo", "12mo", "all"].includes(period)) return true;
  if (!isCustomPeriod(period)) return false;
  const [from, to] = period.split(",").map((day) => Date.parse(day));
  return (to - from) / 86_400_000 + 1 > 31;
}

export function PdfDownload({
  orgId,
  projectId,
  period,
  paper,
}: {
  orgId: string;
  projectId: string;
  period: string;
  paper: "a4" | "letter";
}) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const path = { org_id: orgId, project_id: projectId };
  // Follow the job until it is made or failed.
  useEffect(() => {
    if (!job || job.status === "ready" || job.status === "failed") return;
    const timer = setTimeout(async () => {
      try {
        setJob(
          await unwrap(
            api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/exports/dashboard/jobs/{export_id}", {
              params: { path: { org_id: orgId, project_id: projectId, export_id: job.export_id } },
            }),
          ),
        );
      } catch (caught) {
        setError(caught);
      }
    }, 700);
    return () => clearTimeout(timer);
  }, [job, orgId, projectId]);

  if (!isLongPeriod(period)) {
    return (
      <a
        className="button button-secondary"
        href={`/api/v1/orgs/${orgId}/projects/${projectId}/exports/dashboard?period=${encodeURIComponent(period)}&paper=${paper}`}
        download
      >
        Download PDF
      </a>
    );
  }
  if (job?.status === "ready" && job.download_url) {
    return (
      <a className="button button-secondary" href={job.download_url} download>
        Download PDF
      </a>
    );
  }
  const ask = async () => {
    setError(null);
    try {
      setJob(
        await unwrap(
          api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/exports/dashboard/jobs", {
            params: { path, query: { period, paper } },
          }),
        ),
      );
    } catch (caught) {
      setError(caught);
    }
  };
  const working = job !== null && job.status !== "failed";
  return (
    <span className="pdf-job">
      <Button variant="secondary" busy={working} onClick={() => void ask()}>
        {job?.status === "failed" ? "Prepare PDF again" : "Prepare PDF"}
      </Button>
      {working && (
        <label className="muted small">
          {job.steps_total > 0 ? `Preparing: ${job.steps_done} of ${job.steps_total} queries` : "Queued"}{" "}
          <progress max={job.steps_total || 1} value={job.steps_done} />
        </label>
      )}
      {job?.status === "failed" && <span className="error">{job.error}</span>}
      <ErrorNote error={error} />
    </span>
  );
}
