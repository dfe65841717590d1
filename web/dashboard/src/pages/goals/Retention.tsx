// Weekly retention: visitors by the week they were first seen, and the share back in each
// later week. Visitor ids live only as long as the project's salt, which the table says.
import { api, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Card, Empty, ErrorNote, Loading } from "../../components/ui";
import { formatNumber } from "../../lib/format";
import { useAsync } from "../../lib/useAsync";

export function Retention() {
  const { project } = useProject();
  const report = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/retention", {
          params: { path: { org_id: project.org_id, project_id: project.id }, query: { weeks: 8 } },
        }),
      ),
    [project.org_id, project.id],
  );
  const weeks = Math.max(0, ...(report.data?.cohorts ?? []).map((c) => c.retention.length));
  return (
    <Card title="Retention by week">
      <ErrorNote error={report.error} />
      {!report.data && !report.error && <Loading />}
      {report.data?.limited_by_rotation && (
        <p className="note">
          Visitors are recognised for {report.data.salt_rotation_hours} hours (the salt rotation in settings), so
          returning visitors after that count as new.
        </p>
      )}
      {report.data && report.data.cohorts.length === 0 && <Empty>No visitors in the last 8 weeks.</Empty>}
      {report.data && report.data.cohorts.length > 0 && (
        <div className="table-scroll">
          <table className="cohorts">
            <thead>
              <tr>
                <th scope="col">First seen</th>
                <th scope="col" className="num">
                  Visitors
                </th>
                {Array.from({ length: weeks }, (_, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: the index is the week number the column stands for
                  <th scope="col" key={i} className="num">
                    Week {i}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {report.data.cohorts.map((cohort) => (
                <tr key={cohort.week}>
                  <th scope="row">{cohort.week}</th>
                  <td className="num">{formatNumber(cohort.visitors)}</td>
                  {cohort.retention.map((share, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: the index is the week number the cell stands for
                    <td key={i} className="num cohort-cell" style={{ ["--share" as string]: String(share / 100) }}>
                      {Math.round(share)}%
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
