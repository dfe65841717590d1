//! `projects` and `project_domains`: the sites and apps an organization tracks.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{OrgId, ProjectId};

use crate::schema::{events, funnels, project_domains, projects};

/// A project.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects)]
pub struct Project {
    /// Organization.
    pub org_id: Uuid,
    /// Id.
    pub project_id: Uuid,
    /// Display name.
    pub name: String,
    /// IANA time zone the dashboards use.
    pub timezone: String,
    /// Public ingestion key.
    pub ingest_key: String,
    /// Numeric ingestion id (Sentry DSN project segment).
    pub ingest_id: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// How long one visitor-id salt is used, in hours (1 to 720).
    pub salt_rotation_hours: i32,
    /// Days events are kept (1 to 3650).
    pub retention_days: i32,
    /// Extra key names scrubbed from error events.
    pub scrub_fields: Vec<String>,
    /// Error events accepted per minute.
    pub error_events_per_minute: i32,
    /// Key of the affected-users hash (random, never shown).
    pub error_user_key: Vec<u8>,
    /// Erasure requested: erased with its data after this time unless an owner cancels.
    pub erase_after: Option<DateTime<Utc>>,
}

/// Changes to a project's settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = projects)]
pub struct ProjectChanges {
    /// Display name.
    pub name: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Salt rotation period in hours.
    pub salt_rotation_hours: Option<i32>,
    /// Event retention in days.
    pub retention_days: Option<i32>,
    /// Extra scrubbed key names.
    pub scrub_fields: Option<Vec<String>>,
    /// Error events per minute.
    pub error_events_per_minute: Option<i32>,
}

impl ProjectChanges {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.timezone.is_none()
            && self.salt_rotation_hours.is_none()
            && self.retention_days.is_none()
            && self.scrub_fields.is_none()
            && self.error_events_per_minute.is_none()
    }
}

/// A project with its domains.
#[derive(Debug, Clone)]
pub struct ProjectWithDomains {
    /// The project.
    pub project: Project,
    /// Its domains, sorted.
    pub domains: Vec<String>,
}

/// Creates a project with its domains. A domain already used anywhere is a unique violation.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    name: &str,
    timezone: &str,
    domains: &[String],
) -> QueryResult<ProjectWithDomains> {
    let project = diesel::insert_into(projects::table)
        .values((
            projects::org_id.eq(org_id),
            projects::project_id.eq(Uuid::now_v7()),
            projects::name.eq(name),
            projects::timezone.eq(timezone),
            projects::ingest_key.eq(format!("pk_{}", Uuid::new_v4().simple())),
        ))
        .returning(Project::as_returning())
        .get_result(conn)
        .await?;
    let domains = replace_domains(
        conn,
        org_id,
        crate::ProjectId::from_uuid(project.project_id),
        domains,
    )
    .await?;
    crate::tables::project_salts::add(
        conn,
        org_id,
        crate::ProjectId::from_uuid(project.project_id),
    )
    .await?;
    Ok(ProjectWithDomains { project, domains })
}

/// Sets a project's domains to exactly `domains`.
pub async fn replace_domains(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    domains: &[String],
) -> QueryResult<Vec<String>> {
    diesel::delete(
        project_domains::table
            .filter(project_domains::org_id.eq(org_id))
            .filter(project_domains::project_id.eq(project_id)),
    )
    .execute(conn)
    .await?;
    let rows: Vec<_> = domains
        .iter()
        .map(|domain| {
            (
                project_domains::org_id.eq(org_id),
                project_domains::project_id.eq(project_id),
                project_domains::domain.eq(domain),
            )
        })
        .collect();
    diesel::insert_into(project_domains::table)
        .values(rows)
        .execute(conn)
        .await?;
    let mut sorted = domains.to_vec();
    sorted.sort();
    Ok(sorted)
}

/// One project with its domains.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
) -> QueryResult<Option<ProjectWithDomains>> {
    let project: Option<Project> = projects::table
        .find((org_id, project_id))
        .select(Project::as_select())
        .first(conn)
        .await
        .optional()?;
    match project {
        Some(project) => Ok(Some(with_domains(conn, vec![project]).await?.remove(0))),
        None => Ok(None),
    }
}

/// Projects ordered by id after `after`; `only` limits them to a set (API keys bound to
/// projects).
pub async fn list(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    only: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ProjectWithDomains>> {
    let mut query = projects::table
        .filter(projects::org_id.eq(org_id))
        .select(Project::as_select())
        .order(projects::project_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(projects::project_id.gt(after));
    }
    if let Some(only) = only {
        query = query.filter(projects::project_id.eq_any(only.to_vec()));
    }
    let projects = query.load(conn).await?;
    with_domains(conn, projects).await
}

async fn with_domains(
    conn: &mut AsyncPgConnection,
    projects: Vec<Project>,
) -> QueryResult<Vec<ProjectWithDomains>> {
    let ids: Vec<Uuid> = projects.iter().map(|p| p.project_id).collect();
    let domains: Vec<(Uuid, String)> = project_domains::table
        .filter(project_domains::project_id.eq_any(ids))
        .select((project_domains::project_id, project_domains::domain))
        .order(project_domains::domain)
        .load(conn)
        .await?;
    Ok(projects
        .into_iter()
        .map(|project| {
            let domains = domains
                .iter()
                .filter(|(id, _)| *id == project.project_id)
                .map(|(_, domain)| domain.clone())
                .collect();
            ProjectWithDomains { project, domains }
        })
        .collect())
}

/// Applies `changes`; false when the project does not exist.
pub async fn update(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    changes: &ProjectChanges,
) -> QueryResult<bool> {
    let target = projects::table.find((org_id, project_id));
    let rows = if changes.is_empty() {
        target.count().get_result::<i64>(conn).await? as usize
    } else {
        diesel::update(target).set(changes).execute(conn).await?
    };
    Ok(rows > 0)
}

/// Deletes a project and everything in it; false when it does not exist.
///
/// Most of its rows go by `ON DELETE CASCADE`, with two exceptions handled here, in the
/// caller's transaction. Funnels go first: a funnel step holds its goal (`ON DELETE RESTRICT`,
/// so a goal in use cannot be deleted alone), and the cascade from the project would reach the
/// goals before the steps. Events have no foreign key (its check on every ingested row made
/// batch inserts about 1.5 times as slow), so they are deleted last; the application role may
/// delete only events whose project is gone (migration `project_deletion`).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
) -> QueryResult<bool> {
    diesel::delete(
        funnels::table
            .filter(funnels::org_id.eq(org_id))
            .filter(funnels::project_id.eq(project_id)),
    )
    .execute(conn)
    .await?;
    let deleted = diesel::delete(projects::table.find((org_id, project_id)))
        .execute(conn)
        .await?
        > 0;
    if deleted {
        diesel::delete(
            events::table
                .filter(events::org_id.eq(org_id))
                .filter(events::project_id.eq(project_id)),
        )
        .execute(conn)
        .await?;
    }
    Ok(deleted)
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

/// Whether PostgreSQL knows the IANA time zone `name` (the same zone data the queries use).
pub async fn timezone_exists(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<bool> {
    let row: Exists = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS exists",
    )
    .bind::<diesel::sql_types::Text, _>(name)
    .get_result(conn)
    .await?;
    Ok(row.exists)
}

/// Where events for `domain` go: `(org_id, project_id)` (as `beacon_ingest`, which may read
/// every project's domains; the API never calls this).
pub async fn route_domain(
    conn: &mut AsyncPgConnection,
    domain: &str,
) -> QueryResult<Option<(Uuid, Uuid)>> {
    project_domains::table
        .filter(project_domains::domain.eq(domain))
        .select((project_domains::org_id, project_domains::project_id))
        .first(conn)
        .await
        .optional()
}

/// The project with the Sentry DSN id `ingest_id`, with its error settings (as
/// `beacon_ingest`, which may read every project; the API never calls this).
pub async fn route_ingest_id(
    conn: &mut AsyncPgConnection,
    ingest_id: i64,
) -> QueryResult<Option<Project>> {
    projects::table
        .filter(projects::ingest_id.eq(ingest_id))
        .select(Project::as_select())
        .first(conn)
        .await
        .optional()
}

/// The project of the scope's organization that collects for `domain`.
pub async fn find_by_domain(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    domain: &str,
) -> QueryResult<Option<Project>> {
    projects::table
        .inner_join(
            project_domains::table.on(project_domains::project_id
                .eq(projects::project_id)
                .and(project_domains::org_id.eq(projects::org_id))),
        )
        .filter(projects::org_id.eq(org_id))
        .filter(project_domains::domain.eq(domain))
        .select(Project::as_select())
        .first(conn)
        .await
        .optional()
}

/// Asks for the project's erasure after `erase_after` (by `by`); false when it does not exist.
pub async fn request_erasure(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    erase_after: DateTime<Utc>,
    by: crate::UserId,
) -> QueryResult<bool> {
    diesel::update(projects::table.find((org_id, project_id)))
        .set((
            projects::erase_after.eq(erase_after),
            projects::erasure_requested_by.eq(by),
        ))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Cancels a requested erasure; false when none was pending.
pub async fn cancel_erasure(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
) -> QueryResult<bool> {
    diesel::update(
        projects::table
            .find((org_id, project_id))
            .filter(projects::erase_after.is_not_null()),
    )
    .set((
        projects::erase_after.eq(None::<DateTime<Utc>>),
        projects::erasure_requested_by.eq(None::<Uuid>),
    ))
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Projects whose erasure is due at `now`, with their organization (the erasure job, on the
/// sweeper's connection, which reads projects for routing and maintenance).
pub async fn due_for_erasure(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<Vec<(OrgId, ProjectId)>> {
    projects::table
        .filter(projects::erase_after.le(now))
        .select((projects::org_id, projects::project_id))
        .load::<(Uuid, Uuid)>(conn)
        .await
        .map(|rows| {
            rows.into_iter()
                .map(|(org, project)| (OrgId::from_uuid(org), ProjectId::from_uuid(project)))
                .collect()
        })
}

/// Moves the site `domain` into `project` of the scope's organization, from whichever project
/// held it, when the organization has verified the domain or a parent domain
/// (`beacon_take_over_project_domain`, the one write that crosses tenants); answers the
/// organization that held it, if any.
pub async fn take_over_domain(
    conn: &mut AsyncPgConnection,
    project: crate::ProjectId,
    domain: &str,
) -> QueryResult<Option<Uuid>> {
    #[derive(QueryableByName)]
    struct Previous {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
        previous: Option<Uuid>,
    }
    let row: Previous =
        diesel::sql_query("SELECT beacon_take_over_project_domain($1, $2) AS previous")
            .bind::<diesel::sql_types::Text, _>(domain)
            .bind::<diesel::sql_types::Uuid, _>(project.uuid())
            .get_result(conn)
            .await?;
    Ok(row.previous)
}
