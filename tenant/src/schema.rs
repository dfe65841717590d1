//! Diesel's view of the tables created in `migrations/`.
//!
//! Written to match the migrations; `tests/schema.rs` compares every table and column here with
//! the migrated database and fails when they drift.

diesel::table! {
    /// People who can sign in.
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Server-side sessions.
    user_sessions (token_hash) {
        token_hash -> Bytea,
        user_id -> Uuid,
        csrf_token -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        sso_org_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    /// Single-use e-mail tokens.
    user_tokens (token_hash) {
        token_hash -> Bytea,
        user_id -> Uuid,
        purpose -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Organizations (tenants).
    organizations (org_id) {
        org_id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        erase_after -> Nullable<Timestamptz>,
        erasure_requested_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    /// Erased organizations and their audit chain's final checkpoint (global).
    erased_organizations (org_id) {
        org_id -> Uuid,
        erased_at -> Timestamptz,
        audit_seq -> Int8,
        audit_hash -> Bytea,
        signature -> Nullable<Bytea>,
    }
}

diesel::table! {
    /// Organization memberships.
    memberships (org_id, user_id) {
        org_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Pending and accepted invitations.
    invitations (org_id, invitation_id) {
        org_id -> Uuid,
        invitation_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Nullable<Bytea>,
        invited_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Projects (sites and apps).
    projects (org_id, project_id) {
        org_id -> Uuid,
        project_id -> Uuid,
        name -> Text,
        timezone -> Text,
        ingest_key -> Text,
        ingest_id -> Int8,
        created_at -> Timestamptz,
        salt_rotation_hours -> Int4,
        retention_days -> Int4,
        scrub_fields -> Array<Text>,
        error_events_per_minute -> Int4,
        error_user_key -> Bytea,
        erase_after -> Nullable<Timestamptz>,
        erasure_requested_by -> Nullable<Uuid>,
        replay_enabled -> Bool,
        replay_sample_rate -> Float4,
        replay_mask_all_text -> Bool,
        replay_unmask_selector -> Nullable<Text>,
        replay_block_selector -> Nullable<Text>,
        replay_retention_days -> Int4,
        heatmaps_enabled -> Bool,
    }
}

diesel::table! {
    /// Domains of projects.
    project_domains (org_id, project_id, domain) {
        org_id -> Uuid,
        project_id -> Uuid,
        domain -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Organization API keys.
    api_keys (org_id, key_id) {
        org_id -> Uuid,
        key_id -> Uuid,
        name -> Text,
        secret_hash -> Bytea,
        prefix -> Text,
        scopes -> Array<Text>,
        project_ids -> Nullable<Array<Uuid>>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Visitor-id salts.
    project_salts (org_id, project_id, created_at) {
        org_id -> Uuid,
        project_id -> Uuid,
        created_at -> Timestamptz,
        salt -> Bytea,
    }
}

diesel::table! {
    /// Pageviews and custom events (partitioned by day).
    events (org_id, project_id, ts, event_id) {
        org_id -> Uuid,
        project_id -> Uuid,
        ts -> Timestamptz,
        event_id -> Uuid,
        name -> Text,
        visitor_id -> Int8,
        hostname -> Text,
        pathname -> Text,
        referrer_host -> Nullable<Text>,
        source -> Nullable<Text>,
        utm_source -> Nullable<Text>,
        utm_medium -> Nullable<Text>,
        utm_campaign -> Nullable<Text>,
        utm_content -> Nullable<Text>,
        utm_term -> Nullable<Text>,
        browser -> Nullable<Text>,
        browser_version -> Nullable<Text>,
        os -> Nullable<Text>,
        os_version -> Nullable<Text>,
        device -> Nullable<Text>,
        country -> Nullable<Bpchar>,
        region -> Nullable<Text>,
        city -> Nullable<Text>,
        props -> Jsonb,
        revenue_amount -> Nullable<Numeric>,
        revenue_currency -> Nullable<Bpchar>,
        interactive -> Bool,
    }
}

diesel::table! {
    /// Conversion goals.
    goals (org_id, goal_id) {
        org_id -> Uuid,
        goal_id -> Uuid,
        project_id -> Uuid,
        name -> Text,
        event_name -> Nullable<Text>,
        page_pattern -> Nullable<Text>,
        page_regex -> Nullable<Text>,
        currency -> Nullable<Bpchar>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Funnels: ordered goals.
    funnels (org_id, funnel_id) {
        org_id -> Uuid,
        funnel_id -> Uuid,
        project_id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// The steps of a funnel.
    funnel_steps (org_id, funnel_id, position) {
        org_id -> Uuid,
        funnel_id -> Uuid,
        position -> Int2,
        goal_id -> Uuid,
    }
}

/// SQL types of extensions.
pub mod sql_types {
    /// A HyperLogLog sketch (the `hll` extension). Only SQL reads it; Rust never loads one.
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "hll"))]
    pub struct Hll;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Hll;

    /// Hourly rollups (see `tenant::rollups`).
    rollups_hourly (org_id, project_id, kind, hour, value) {
        org_id -> Uuid,
        project_id -> Uuid,
        hour -> Timestamptz,
        kind -> Int2,
        value -> Text,
        visitors -> Hll,
        visits -> Int4,
        bounces -> Int4,
        duration_sum -> Numeric,
        pageviews -> Int4,
        events -> Int4,
    }
}

diesel::table! {
    /// How far each project's rollups reach.
    rollup_state (org_id, project_id) {
        org_id -> Uuid,
        project_id -> Uuid,
        rolled_until -> Timestamptz,
        updated_at -> Timestamptz,
        daily_until -> Timestamptz,
        weekly_until -> Timestamptz,
        last_seen_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Each visitor's last event in the 30 minutes before a project's watermark (see
    /// `tenant::stats::rollups`).
    rollup_last_seen (org_id, project_id, visitor_id) {
        org_id -> Uuid,
        project_id -> Uuid,
        visitor_id -> Int8,
        last_ts -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Hll;

    /// Daily rollups: each UTC day's hourly rollups merged (see `tenant::stats::rollups`).
    rollups_daily (org_id, project_id, kind, day, value) {
        org_id -> Uuid,
        project_id -> Uuid,
        day -> Timestamptz,
        kind -> Int2,
        value -> Text,
        visitors -> Hll,
        visits -> Int8,
        bounces -> Int8,
        duration_sum -> Numeric,
        pageviews -> Int8,
        events -> Int8,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Hll;

    /// Weekly rollups: each UTC week's daily rollups merged (see `tenant::stats::rollups`).
    rollups_weekly (org_id, project_id, kind, week, value) {
        org_id -> Uuid,
        project_id -> Uuid,
        week -> Timestamptz,
        kind -> Int2,
        value -> Text,
        visitors -> Hll,
        visits -> Int8,
        bounces -> Int8,
        duration_sum -> Numeric,
        pageviews -> Int8,
        events -> Int8,
    }
}

diesel::table! {
    /// Error events grouped by fingerprint.
    error_issues (org_id, issue_id) {
        org_id -> Uuid,
        issue_id -> Uuid,
        project_id -> Uuid,
        fingerprint -> Text,
        title -> Text,
        culprit -> Nullable<Text>,
        level -> Text,
        status -> Text,
        resolved_in_release -> Nullable<Text>,
        resolved_at -> Nullable<Timestamptz>,
        first_seen -> Timestamptz,
        last_seen -> Timestamptz,
        times_seen -> Int8,
        first_release -> Nullable<Text>,
        last_release -> Nullable<Text>,
        regressed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Scrubbed, symbolicated error events.
    error_events (org_id, project_id, event_id) {
        org_id -> Uuid,
        project_id -> Uuid,
        event_id -> Uuid,
        issue_id -> Uuid,
        ts -> Timestamptz,
        received_at -> Timestamptz,
        level -> Text,
        platform -> Nullable<Text>,
        release -> Nullable<Text>,
        environment -> Nullable<Text>,
        user_hash -> Nullable<Text>,
        data -> Jsonb,
        visitor_id -> Nullable<Int8>,
    }
}

diesel::table! {
    /// Minified files and source maps of releases.
    release_files (org_id, project_id, release, name) {
        org_id -> Uuid,
        project_id -> Uuid,
        release -> Text,
        name -> Text,
        body -> Bytea,
        sha256 -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Core Web Vitals samples.
    web_vitals (org_id, project_id, ts, vital_id) {
        org_id -> Uuid,
        project_id -> Uuid,
        vital_id -> Uuid,
        ts -> Timestamptz,
        metric -> Text,
        value -> Float8,
        rating -> Text,
        pathname -> Text,
        device -> Nullable<Text>,
        country -> Nullable<Text>,
        navigation_type -> Nullable<Text>,
        attribution -> Jsonb,
    }
}

diesel::table! {
    /// Each organization's Stripe customer and subscription, as last read from Stripe.
    org_billing (org_id) {
        org_id -> Uuid,
        stripe_customer_id -> Nullable<Text>,
        stripe_subscription_id -> Nullable<Text>,
        plan -> Text,
        billing_interval -> Nullable<Text>,
        status -> Text,
        current_period_start -> Nullable<Timestamptz>,
        current_period_end -> Nullable<Timestamptz>,
        trial_end -> Nullable<Timestamptz>,
        cancel_at_period_end -> Bool,
        past_due_since -> Nullable<Timestamptz>,
        trial_used -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Stripe webhook events applied (each once).
    stripe_events (org_id, event_id) {
        org_id -> Uuid,
        event_id -> Text,
        event_type -> Text,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    /// Stored events per product and UTC day.
    usage_daily (org_id, product, day) {
        org_id -> Uuid,
        product -> Text,
        day -> Date,
        quantity -> Int8,
        reported_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Usage against quota in the current period, per product.
    quota_state (org_id, product) {
        org_id -> Uuid,
        product -> Text,
        period_start -> Date,
        used -> Int8,
        quota -> Nullable<Int8>,
        over_since -> Nullable<Timestamptz>,
        blocked -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Billing e-mails sent, once per kind and period.
    billing_notices (org_id, kind, period_start) {
        org_id -> Uuid,
        kind -> Text,
        period_start -> Date,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    /// Events refused over quota per product and UTC day.
    dropped_daily (org_id, product, day) {
        org_id -> Uuid,
        product -> Text,
        day -> Date,
        dropped -> Int8,
    }
}

diesel::table! {
    /// Tamper-evident audit records, a hash chain per organization (insert and select only).
    audit_log (org_id, seq) {
        org_id -> Uuid,
        seq -> Int8,
        recorded_at -> Timestamptz,
        actor -> Text,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Text>,
        changes -> Jsonb,
        request_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        prev_hash -> Bytea,
        hash -> Bytea,
    }
}

diesel::table! {
    /// The newest record of each organization's audit chain.
    audit_heads (org_id) {
        org_id -> Uuid,
        seq -> Int8,
        hash -> Bytea,
    }
}

diesel::table! {
    /// Signed checkpoints left by audit retention.
    audit_checkpoints (org_id, seq) {
        org_id -> Uuid,
        seq -> Int8,
        hash -> Bytea,
        recorded_at -> Timestamptz,
        signature -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Where an organization's audit records are streamed, and how far delivery got.
    audit_streams (org_id) {
        org_id -> Uuid,
        url -> Text,
        secret -> Text,
        enabled -> Bool,
        delivered_seq -> Int8,
        failures -> Int4,
        next_attempt_at -> Timestamptz,
        last_attempt_at -> Nullable<Timestamptz>,
        last_success_at -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Requested data exports of an organization.
    org_exports (org_id, export_id) {
        org_id -> Uuid,
        export_id -> Uuid,
        requested_by -> Uuid,
        status -> Text,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        size_bytes -> Nullable<Int8>,
        token_hash -> Nullable<Bytea>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    /// E-mail domains an organization claims, and their DNS proof.
    org_domains (org_id, domain) {
        org_id -> Uuid,
        domain -> Text,
        token -> Text,
        created_at -> Timestamptz,
        verified_at -> Nullable<Timestamptz>,
        last_checked_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    /// Identity-provider connections (one per kind per organization).
    sso_connections (org_id, kind) {
        org_id -> Uuid,
        kind -> Text,
        enabled -> Bool,
        settings -> Jsonb,
        secret -> Nullable<Bytea>,
        default_role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Whether an organization requires SSO, and its SSO session age.
    sso_policies (org_id) {
        org_id -> Uuid,
        enforced -> Bool,
        session_hours -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Identity-provider group to role.
    sso_group_roles (org_id, group_name) {
        org_id -> Uuid,
        group_name -> Text,
        role -> Text,
    }
}

diesel::table! {
    /// SSO sign-ins in flight.
    sso_logins (org_id, state_hash) {
        org_id -> Uuid,
        state_hash -> Bytea,
        kind -> Text,
        purpose -> Text,
        nonce -> Text,
        pkce_verifier -> Nullable<Text>,
        return_to -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        outcome -> Nullable<Jsonb>,
    }
}

diesel::table! {
    /// Identity-provider subjects and their users.
    sso_identities (org_id, kind, subject) {
        org_id -> Uuid,
        kind -> Text,
        subject -> Text,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_sign_in_at -> Timestamptz,
    }
}

diesel::table! {
    /// SAML's replay cache: accepted assertion IDs (SHA-256) until they expire.
    saml_assertions (org_id, assertion_hash) {
        org_id -> Uuid,
        assertion_hash -> Bytea,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    /// SCIM clients' bearer tokens.
    scim_tokens (org_id, token_id) {
        org_id -> Uuid,
        token_id -> Uuid,
        name -> Text,
        secret_hash -> Bytea,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// People the identity provider manages.
    scim_users (org_id, scim_id) {
        org_id -> Uuid,
        scim_id -> Uuid,
        user_id -> Nullable<Uuid>,
        user_name -> Text,
        external_id -> Nullable<Text>,
        active -> Bool,
        created_account -> Bool,
        resource -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Groups the identity provider manages.
    scim_groups (org_id, group_id) {
        org_id -> Uuid,
        group_id -> Uuid,
        display_name -> Text,
        external_id -> Nullable<Text>,
        resource -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Who is in which SCIM group.
    scim_group_members (org_id, group_id, scim_id) {
        org_id -> Uuid,
        group_id -> Uuid,
        scim_id -> Uuid,
    }
}

diesel::table! {
    /// Where an organization's notifications go (URLs and secrets sealed).
    notification_channels (org_id, channel_id) {
        org_id -> Uuid,
        channel_id -> Uuid,
        kind -> Text,
        name -> Text,
        url_host -> Nullable<Text>,
        url_sealed -> Nullable<Bytea>,
        secret_sealed -> Nullable<Bytea>,
        previous_secret_sealed -> Nullable<Bytea>,
        previous_secret_until -> Nullable<Timestamptz>,
        emails -> Array<Text>,
        member_ids -> Array<Uuid>,
        enabled -> Bool,
        failures -> Int4,
        disabled_reason -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        settings -> Jsonb,
    }
}

diesel::table! {
    /// Threshold rules on a project's metrics, with their state.
    alerts (org_id, alert_id) {
        org_id -> Uuid,
        alert_id -> Uuid,
        project_id -> Uuid,
        name -> Text,
        metric -> Text,
        filters -> Jsonb,
        window_minutes -> Int4,
        condition -> Text,
        baseline -> Nullable<Text>,
        sensitivity -> Nullable<Text>,
        warning -> Nullable<Float8>,
        critical -> Nullable<Float8>,
        resolve -> Float8,
        pending_minutes -> Int4,
        every_minutes -> Int4,
        channel_ids -> Array<Uuid>,
        enabled -> Bool,
        muted_until -> Nullable<Timestamptz>,
        state -> Text,
        level -> Nullable<Text>,
        changing_since -> Nullable<Timestamptz>,
        state_since -> Timestamptz,
        last_value -> Nullable<Float8>,
        last_evaluated_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        version -> Int4,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Each alert's state changes.
    alert_events (org_id, alert_id, event_id) {
        org_id -> Uuid,
        alert_id -> Uuid,
        event_id -> Uuid,
        at -> Timestamptz,
        from_state -> Text,
        to_state -> Text,
        level -> Nullable<Text>,
        value -> Nullable<Float8>,
        baseline_value -> Nullable<Float8>,
        threshold -> Nullable<Float8>,
        notified -> Bool,
    }
}

diesel::table! {
    /// When each piece of recurring per-tenant work runs next.
    schedules (org_id, schedule_id) {
        org_id -> Uuid,
        schedule_id -> Uuid,
        project_id -> Uuid,
        alert_id -> Nullable<Uuid>,
        cadence -> Text,
        every_minutes -> Nullable<Int4>,
        local_time -> Nullable<Time>,
        weekday -> Nullable<Int4>,
        next_run_at -> Timestamptz,
        last_slot -> Nullable<Timestamptz>,
        last_run_at -> Nullable<Timestamptz>,
        report_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    /// A project's weekly or monthly e-mail report.
    reports (org_id, report_id) {
        org_id -> Uuid,
        report_id -> Uuid,
        project_id -> Uuid,
        cadence -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Who receives a report.
    report_subscriptions (org_id, subscription_id) {
        org_id -> Uuid,
        subscription_id -> Uuid,
        report_id -> Uuid,
        user_id -> Nullable<Uuid>,
        email -> Nullable<Text>,
        skip_empty -> Bool,
        added_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        last_slot -> Nullable<Timestamptz>,
        last_sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Each notification to a channel and its attempts.
    notification_deliveries (org_id, delivery_id) {
        org_id -> Uuid,
        delivery_id -> Uuid,
        channel_id -> Uuid,
        alert_id -> Nullable<Uuid>,
        kind -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        issue_id -> Nullable<Uuid>,
        ticket_key -> Nullable<Text>,
        ticket_url -> Nullable<Text>,
    }
}

diesel::table! {
    /// Jira and GitHub tickets created for error issues, one per issue and connector.
    issue_tickets (org_id, issue_id, channel_id) {
        org_id -> Uuid,
        issue_id -> Uuid,
        channel_id -> Uuid,
        ticket_key -> Text,
        ticket_url -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Per project: the channels told of new and regressed error issues, and the hourly cap.
    issue_notifications (org_id, project_id) {
        org_id -> Uuid,
        project_id -> Uuid,
        on_new -> Bool,
        on_regression -> Bool,
        channel_ids -> Array<Uuid>,
        hourly_cap -> Int4,
        window_start -> Nullable<Timestamptz>,
        sent_in_window -> Int4,
        held_back -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(memberships -> organizations (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::table! {
    /// Whether AI insights are on, and the monthly token budget.
    ai_settings (org_id) {
        org_id -> Uuid,
        enabled -> Bool,
        monthly_token_budget -> Int8,
        updated_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// AI tokens used per month and feature.
    ai_usage (org_id, month, feature) {
        org_id -> Uuid,
        month -> Date,
        feature -> Text,
        requests -> Int8,
        prompt_tokens -> Int8,
        completion_tokens -> Int8,
    }
}

diesel::table! {
    /// AI answers by the hash of their input.
    ai_answers (org_id, input_hash) {
        org_id -> Uuid,
        input_hash -> Text,
        project_id -> Uuid,
        feature -> Text,
        model -> Text,
        answer -> Text,
        facts -> Jsonb,
        prompt_tokens -> Int8,
        completion_tokens -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Dashboard PDFs made in the background.
    pdf_exports (org_id, export_id) {
        org_id -> Uuid,
        export_id -> Uuid,
        project_id -> Uuid,
        requested_by -> Nullable<Uuid>,
        period_from -> Date,
        period_to -> Date,
        paper -> Text,
        status -> Text,
        steps_done -> Int4,
        steps_total -> Int4,
        body -> Nullable<Bytea>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Saved segments: named filter sets of a project.
    segments (org_id, segment_id) {
        org_id -> Uuid,
        segment_id -> Uuid,
        project_id -> Uuid,
        name -> Text,
        filters -> Jsonb,
        owner_id -> Nullable<Uuid>,
        shared -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Custom dashboards of a project.
    dashboards (org_id, dashboard_id) {
        org_id -> Uuid,
        dashboard_id -> Uuid,
        project_id -> Uuid,
        name -> Text,
        position -> Int4,
        is_default -> Bool,
        version -> Int4,
        period -> Nullable<Text>,
        filters -> Jsonb,
        widgets -> Jsonb,
        created_by -> Nullable<Uuid>,
        updated_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Shared links to a project's dashboard.
    shared_links (org_id, link_id) {
        org_id -> Uuid,
        link_id -> Uuid,
        project_id -> Uuid,
        dashboard_id -> Nullable<Uuid>,
        name -> Text,
        secret_hash -> Text,
        password_hash -> Nullable<Text>,
        segment_id -> Nullable<Uuid>,
        expires_at -> Nullable<Timestamptz>,
        paused -> Bool,
        embed_origins -> Array<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Notes pinned to a moment of a project.
    annotations (org_id, annotation_id) {
        org_id -> Uuid,
        annotation_id -> Uuid,
        project_id -> Uuid,
        at -> Timestamptz,
        text -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Discussions about one thing of a project.
    comment_threads (org_id, thread_id) {
        org_id -> Uuid,
        thread_id -> Uuid,
        project_id -> Uuid,
        target_kind -> Text,
        target_id -> Text,
        resolved_at -> Nullable<Timestamptz>,
        resolved_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Comments of a thread.
    comments (org_id, comment_id) {
        org_id -> Uuid,
        comment_id -> Uuid,
        thread_id -> Uuid,
        author_id -> Nullable<Uuid>,
        body -> Text,
        created_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// A member's notifications (inbox and batched e-mail).
    notifications (org_id, notification_id) {
        org_id -> Uuid,
        notification_id -> Uuid,
        user_id -> Uuid,
        project_id -> Uuid,
        kind -> Text,
        actor_id -> Nullable<Uuid>,
        target_kind -> Text,
        target_id -> Text,
        summary -> Text,
        created_at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
        inbox -> Bool,
        email_pending -> Bool,
    }
}

diesel::table! {
    /// A member's notification preferences per kind.
    notification_preferences (org_id, user_id, kind) {
        org_id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        inbox -> Bool,
        email -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// The columns of a project's task board.
    task_columns (org_id, column_id) {
        org_id -> Uuid,
        column_id -> Uuid,
        project_id -> Uuid,
        name -> Text,
        role -> Text,
        position -> Int4,
    }
}

diesel::table! {
    /// Tasks of a project's task board.
    tasks (org_id, task_id) {
        org_id -> Uuid,
        task_id -> Uuid,
        project_id -> Uuid,
        column_id -> Uuid,
        position -> Int4,
        title -> Text,
        description -> Text,
        assignee_id -> Nullable<Uuid>,
        due_on -> Nullable<Date>,
        labels -> Array<Text>,
        priority -> Text,
        issue_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        due_reminded_on -> Nullable<Date>,
    }
}

diesel::table! {
    /// Recorded sessions (session replay).
    replay_sessions (org_id, replay_id) {
        org_id -> Uuid,
        replay_id -> Uuid,
        project_id -> Uuid,
        visitor_id -> Int8,
        started_at -> Timestamptz,
        ended_at -> Timestamptz,
        entry_page -> Text,
        pages -> Array<Text>,
        country -> Nullable<Text>,
        device -> Text,
        browser -> Text,
        os -> Text,
        chunks -> Int4,
        bytes -> Int8,
        clicks -> Int4,
        rage_clicks -> Int4,
        dead_clicks -> Int4,
        has_snapshot -> Bool,
        received_at -> Timestamptz,
        markers -> Int4,
    }
}

diesel::table! {
    /// Uploaded chunks of recorded sessions.
    replay_chunks (org_id, replay_id, seq) {
        org_id -> Uuid,
        replay_id -> Uuid,
        seq -> Int4,
        started_at -> Timestamptz,
        ended_at -> Timestamptz,
        events -> Int4,
        bytes -> Int4,
        markers -> Jsonb,
        blob_key -> Text,
    }
}

diesel::table! {
    /// Chunk bodies when the blob store is PostgreSQL.
    replay_blobs (org_id, blob_key) {
        org_id -> Uuid,
        blob_key -> Text,
        project_id -> Uuid,
        body -> Bytea,
    }
}

diesel::table! {
    /// Recordings deleted by a person, whose late chunks are refused.
    replay_tombstones (org_id, replay_id) {
        org_id -> Uuid,
        replay_id -> Uuid,
        project_id -> Uuid,
        deleted_at -> Timestamptz,
    }
}

diesel::table! {
    /// Objects an S3-compatible blob store still has to delete.
    blob_deletions (org_id, blob_key) {
        org_id -> Uuid,
        blob_key -> Text,
        project_id -> Uuid,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    /// Heatmap clicks per page, width class, day, element and cell.
    heatmap_clicks (org_id, project_id, page, device, day, selector, cell) {
        org_id -> Uuid,
        project_id -> Uuid,
        day -> Date,
        page -> Text,
        device -> Text,
        selector -> Text,
        cell -> Int2,
        clicks -> Int4,
        rage_clicks -> Int4,
    }
}

diesel::table! {
    /// Heatmap scroll depth per page, width class and day.
    heatmap_scroll (org_id, project_id, page, device, day) {
        org_id -> Uuid,
        project_id -> Uuid,
        day -> Date,
        page -> Text,
        device -> Text,
        pageviews -> Int4,
        reached -> Array<Int4>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    heatmap_clicks,
    heatmap_scroll,
    replay_sessions,
    replay_chunks,
    replay_blobs,
    replay_tombstones,
    blob_deletions,
    notifications,
    notification_preferences,
    task_columns,
    tasks,
    comment_threads,
    comments,
    annotations,
    shared_links,
    segments,
    dashboards,
    pdf_exports,
    ai_answers,
    ai_settings,
    ai_usage,
    users,
    user_sessions,
    user_tokens,
    organizations,
    memberships,
    invitations,
    projects,
    project_domains,
    api_keys,
    project_salts,
    events,
    goals,
    funnels,
    funnel_steps,
    rollups_hourly,
    rollups_daily,
    rollups_weekly,
    rollup_last_seen,
    rollup_state,
    error_issues,
    error_events,
    release_files,
    web_vitals,
    org_billing,
    stripe_events,
    usage_daily,
    quota_state,
    billing_notices,
    dropped_daily,
    audit_log,
    audit_heads,
    audit_checkpoints,
    audit_streams,
    erased_organizations,
    org_exports,
    org_domains,
    sso_connections,
    sso_policies,
    sso_group_roles,
    sso_logins,
    sso_identities,
    saml_assertions,
    scim_tokens,
    scim_users,
    scim_groups,
    scim_group_members,
    notification_channels,
    alerts,
    alert_events,
    schedules,
    notification_deliveries,
    issue_tickets,
    issue_notifications,
    reports,
    report_subscriptions,
);
