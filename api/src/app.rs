//! Assembles the HTTP application: the OpenAPI service, its spec and docs, and the plumbing.

use poem::{Endpoint, EndpointExt, Response, Route};
use poem_openapi::OpenApiService;

use crate::middleware;
use crate::routes::account::AccountApi;
use crate::routes::activity::ActivityApi;
use crate::routes::admin::AdminApi;
use crate::routes::ai::AiApi;
use crate::routes::alerts::AlertsApi;
use crate::routes::annotations::AnnotationsApi;
use crate::routes::api_keys::ApiKeysApi;
use crate::routes::audit::AuditApi;
use crate::routes::auth::AuthApi;
use crate::routes::billing::BillingApi;
use crate::routes::channels::ChannelsApi;
use crate::routes::comments::CommentsApi;
use crate::routes::dashboards::DashboardsApi;
use crate::routes::domains::DomainsApi;
use crate::routes::events::IngestApi;
use crate::routes::exports::ExportsApi;
use crate::routes::file_exports::{DashboardPdfApi, FileExportsApi};
use crate::routes::funnels::FunnelsApi;
use crate::routes::goals::GoalsApi;
use crate::routes::heatmaps::HeatmapsApi;
use crate::routes::invitations::{AcceptInvitationApi, InvitationsApi};
use crate::routes::issue_notices::IssueNoticesApi;
use crate::routes::issues::IssuesApi;
use crate::routes::members::MembersApi;
use crate::routes::notifications::NotificationsApi;
use crate::routes::ops::OpsApi;
use crate::routes::orgs::OrgsApi;
use crate::routes::pdf_jobs::PdfJobsApi;
use crate::routes::projects::ProjectsApi;
use crate::routes::realtime::RealtimeApi;
use crate::routes::releases::ReleasesApi;
use crate::routes::replay::ReplayApi;
use crate::routes::reports::ReportsApi;
use crate::routes::saml::SamlApi;
use crate::routes::saml_login::SamlLoginApi;
use crate::routes::scim_tokens::ScimTokensApi;
use crate::routes::segments::SegmentsApi;
use crate::routes::shared::SharedApi;
use crate::routes::shared_links::SharedLinksApi;
use crate::routes::sso::SsoApi;
use crate::routes::sso_login::SsoLoginApi;
use crate::routes::stats::StatsApi;
use crate::routes::tasks::TasksApi;
use crate::routes::vitals::VitalsApi;
use crate::state::AppState;

/// Every API of the service; adding one here is all it takes to serve and document it.
type Apis = (
    (OpsApi, AuthApi, OrgsApi, MembersApi),
    (InvitationsApi, AcceptInvitationApi, ProjectsApi, ApiKeysApi),
    (
        AdminApi,
        IngestApi,
        StatsApi,
        RealtimeApi,
        GoalsApi,
        FunnelsApi,
    ),
    (
        IssuesApi,
        ReleasesApi,
        VitalsApi,
        BillingApi,
        AuditApi,
        ExportsApi,
        AccountApi,
        DomainsApi,
    ),
    (SsoApi, SsoLoginApi, SamlApi, SamlLoginApi, ScimTokensApi),
    (
        AlertsApi,
        ChannelsApi,
        IssueNoticesApi,
        ReportsApi,
        FileExportsApi,
        DashboardPdfApi,
        PdfJobsApi,
        AiApi,
    ),
    (
        SegmentsApi,
        DashboardsApi,
        SharedLinksApi,
        SharedApi,
        AnnotationsApi,
        CommentsApi,
        ActivityApi,
        NotificationsApi,
        TasksApi,
    ),
    (ReplayApi, HeatmapsApi),
);

/// The OpenAPI service (also used by `beacon openapi` to write the spec).
pub fn api_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(Apis::default(), "Beacon API", env!("CARGO_PKG_VERSION")).description(
        "Privacy-first analytics. Errors are RFC 9457 application/problem+json with a stable \
         `type`; lists use cursor pagination (`cursor`, `limit`, `next_cursor`).",
    )
}

/// The spec as pretty JSON, exactly as checked in at `openapi/openapi.json`: poem-openapi's,
/// with the corrections of [`crate::spec`].
pub fn openapi_json() -> String {
    let generated = api_service().spec();
    // The generated spec is always JSON; should that ever fail, serve it uncorrected.
    crate::spec::corrected(&generated).unwrap_or(generated)
}

/// The whole application for `state`.
pub fn build(state: AppState, max_body: usize) -> impl Endpoint<Output = Response> {
    build_boxed(state, max_body)
}

/// The whole application, with a nameable type (tests hold it in a struct).
pub fn build_boxed(
    state: AppState,
    max_body: usize,
) -> middleware::Plumbing<poem::endpoint::BoxEndpoint<'static, Response>> {
    let service = api_service();
    let docs = service.swagger_ui();
    let spec = openapi_json();
    let metrics = state.metrics.clone();
    let app = Route::new()
        .nest("/", service)
        .at(
            "/api/openapi.json",
            poem::endpoint::make_sync(move |_| {
                Response::builder()
                    .content_type("application/json")
                    .body(spec.clone())
            }),
        )
        .nest("/api/docs", docs)
        .at("/js/:file", poem::get(crate::tracker::current))
        .at("/js/v/:version/:file", poem::get(crate::tracker::versioned))
        .at(
            "/api/:ingest_id/envelope/",
            poem::post(crate::routes::sentry::envelope_endpoint),
        )
        .at(
            "/api/:ingest_id/envelope",
            poem::post(crate::routes::sentry::envelope_endpoint),
        )
        .at(
            "/api/:ingest_id/store/",
            poem::post(crate::routes::sentry::store_endpoint),
        )
        .at(
            "/api/:ingest_id/store",
            poem::post(crate::routes::sentry::store_endpoint),
        )
        .nest("/scim/v2", crate::scim::routes())
        .around(crate::dashboard::around)
        .data(state)
        .map_to_response()
        .boxed();
    middleware::around(app, max_body, metrics)
}
