// The "Inbox" link of the top bar with the member's unread count, read when the page opens,
// every minute, and whenever the inbox page marks something read (the `beacon-inbox` event).
import { useEffect, useState } from "react";
import { api, unwrap } from "../api/client";
import { Link, useRouter } from "../lib/router";

/** Tells the top bar the unread count changed. */
export function inboxChanged() {
  window.dispatchEvent(new Event("beacon-inbox"));
}

export function InboxLink({ orgId }: { orgId: string }) {
  const { path } = useRouter();
  const [unread, setUnread] = useState<number | null>(null);
  useEffect(() => {
    let current = true;
    const read = () =>
      unwrap(api.GET("/api/v1/orgs/{org_id}/notifications/unread", { params: { path: { org_id: orgId } } }))
        .then((count) => current && setUnread(count.unread))
        .catch(() => current && setUnread(null));
    read();
    const timer = window.setInterval(read, 60_000);
    window.addEventListener("beacon-inbox", read);
    return () => {
      current = false;
      window.clearInterval(timer);
      window.removeEventListener("beacon-inbox", read);
    };
  }, [orgId]);
  const to = `/orgs/${orgId}/inbox`;
  return (
    <Link to={to} className="inbox-link" aria-current={path === to ? "page" : undefined}>
      Inbox
      {unread !== null && unread > 0 && (
        <span className="badge">
          {unread > 99 ? "99+" : unread}
          <span className="visually-hidden"> unread</span>
        </span>
      )}
    </Link>
  );
}
