// Realtime: visitors of the last five minutes and the events arriving now, over the
// project's server-sent-events stream. Each new event also refreshes the dashboard.
import { useEffect, useRef } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { Card, Empty } from "../../components/ui";
import { useAsync } from "../../lib/useAsync";

type LiveEvent = Schemas["LiveEventOut"];

/** An event as the panel lists it: `seq` numbers arrivals, a stable key as new ones are prepended. */
export type ArrivedEvent = LiveEvent & { seq: number };

/** Subscribes to `/live` while mounted; calls `onEvent` for each event. */
export function useLiveEvents(
  orgId: string,
  projectId: string,
  enabled: boolean,
  onEvent: (event: LiveEvent) => void,
): void {
  // The latest callback, without reopening the stream when it changes (events in the gap
  // would be lost).
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (!enabled || typeof EventSource === "undefined") return;
    const source = new EventSource(`/api/v1/orgs/${orgId}/projects/${projectId}/live`);
    source.onmessage = (message) => {
      try {
        handler.current(JSON.parse(message.data) as LiveEvent);
      } catch {
        // A malformed message is skipped; the stream goes on.
      }
    };
    return () => source.close();
  }, [orgId, projectId, enabled]);
}

export function LivePanel({
  orgId,
  projectId,
  events,
  refresh,
}: {
  orgId: string;
  projectId: string;
  events: ArrivedEvent[];
  refresh: number;
}) {
  const now = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/realtime", {
          params: { path: { org_id: orgId, project_id: projectId } },
        }),
      ),
    [orgId, projectId, refresh],
  );
  // Visitors leave without sending anything: the count is asked again every 30 s.
  const reload = now.reload;
  useEffect(() => {
    const timer = setInterval(reload, 30_000);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <Card title="Right now" className="live">
      <p className="live-count" aria-live="polite">
        <span className="pulse" aria-hidden="true" />
        <strong>{now.data?.visitors ?? "–"}</strong> {now.data?.visitors === 1 ? "visitor" : "visitors"} in the last{" "}
        {now.data?.window_minutes ?? 5} minutes
      </p>
      {events.length === 0 ? (
        <Empty>Waiting for events… new ones appear here as they arrive.</Empty>
      ) : (
        <ol className="live-events">
          {events.map((event) => (
            <li key={event.seq}>
              <time dateTime={event.ts}>{new Date(event.ts).toLocaleTimeString()}</time>
              <strong>{event.name}</strong>
              <span>{event.page}</span>
              <span className="muted">{[event.source, event.country, event.device].filter(Boolean).join(" · ")}</span>
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}
