//! An organization's e-mail domains: claimed by an admin, proved with a DNS TXT record
//! (`beacon-verification=<token>` on the domain), checked on demand and by the hourly domain
//! job. A domain is verified by one organization at most. Verified domains are what single
//! sign-on sends people to their identity provider by, and what settles a project-domain
//! dispute: a site domain under a verified domain can be taken over from another
//! organization's project (whose owners are told).

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenant::DbError;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::org_domains::{self, OrgDomain};
use uuid::Uuid;
use worker::dns::Checked;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::pagination::Page;
use crate::routes::projects::clean_domain;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Admin, OrgScope, ProjectScope};
use crate::state::AppState;

/// A domain to claim.
#[derive(Debug, Object)]
pub struct DomainIn {
    /// The e-mail domain, such as `example.com`.
    #[oai(validator(max_length = 253))]
    pub domain: Text,
}

/// A claimed domain and how to prove it.
#[derive(Debug, Object)]
pub struct DomainOut {
    /// The domain.
    pub domain: String,
    /// Whether its DNS proof was found.
    pub verified: bool,
    /// When it was found.
    pub verified_at: Option<DateTime<Utc>>,
    /// Where the TXT record goes (the domain itself).
    pub txt_name: String,
    /// The TXT record's value.
    pub txt_value: String,
    /// Last check.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Why the last check failed.
    pub last_error: Option<String>,
}

fn domain_out(domain: OrgDomain) -> DomainOut {
    DomainOut {
        txt_value: domain.txt_value(),
        txt_name: domain.domain.clone(),
        verified: domain.verified_at.is_some(),
        verified_at: domain.verified_at,
        last_checked_at: domain.last_checked_at,
        last_error: domain.last_error,
        domain: domain.domain,
    }
}

/// A site domain taken over into a project.
#[derive(Debug, Object)]
pub struct TakenOverOut {
    /// The site domain.
    pub domain: String,
    /// The project it now belongs to.
    pub project_id: Uuid,
    /// The verified domain that proved control of it.
    pub proved_by: String,
    /// Whether another organization's project held it (its owners are told by e-mail).
    pub taken_from_another_organization: bool,
}

/// Domain operations.
#[derive(Default)]
pub struct DomainsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Organizations")]
impl DomainsApi {
    /// The organization's e-mail domains and their proofs (admins).
    #[oai(
        path = "/:org_id/domains",
        method = "get",
        operation_id = "list_domains"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<Page<DomainOut>>> {
        let org = scope.org();
        let domains = scope
            .run(async |conn| Ok::<_, DbError>(org_domains::list(conn, org).await?))
            .await?;
        Ok(Json(Page {
            items: domains.into_iter().map(domain_out).collect(),
            next_cursor: None,
        }))
    }

    /// Claim an e-mail domain (admins): the answer says which TXT record proves it. Publish
    /// it, then ask for a check (`POST …/domains/{domain}/verify`); Beacon also checks every
    /// hour.
    #[oai(
        path = "/:org_id/domains",
        method = "post",
        operation_id = "add_domain"
    )]
    async fn add(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<DomainIn>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Created<DomainOut>> {
        let org = scope.org();
        let domain = clean_domain(&body.domain)?;
        let claim = scope
            .run(async |conn| {
                let claim = org_domains::add(conn, org, &domain).await?.ok_or_else(|| {
                    ApiError::conflict(
                        ProblemKind::Conflict,
                        format!("{domain} is already claimed by this organization"),
                    )
                })?;
                audit::record(conn, org, Entry::new(Action::DomainAdded, &domain)).await?;
                Ok::<_, ApiError>(claim)
            })
            .await?;
        Ok(Created::Created(Json(domain_out(claim))))
    }

    /// Check a domain's DNS proof now (admins): the domain when it is verified; 422
    /// `domain_not_verified`, saying what DNS answered, when it is not; 409 `domain_taken` when
    /// another organization verified it first.
    #[oai(
        path = "/:org_id/domains/:domain/verify",
        method = "post",
        operation_id = "verify_domain"
    )]
    async fn verify(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        domain: Path<String>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<DomainOut>> {
        let org = scope.org();
        let actor = scope.actor();
        let domain = clean_domain(&domain)?;
        // Access is checked; the DNS lookup holds no transaction.
        scope.run(async |_| Ok::<_, ApiError>(())).await?;
        let checked = worker::dns::check_claim(
            &state.db,
            &state.dns,
            &actor,
            org,
            &domain,
            state.clock.now(),
        )
        .await?;
        match checked {
            Checked::Missing => Err(ApiError::not_found("domain")),
            Checked::Taken => Err(ApiError::conflict(
                ProblemKind::DomainTaken,
                format!("{domain} is verified by another organization"),
            )),
            Checked::Done(stored, Ok(())) => Ok(Json(domain_out(stored))),
            Checked::Done(_, Err(why)) => {
                Err(ApiError::invalid(ProblemKind::DomainNotVerified, why))
            }
        }
    }

    /// Drop a domain claim (admins).
    #[oai(
        path = "/:org_id/domains/:domain",
        method = "delete",
        operation_id = "remove_domain"
    )]
    async fn remove(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        domain: Path<String>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<NoContent> {
        let org = scope.org();
        let domain = clean_domain(&domain)?;
        let removed = scope
            .run(async |conn| {
                let removed = org_domains::remove(conn, org, &domain).await?;
                if removed {
                    audit::record(conn, org, Entry::new(Action::DomainRemoved, &domain)).await?;
                }
                Ok::<_, DbError>(removed)
            })
            .await?;
        if !removed {
            return Err(ApiError::not_found("domain"));
        }
        Ok(NoContent::NoContent)
    }

    /// Take a site domain into this project by DNS proof (admins): the organization must have
    /// verified the domain or a parent domain (422 `domain_not_verified` otherwise). A project
    /// of another organization that claimed it without proof loses it, and that
    /// organization's owners are told by e-mail. Event routing follows within a minute.
    #[oai(
        path = "/:org_id/projects/:project_id/domains/:domain/take-over",
        method = "post",
        operation_id = "take_over_project_domain"
    )]
    async fn take_over(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        domain: Path<String>,
        scope: ProjectScope<Admin>,
    ) -> ApiResult<Json<TakenOverOut>> {
        let org = scope.org();
        let project = scope.project_id();
        let domain = clean_domain(&domain)?;
        let out = scope
            .run(async |conn| {
                let proof = org_domains::verified_cover(conn, org, &domain)
                    .await?
                    .ok_or_else(|| {
                        ApiError::invalid(
                            ProblemKind::DomainNotVerified,
                            format!(
                                "verify {domain} (or a parent domain) under Settings → Verified \
                                 domains first: its DNS TXT record is the proof"
                            ),
                        )
                    })?;
                let previous = tenant::tables::projects::take_over_domain(conn, project, &domain).await?;
                let other = previous.filter(|previous| *previous != org.uuid());
                let changes = Changes::default().set(
                    "domain",
                    serde_json::Value::Null,
                    serde_json::json!({"domain": domain, "proved_by": proof, "from_another_organization": other.is_some()}),
                );
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::ProjectDomainTakenOver, project).with(changes),
                )
                .await?;
                if let Some(loser) = other {
                    let job = worker::Job::SendDomainLostNotice(worker::jobs::SendDomainLostNotice {
                        org_id: loser,
                        domain: domain.clone(),
                    });
                    worker::queue::enqueue(conn, &job).await?;
                }
                Ok::<_, ApiError>(TakenOverOut {
                    domain: domain.clone(),
                    project_id: project.uuid(),
                    proved_by: proof,
                    taken_from_another_organization: other.is_some(),
                })
            })
            .await?;
        Ok(Json(out))
    }
}
