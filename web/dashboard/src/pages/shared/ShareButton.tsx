// "Share": makes a shared link to the dashboard on screen (the main one, or a custom one), with
// an optional password, segment, expiry and embedding origins, then shows its address once.
import { type FormEvent, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { useSegments } from "../../components/SegmentPicker";
import { Button, CopyButton, ErrorNote, Field, Select, useAction } from "../../components/ui";

export function ShareButton({
  orgId,
  projectId,
  dashboardId,
}: {
  orgId: string;
  projectId: string;
  dashboardId?: string;
}) {
  const [open, setOpen] = useState(false);
  const [made, setMade] = useState<Schemas["SharedLinkCreated"] | null>(null);
  const [name, setName] = useState("Shared dashboard");
  const [password, setPassword] = useState("");
  const [segment, setSegment] = useState("");
  const [expires, setExpires] = useState("");
  const [origins, setOrigins] = useState("");
  const segments = useSegments(orgId, projectId);
  const create = useAction(async () => {
    const link = await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/shared-links", {
        params: { path: { org_id: orgId, project_id: projectId } },
        body: {
          name,
          dashboard_id: dashboardId ?? null,
          password: password || null,
          segment_id: segment || null,
          expires_at: expires ? new Date(`${expires}T23:59:59`).toISOString() : null,
          embed_origins: origins
            .split(/[\s,]+/)
            .map((o) => o.trim())
            .filter(Boolean),
        },
      }),
    );
    setMade(link);
  });
  if (!open)
    return (
      <Button variant="secondary" onClick={() => setOpen(true)}>
        Share
      </Button>
    );
  if (made) {
    const url = made.url ?? `${window.location.origin}${made.path}`;
    return (
      <div className="card share-made" role="status">
        <p>
          Anyone with this link can read this dashboard{made.link.has_password ? " after giving the password" : ""}. It
          is shown once: copy it now.
        </p>
        <label>
          <span className="visually-hidden">Shared link</span>
          <input readOnly value={url} className="share-url" />
        </label>
        <CopyButton text={url} label="Copy link" />
        <Button
          variant="ghost"
          onClick={() => {
            setMade(null);
            setOpen(false);
          }}
        >
          Done
        </Button>
      </div>
    );
  }
  const shared = (segments.data ?? []).filter((s) => s.shared);
  return (
    <form
      className="card share-form"
      aria-label="Share this dashboard"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        create.run();
      }}
    >
      <Field label="Link name" value={name} maxLength={100} required onChange={(e) => setName(e.target.value)} />
      <Field
        label="Password (optional)"
        type="password"
        value={password}
        minLength={8}
        maxLength={200}
        autoComplete="new-password"
        onChange={(e) => setPassword(e.target.value)}
      />
      <Select label="Limit to a shared segment" value={segment} onChange={(e) => setSegment(e.target.value)}>
        <option value="">No limit: all visitors</option>
        {shared.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
          </option>
        ))}
      </Select>
      <Field
        label="Expires after (optional)"
        type="date"
        value={expires}
        onChange={(e) => setExpires(e.target.value)}
      />
      <Field
        label="Sites that may embed it (optional)"
        hint="Origins such as https://intranet.example.com; not with a password."
        value={origins}
        onChange={(e) => setOrigins(e.target.value)}
      />
      <div className="actions">
        <Button type="submit" busy={create.busy}>
          Create link
        </Button>
        <Button variant="ghost" onClick={() => setOpen(false)}>
          Cancel
        </Button>
      </div>
      <ErrorNote error={create.error} />
    </form>
  );
}
