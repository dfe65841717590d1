//! The catalogue of audited actions: stable dotted names (`api_key.created`), each with the
//! type of its target. Names are a contract with SIEMs and exports: add, never rename.

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal on $target:literal,)*) => {
        /// Something that happened to an organization's data or access.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            /// Every action, in catalogue order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The stable name (`api_key.created`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// The type of the target this action is about (`api_key`).
            pub fn target_type(self) -> &'static str {
                match self {
                    $(Action::$variant => $target,)*
                }
            }
        }
    };
}

actions! {
    /// An organization was created (its first owner is the actor).
    OrganizationCreated => "organization.created" on "organization",
    /// An organization was renamed.
    OrganizationRenamed => "organization.renamed" on "organization",
    /// An owner asked for the organization's erasure (in seven days).
    OrganizationErasureRequested => "organization.erasure_requested" on "organization",
    /// An owner cancelled a pending erasure.
    OrganizationErasureCancelled => "organization.erasure_cancelled" on "organization",
    /// An owner asked for a full export of the organization's data.
    OrganizationExportRequested => "organization.export_requested" on "export",
    /// The export was written and its link e-mailed.
    OrganizationExportReady => "organization.export_ready" on "export",
    /// The export was downloaded with its link.
    OrganizationExportDownloaded => "organization.export_downloaded" on "export",
    /// A member deleted their account (and so left the organization).
    UserDeleted => "user.deleted" on "user",
    /// An e-mail domain was claimed (its DNS proof is pending).
    DomainAdded => "domain.added" on "domain",
    /// A domain's DNS proof was found.
    DomainVerified => "domain.verified" on "domain",
    /// A domain claim was removed.
    DomainRemoved => "domain.removed" on "domain",
    /// A member's role changed.
    MemberRoleChanged => "member.role_changed" on "user",
    /// A member was removed (or left).
    MemberRemoved => "member.removed" on "user",
    /// Someone joined by accepting an invitation.
    MemberJoined => "member.joined" on "user",
    /// An invitation was sent.
    InvitationCreated => "invitation.created" on "invitation",
    /// An invitation was revoked.
    InvitationRevoked => "invitation.revoked" on "invitation",
    /// An API key was created.
    ApiKeyCreated => "api_key.created" on "api_key",
    /// An API key was revoked.
    ApiKeyRevoked => "api_key.revoked" on "api_key",
    /// A project was created.
    ProjectCreated => "project.created" on "project",
    /// A project's name, domains or settings changed.
    ProjectUpdated => "project.updated" on "project",
    /// A project and its data were deleted (by the erasure job, when its time came).
    ProjectDeleted => "project.deleted" on "project",
    /// An owner asked for a project's erasure (in seven days).
    ProjectErasureRequested => "project.erasure_requested" on "project",
    /// An owner cancelled a project's pending erasure.
    ProjectErasureCancelled => "project.erasure_cancelled" on "project",
    /// A goal was created.
    GoalCreated => "goal.created" on "goal",
    /// A goal was deleted.
    GoalDeleted => "goal.deleted" on "goal",
    /// A funnel was created.
    FunnelCreated => "funnel.created" on "funnel",
    /// A funnel was deleted.
    FunnelDeleted => "funnel.deleted" on "funnel",
    /// An error issue's state or assignment changed.
    IssueUpdated => "issue.updated" on "issue",
    /// A release file (source map or script) was uploaded or replaced.
    ReleaseFileUploaded => "release_file.uploaded" on "release_file",
    /// A release file was deleted.
    ReleaseFileDeleted => "release_file.deleted" on "release_file",
    /// An owner started a Stripe Checkout for a plan.
    BillingCheckoutStarted => "billing.checkout_started" on "organization",
    /// An owner opened the Stripe Customer Portal.
    BillingPortalOpened => "billing.portal_opened" on "organization",
    /// The subscription changed at Stripe (plan, interval or status).
    BillingPlanChanged => "billing.plan_changed" on "organization",
    /// The audit stream was set up or changed.
    AuditStreamConfigured => "audit_stream.configured" on "audit_stream",
    /// The audit stream was removed.
    AuditStreamDeleted => "audit_stream.deleted" on "audit_stream",
    /// The audit stream was turned off after failing persistently.
    AuditStreamDisabled => "audit_stream.disabled" on "audit_stream",
    /// Audit records were exported.
    AuditLogExported => "audit_log.exported" on "audit_log",
    /// Old audit records were removed by retention, leaving a checkpoint.
    AuditLogPruned => "audit_log.pruned" on "audit_log",
    /// A member signed in with a password.
    UserSignedIn => "user.signed_in" on "user",
    /// A sign-in with a member's e-mail failed.
    UserSignInFailed => "user.sign_in_failed" on "user",
    /// A member signed out (their session was revoked).
    UserSignedOut => "user.signed_out" on "user",
    /// A member reset their password (all their sessions were revoked).
    UserPasswordReset => "user.password_reset" on "user",
    /// An owner created or changed a single sign-on connection (a secret only as `changed`).
    SsoConnectionSaved => "sso.connection_saved" on "sso_connection",
    /// An owner removed a single sign-on connection.
    SsoConnectionDeleted => "sso.connection_deleted" on "sso_connection",
    /// An owner changed whether SSO is required, or the SSO session age.
    SsoPolicyChanged => "sso.policy_changed" on "organization",
    /// An owner changed the group-to-role mapping.
    SsoGroupRolesChanged => "sso.group_roles_changed" on "organization",
    /// Someone signed in through the organization's single sign-on.
    UserSsoSignedIn => "user.sso_signed_in" on "user",
    /// A single sign-on came back and was refused (the reason is in the changes).
    UserSsoSignInFailed => "user.sso_sign_in_failed" on "sso_connection",
    /// A first single sign-on created the membership (just-in-time provisioning).
    MemberProvisioned => "member.provisioned" on "user",
    /// An owner created a SCIM token.
    ScimTokenCreated => "scim_token.created" on "scim_token",
    /// An owner revoked a SCIM token.
    ScimTokenRevoked => "scim_token.revoked" on "scim_token",
    /// The identity provider created a person (SCIM).
    ScimUserCreated => "scim.user_created" on "user",
    /// The identity provider changed a person (SCIM; `active` among the changes).
    ScimUserUpdated => "scim.user_updated" on "user",
    /// The identity provider deleted a person (SCIM).
    ScimUserDeleted => "scim.user_deleted" on "user",
    /// The identity provider created a group (SCIM).
    ScimGroupCreated => "scim.group_created" on "group",
    /// The identity provider changed a group's name or members (SCIM).
    ScimGroupUpdated => "scim.group_updated" on "group",
    /// The identity provider deleted a group (SCIM).
    ScimGroupDeleted => "scim.group_deleted" on "group",
    /// A site domain another organization's project held without proof moved to this
    /// organization's project, by its DNS proof.
    ProjectDomainTakenOver => "project.domain_taken_over" on "project",
    /// A site domain of one of this organization's projects was taken over by an organization
    /// that proved DNS control of it.
    ProjectDomainLost => "project.domain_lost" on "domain",
    /// An alert rule was created.
    AlertCreated => "alert.created" on "alert",
    /// An alert rule was changed (its status starts again from ok).
    AlertUpdated => "alert.updated" on "alert",
    /// An alert was muted until a time, or unmuted.
    AlertMuted => "alert.muted" on "alert",
    /// An alert rule was deleted.
    AlertDeleted => "alert.deleted" on "alert",
    /// A notification channel was created.
    ChannelCreated => "channel.created" on "channel",
    /// A notification channel's name, receiver, recipients or state was changed.
    ChannelUpdated => "channel.updated" on "channel",
    /// A webhook channel's signing secret was rotated.
    ChannelSecretRotated => "channel.secret_rotated" on "channel",
    /// A notification channel was deleted.
    ChannelDeleted => "channel.deleted" on "channel",
    /// A test notification was queued to a channel.
    ChannelTested => "channel.tested" on "channel",
    /// A channel was turned off after persistent failure or a 410 Gone.
    ChannelDisabled => "channel.disabled" on "channel",
    /// A project's error-issue notifications (channels, occasions, hourly cap) were changed.
    IssueNotificationsUpdated => "project.issue_notifications_updated" on "project",
    /// A ticket was asked for an error issue in a Jira or GitHub connector.
    IssueTicketRequested => "issue.ticket_requested" on "issue",
    /// Someone subscribed to a project's e-mail report, or an admin added an address.
    ReportSubscribed => "report.subscribed" on "report_subscription",
    /// A report subscription was removed (in the dashboard, or by an e-mail's unsubscribe link).
    ReportUnsubscribed => "report.unsubscribed" on "report_subscription",
    /// Every row of a Stats API query was downloaded as a file.
    StatsExported => "stats.exported" on "project",
    /// A project's error issues were downloaded as a file.
    IssuesExported => "issues.exported" on "project",
    /// A ZIP of every breakdown of a period was downloaded.
    BreakdownsExported => "stats.breakdowns_exported" on "project",
    /// The dashboard of a period was downloaded as a PDF.
    DashboardExported => "stats.dashboard_exported" on "project",
    /// An owner switched AI insights on or off, or changed the monthly token budget.
    AiSettingsUpdated => "ai.settings_updated" on "organization",
    /// A saved segment was created.
    SegmentCreated => "segment.created" on "segment",
    /// A saved segment's name, filters or sharing changed.
    SegmentUpdated => "segment.updated" on "segment",
    /// A saved segment was deleted.
    SegmentDeleted => "segment.deleted" on "segment",
    /// A custom dashboard was created (or duplicated).
    DashboardCreated => "dashboard.created" on "dashboard",
    /// A custom dashboard's name, period, filters or widgets changed.
    DashboardUpdated => "dashboard.updated" on "dashboard",
    /// A custom dashboard was deleted.
    DashboardDeleted => "dashboard.deleted" on "dashboard",
    /// The project's dashboards were reordered, or its default dashboard changed.
    DashboardsArranged => "dashboard.arranged" on "project",
    /// A shared link was made.
    SharedLinkCreated => "shared_link.created" on "shared_link",
    /// A shared link was paused or resumed.
    SharedLinkUpdated => "shared_link.updated" on "shared_link",
    /// A shared link was revoked.
    SharedLinkRevoked => "shared_link.revoked" on "shared_link",
    /// An annotation was pinned to a moment of a project.
    AnnotationCreated => "annotation.created" on "annotation",
    /// An annotation was deleted.
    AnnotationDeleted => "annotation.deleted" on "annotation",
    /// A comment was written (the record names its thread and target, not its text).
    CommentCreated => "comment.created" on "comment",
    /// A comment was edited by its author.
    CommentEdited => "comment.edited" on "comment",
    /// A comment was deleted.
    CommentDeleted => "comment.deleted" on "comment",
    /// A comment thread was resolved or reopened.
    CommentThreadResolved => "comment_thread.resolved" on "comment_thread",
    /// A task was added to a project's board.
    TaskCreated => "task.created" on "task",
    /// A task's title, description, assignee, due date, labels or priority changed.
    TaskUpdated => "task.updated" on "task",
    /// A task was moved to another column.
    TaskMoved => "task.moved" on "task",
    /// A task was deleted.
    TaskDeleted => "task.deleted" on "task",
    /// A column was added to a project's task board.
    TaskColumnCreated => "task_column.created" on "task_column",
    /// A task board column was renamed.
    TaskColumnUpdated => "task_column.updated" on "task_column",
    /// A task board column was deleted (its tasks moved to To do).
    TaskColumnDeleted => "task_column.deleted" on "task_column",
    /// A session recording was deleted (with its stored chunks).
    ReplayDeleted => "replay.deleted" on "replay",
    /// A project's replay settings changed (recording on or off, sampling, masking, retention).
    ReplaySettingsUpdated => "replay_settings.updated" on "project",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_dotted() {
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        for name in &names {
            let (kind, verb) = name.split_once('.').unwrap();
            assert!(!kind.is_empty() && !verb.is_empty(), "{name}");
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }
}
