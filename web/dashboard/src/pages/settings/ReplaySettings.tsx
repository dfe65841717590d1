// The project's Session replay card: whether visitors' sessions are recorded, the share
// recorded, what stays masked or is not recorded at all, and how long recordings are kept; and
// whether heatmaps (every visitor's clicks and scroll depth, no recording) are collected.
// Admins change it; members see it. Sites pick a change up within a minute.
import { useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { Button, Card, ErrorNote, Field, Loading, useAction } from "../../components/ui";
import { percentFromRate, rateFromPercent } from "../../lib/replays";
import { useAsync } from "../../lib/useAsync";

type Settings = Schemas["ReplaySettingsOut"];

export function ReplaySettings({ orgId, projectId, admin }: { orgId: string; projectId: string; admin: boolean }) {
  const settings = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/replay-settings", {
          params: { path: { org_id: orgId, project_id: projectId } },
        }),
      ),
    [orgId, projectId],
  );
  return (
    <Card title="Session replay">
      <p className="muted">
        Records what a sampled share of visitors see and do, for the sites that load <code>/js/replay.js</code>. Input
        values are always masked in the visitor's browser; elements with the class <code>beacon-block</code> are never
        recorded. Heatmaps, when collected, count where every visitor of those sites clicks and how far they scroll,
        without recording anyone.
      </p>
      <ErrorNote error={settings.error} />
      {!settings.data && !settings.error && <Loading />}
      {settings.data && (
        <ReplaySettingsForm orgId={orgId} projectId={projectId} admin={admin} initial={settings.data} />
      )}
    </Card>
  );
}

function ReplaySettingsForm({
  orgId,
  projectId,
  admin,
  initial,
}: {
  orgId: string;
  projectId: string;
  admin: boolean;
  initial: Settings;
}) {
  const [enabled, setEnabled] = useState(initial.enabled);
  const [heatmaps, setHeatmaps] = useState(initial.heatmaps_enabled);
  const [percent, setPercent] = useState(percentFromRate(initial.sample_rate));
  const [maskAll, setMaskAll] = useState(initial.mask_all_text);
  const [unmask, setUnmask] = useState(initial.unmask_selector ?? "");
  const [block, setBlock] = useState(initial.block_selector ?? "");
  const [retention, setRetention] = useState(String(initial.retention_days));
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    setSaved(false);
    const sampleRate = rateFromPercent(percent);
    if (sampleRate === null) throw new Error("Enter the share of visitors to record as a percent from 0 to 100.");
    const stored = await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/projects/{project_id}/replay-settings", {
        params: { path: { org_id: orgId, project_id: projectId } },
        body: {
          enabled,
          sample_rate: sampleRate,
          mask_all_text: maskAll,
          // An empty selector clears it.
          unmask_selector: unmask.trim(),
          block_selector: block.trim(),
          retention_days: Number(retention),
          heatmaps_enabled: heatmaps,
        },
      }),
    );
    // What the server kept (selectors trimmed, say).
    setEnabled(stored.enabled);
    setHeatmaps(stored.heatmaps_enabled);
    setPercent(percentFromRate(stored.sample_rate));
    setMaskAll(stored.mask_all_text);
    setUnmask(stored.unmask_selector ?? "");
    setBlock(stored.block_selector ?? "");
    setRetention(String(stored.retention_days));
    setSaved(true);
  });
  return (
    <form
      className="stack-form"
      aria-label="Session replay settings"
      onSubmit={(event) => {
        event.preventDefault();
        void save.run();
      }}
    >
      <fieldset className="plain" disabled={!admin}>
        <p>
          <label className="check-label">
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Record visitors'
            sessions
          </label>
        </p>
        <p>
          <label className="check-label">
            <input type="checkbox" checked={heatmaps} onChange={(e) => setHeatmaps(e.target.checked)} /> Collect
            heatmaps (clicks and scroll depth of every visitor, no recording)
          </label>
        </p>
        <Field
          label="Share of visitors recorded (%)"
          type="number"
          min={0}
          max={100}
          step="any"
          required
          value={percent}
          onChange={(e) => setPercent(e.target.value)}
        />
        <p>
          <label className="check-label">
            <input type="checkbox" checked={maskAll} onChange={(e) => setMaskAll(e.target.checked)} /> Mask all text
            (each character becomes *, except inside the unmask selector)
          </label>
        </p>
        <Field
          label="Unmask selector"
          placeholder="h1, nav, .price"
          hint="CSS selector of elements whose text is recorded as it is. Leave empty for none."
          maxLength={500}
          value={unmask}
          onChange={(e) => setUnmask(e.target.value)}
        />
        <Field
          label="Block selector"
          placeholder=".account-details"
          hint="CSS selector of elements not recorded at all (an empty box of their size), besides .beacon-block."
          maxLength={500}
          value={block}
          onChange={(e) => setBlock(e.target.value)}
        />
        <Field
          label="Keep recordings for (days)"
          type="number"
          min={1}
          max={365}
          required
          value={retention}
          onChange={(e) => setRetention(e.target.value)}
        />
      </fieldset>
      <ErrorNote error={save.error} />
      {saved && <p role="status">Saved. Sites pick the change up within a minute.</p>}
      {admin ? (
        <Button type="submit" busy={save.busy}>
          Save replay settings
        </Button>
      ) : (
        <p className="muted">Only admins change the replay settings.</p>
      )}
    </form>
  );
}
