//! Projects: the sites and apps an organization tracks, with their domains and time zone.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use tenant::DbError;
use tenant::ProjectId;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::is_unique_violation;
use tenant::tables::projects::{self, ProjectWithDomains};
use uuid::Uuid;

use crate::auth::Need;
use billing::Limit;
use billing::gates;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::orgs::clean_name;
use crate::routes::pagination::{Page, fetch_size, parse_cursor};
use crate::routes::responses::Created;
use crate::routes::text::Text;
use crate::scope::{Member, OrgScope, Owner, ProjectScope, Viewer};
use crate::state::AppState;

/// Most domains one project may have.
pub const MAX_DOMAINS: usize = 20;

/// A new project.
#[derive(Debug, Object)]
pub struct ProjectIn {
    /// Name, 1 to 100 characters.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Text,
    /// Domains (host names) it collects for; at least one.
    #[oai(validator(min_items = 1, max_items = 20))]
    pub domains: Vec<Text>,
    /// IANA time zone for the dashboards, e.g. `Europe/Berlin`. Default `UTC`.
    #[oai(default = "default_timezone", validator(max_length = 64))]
    pub timezone: Text,
}

fn default_timezone() -> Text {
    Text("UTC".to_owned())
}

/// Changes to a project; absent fields stay as they are.
#[derive(Debug, Object)]
pub struct ProjectPatch {
    /// New name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Option<Text>,
    /// New set of domains (replaces the old set).
    #[oai(validator(min_items = 1, max_items = 20))]
    pub domains: Option<Vec<Text>>,
    /// New time zone.
    #[oai(validator(max_length = 64))]
    pub timezone: Option<Text>,
    /// Hours one visitor-id salt is used before a new random one replaces it (1 to 720).
    /// Longer periods recognize returning visitors for longer (retention cohorts need weeks);
    /// shorter ones are more private.
    #[oai(validator(minimum(value = "1"), maximum(value = "720")))]
    pub salt_rotation_hours: Option<i32>,
    /// Days events are kept before they are deleted (1 to 3650).
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    pub retention_days: Option<i32>,
    /// Extra key names whose values are removed from error events before they are stored,
    /// on top of the built-in rules (replaces the list; at most 50, each 1 to 64 characters).
    #[oai(validator(max_items = 50))]
    pub scrub_fields: Option<Vec<Text>>,
    /// Error events accepted per minute (1 to 10,000,000); beyond it SDKs are told to back off.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000000")))]
    pub error_events_per_minute: Option<i32>,
}

/// A project.
#[derive(Debug, Object)]
pub struct ProjectOut {
    /// Id.
    pub id: Uuid,
    /// Organization.
    pub org_id: Uuid,
    /// Name.
    pub name: String,
    /// Domains.
    pub domains: Vec<String>,
    /// IANA time zone.
    pub timezone: String,
    /// Public ingestion key (tracker `data-key`, Sentry DSN public key).
    pub ingest_key: String,
    /// Hours one visitor-id salt is used.
    pub salt_rotation_hours: i32,
    /// Days events are kept.
    pub retention_days: i32,
    /// Extra key names scrubbed from error events.
    pub scrub_fields: Vec<String>,
    /// Error events accepted per minute.
    pub error_events_per_minute: i32,
    /// Numeric ingestion id (Sentry DSN project segment): the DSN is
    /// `https://{ingest_key}@{beacon host}/{ingest_id}`.
    pub ingest_id: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Erasure requested: the project and its data are erased after this time unless an owner
    /// cancels (`POST …/erasure/cancel`).
    pub erase_after: Option<DateTime<Utc>>,
}

fn project_out(p: ProjectWithDomains) -> ProjectOut {
    ProjectOut {
        id: p.project.project_id,
        org_id: p.project.org_id,
        name: p.project.name,
        domains: p.domains,
        timezone: p.project.timezone,
        ingest_key: p.project.ingest_key,
        ingest_id: p.project.ingest_id,
        salt_rotation_hours: p.project.salt_rotation_hours,
        retention_days: p.project.retention_days,
        scrub_fields: p.project.scrub_fields,
        error_events_per_minute: p.project.error_events_per_minute,
        created_at: p.project.created_at,
        erase_after: p.project.erase_after,
    }
}

/// A project's fields as its audit records show them (before and after a change).
fn audited_fields(p: &ProjectWithDomains) -> serde_json::Value {
    json!({
        "name": p.project.name,
        "domains": p.domains,
        "timezone": p.project.timezone,
        "salt_rotation_hours": p.project.salt_rotation_hours,
        "retention_days": p.project.retention_days,
        "scrub_fields": p.project.scrub_fields,
        "error_events_per_minute": p.project.error_events_per_minute,
    })
}

/// Trims scrub field names; each must have 1 to 64 characters.
fn clean_scrub_fields(fields: &[Text]) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for field in fields {
        let field = field.trim();
        if field.is_empty() || field.chars().count() > 64 {
            return Err(ApiError::invalid(
                ProblemKind::InvalidValue,
                "scrub field names must have 1 to 64 characters",
            ));
        }
        if !out.iter().any(|f| f.eq_ignore_ascii_case(field)) {
            out.push(field.to_owned());
        }
    }
    Ok(out)
}

/// One host name, normalized (lower case, no trailing dot), or `invalid_domain`.
pub fn clean_domain(raw: &str) -> ApiResult<String> {
    tenant::hostname::normalize(raw).ok_or_else(|| {
        ApiError::invalid(
            ProblemKind::InvalidDomain,
            format!("{raw:?} is not a host name like example.com (no scheme, path or port)"),
        )
    })
}

/// Normalizes domains: lower-case host names, no scheme, path or port; no duplicates.
pub fn clean_domains(domains: &[impl AsRef<str>]) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in domains {
        let domain = clean_domain(raw.as_ref())?;
        if !out.contains(&domain) {
            out.push(domain);
        }
    }
    if out.is_empty() || out.len() > MAX_DOMAINS {
        return Err(ApiError::invalid(
            ProblemKind::InvalidDomain,
            "give 1 to 20 domains",
        ));
    }
    Ok(out)
}

async fn check_timezone(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    tz: &str,
) -> ApiResult<()> {
    let plausible = !tz.is_empty()
        && tz
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '-'));
    if !plausible || !projects::timezone_exists(conn, tz).await? {
        return Err(ApiError::invalid(
            ProblemKind::InvalidTimezone,
            format!("{tz:?} is not an IANA time zone such as Europe/Berlin or UTC"),
        ));
    }
    Ok(())
}

fn domain_taken() -> ApiError {
    ApiError::conflict(
        ProblemKind::DomainTaken,
        "one of these domains already belongs to a project",
    )
}

/// Project operations.
#[derive(Default)]
pub struct ProjectsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Projects")]
impl ProjectsApi {
    /// Projects of the organization (for a key limited to projects: those).
    #[oai(
        path = "/:org_id/projects",
        method = "get",
        operation_id = "list_projects"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        cursor: Query<Option<String>>,
        limit: Query<Option<i64>>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<Page<ProjectOut>>> {
        let org_id = scope.org();
        let access = scope.access.clone();
        let after = parse_cursor(cursor.as_deref())?;
        let only = access.project_ids.clone();
        let rows = scope
            .run(async |conn| {
                Ok::<_, DbError>(
                    projects::list(conn, org_id, only.as_deref(), after, fetch_size(*limit))
                        .await?,
                )
            })
            .await?;
        Ok(Json(Page::of(
            rows,
            *limit,
            |p| p.project.project_id,
            project_out,
        )))
    }

    /// Create a project.
    #[oai(
        path = "/:org_id/projects",
        method = "post",
        operation_id = "create_project"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<ProjectIn>,
        scope: OrgScope<Member>,
    ) -> ApiResult<Created<ProjectOut>> {
        let org_id = scope.org();
        let access = scope.access.clone();
        if access.project_ids.is_some() {
            return Err(ApiError::forbidden(
                "an API key limited to projects cannot create projects",
            ));
        }
        let name = clean_name(&body.name)?;
        let domains = clean_domains(&body.domains)?;
        let timezone = body.timezone.trim().to_owned();
        let entitlements = scope.entitlements.clone();
        let project = scope
            .run(async |conn| {
                check_timezone(conn, &timezone).await?;
                gates::ensure_room(conn, org_id, &entitlements, Limit::Projects).await?;
                let project = match projects::create(conn, org_id, &name, &timezone, &domains).await
                {
                    Err(error) if is_unique_violation(&error) => return Err(domain_taken()),
                    other => other?,
                };
                let entry = Entry::new(Action::ProjectCreated, project.project.project_id)
                    .with(Changes::created(audited_fields(&project)));
                audit::record(conn, org_id, entry).await?;
                Ok(project)
            })
            .await?;
        Ok(Created::Created(Json(project_out(project))))
    }

    /// One project.
    #[oai(
        path = "/:org_id/projects/:project_id",
        method = "get",
        operation_id = "get_project"
    )]
    async fn get(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        project_id: Path<Uuid>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<ProjectOut>> {
        let org_id = scope.org();
        let access = scope.access.clone();
        if !access.can_see_project(*project_id) {
            return Err(ApiError::not_found("project"));
        }
        let project = scope
            .run(async |conn| {
                Ok::<_, DbError>(
                    projects::find(conn, org_id, ProjectId::from_uuid(*project_id)).await?,
                )
            })
            .await?
            .ok_or_else(|| ApiError::not_found("project"))?;
        Ok(Json(project_out(project)))
    }

    /// Change a project's name, domains or time zone (members), or its salt rotation or
    /// retention (admins).
    #[oai(
        path = "/:org_id/projects/:project_id",
        method = "patch",
        operation_id = "update_project"
    )]
    async fn update(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<ProjectPatch>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<ProjectOut>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        // Retention deletes data and the salt rotation decides how much visitors can be
        // linked: admins only. Name, domains and time zone: members.
        // What personal data error events keep, and how many are taken: admins too.
        if body.retention_days.is_some()
            || body.salt_rotation_hours.is_some()
            || body.scrub_fields.is_some()
            || body.error_events_per_minute.is_some()
        {
            scope.access.require(Need::Admin)?;
        }
        if let Some(days) = body.retention_days {
            scope.entitlements.check_retention(days)?;
        }
        let name = body.name.as_deref().map(clean_name).transpose()?;
        let domains = body.domains.as_deref().map(clean_domains).transpose()?;
        let timezone = body.timezone.as_deref().map(|tz| tz.trim().to_owned());
        let scrub_fields = body
            .scrub_fields
            .as_deref()
            .map(clean_scrub_fields)
            .transpose()?;
        let project = scope
            .run(async |conn| {
                if let Some(tz) = &timezone {
                    check_timezone(conn, tz).await?;
                }
                let before = projects::find(conn, org_id, project_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("project"))?;
                let changes = projects::ProjectChanges {
                    name: name.clone(),
                    timezone: timezone.clone(),
                    salt_rotation_hours: body.salt_rotation_hours,
                    retention_days: body.retention_days,
                    scrub_fields: scrub_fields.clone(),
                    error_events_per_minute: body.error_events_per_minute,
                };
                if !projects::update(conn, org_id, project_id, &changes).await? {
                    return Err(ApiError::not_found("project"));
                }
                if let Some(domains) = &domains {
                    match projects::replace_domains(conn, org_id, project_id, domains).await {
                        Err(error) if is_unique_violation(&error) => return Err(domain_taken()),
                        other => drop(other?),
                    }
                }
                let after = projects::find(conn, org_id, project_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("project"))?;
                let changes = Changes::diff(&audited_fields(&before), &audited_fields(&after));
                if !changes.is_empty() {
                    let entry = Entry::new(Action::ProjectUpdated, project_id).with(changes);
                    audit::record(conn, org_id, entry).await?;
                }
                Ok(after)
            })
            .await?;
        Ok(Json(project_out(project)))
    }

    /// Erase a project and all its data (owners; the project's name must be typed): the
    /// erasure happens after a seven-day window in which an owner can cancel it
    /// (`POST …/erasure/cancel`).
    #[oai(
        path = "/:org_id/projects/:project_id",
        method = "delete",
        operation_id = "delete_project"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        project_id: Path<Uuid>,
        body: Json<DeleteProjectIn>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<ProjectErasureResponse> {
        let org_id = scope.org();
        let user = scope.caller.user()?;
        if !scope.access.can_see_project(*project_id) {
            return Err(ApiError::not_found("project"));
        }
        let project_id = ProjectId::from_uuid(*project_id);
        let confirm = body.confirm_name.clone();
        let erase_after = state.clock.now() + chrono::Duration::days(ERASURE_UNDO_DAYS);
        let project = scope
            .run(async |conn| {
                let project = projects::find(conn, org_id, project_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("project"))?;
                if project.project.name != *confirm {
                    return Err(ApiError::invalid(
                        ProblemKind::ConfirmationMismatch,
                        "confirm_name must equal the project's name exactly",
                    ));
                }
                if project.project.erase_after.is_some() {
                    return Ok(project);
                }
                projects::request_erasure(conn, org_id, project_id, erase_after, user).await?;
                let entry = Entry::new(Action::ProjectErasureRequested, project_id)
                    .with(Changes::default().set("erase_after", json!(null), json!(erase_after)));
                audit::record(conn, org_id, entry).await?;
                projects::find(conn, org_id, project_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("project"))
            })
            .await?;
        Ok(ProjectErasureResponse::Accepted(Json(project_out(project))))
    }

    /// Cancel a project's pending erasure (owners; refused with 402 when the plan's project
    /// limit has no room for it any more).
    #[oai(
        path = "/:org_id/projects/:project_id/erasure/cancel",
        method = "post",
        operation_id = "cancel_project_erasure"
    )]
    async fn cancel_erasure(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        scope: ProjectScope<Owner>,
    ) -> ApiResult<Json<ProjectOut>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let before = scope.project.erase_after;
        let entitlements = scope.entitlements.clone();
        let project = scope
            .run(async |conn| {
                // A project pending erasure does not count against the plan: it must fit again.
                if before.is_some() {
                    gates::ensure_room(conn, org_id, &entitlements, Limit::Projects).await?;
                }
                if !projects::cancel_erasure(conn, org_id, project_id).await? {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        "no erasure is pending",
                    ));
                }
                let entry = Entry::new(Action::ProjectErasureCancelled, project_id)
                    .with(Changes::default().set("erase_after", json!(before), json!(null)));
                audit::record(conn, org_id, entry).await?;
                projects::find(conn, org_id, project_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("project"))
            })
            .await?;
        Ok(Json(project_out(project)))
    }
}

/// Days between a project's erasure request and its erasure.
pub const ERASURE_UNDO_DAYS: i64 = 7;

/// Confirms erasing a project.
#[derive(Debug, Object)]
pub struct DeleteProjectIn {
    /// The project's name, exactly.
    #[oai(validator(max_length = 200))]
    pub confirm_name: Text,
}

/// A project erasure request's answer.
#[derive(ApiResponse)]
pub enum ProjectErasureResponse {
    /// The erasure is scheduled: `erase_after` says when.
    #[oai(status = 202)]
    Accepted(Json<ProjectOut>),
}
