//! `beacon seed --demo`: creates, or finds again, a demo user, organization, project and admin
//! API key, for scripts and for a first look. Everything goes through the same tenant scopes
//! as the API. The API key is new on every run (only its hash is stored, so an earlier one
//! cannot be shown again); earlier ones keep working.

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::secrets::hash_password;
use tenant::tables::memberships::{self, Role};
use tenant::tables::{api_keys, organizations, projects, users};
use tenant::{Actor, Db, DbError, OrgId, UserId};

/// Default demo account.
pub const DEMO_EMAIL: &str = "demo@beacon.local";
/// Default demo password (printed; this is a demo account).
pub const DEMO_PASSWORD: &str = "beacon-demo";
/// Default demo domain.
pub const DEMO_DOMAIN: &str = "demo.beacon.local";

/// What `seed --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Seeded {
    /// Sign-in e-mail.
    pub email: String,
    /// Sign-in password.
    pub password: String,
    /// Organization id.
    pub org_id: String,
    /// Project id.
    pub project_id: String,
    /// Project domain.
    pub domain: String,
    /// Admin API key (all scopes).
    pub api_key: String,
    /// Project ingestion key.
    pub ingest_key: String,
    /// Project numeric ingestion id.
    pub ingest_id: i64,
}

/// Creates or finds the demo data for `email` and `domain`.
pub async fn ensure_demo(
    db: &Db,
    email: &str,
    domain: &str,
    password: &str,
) -> anyhow::Result<Seeded> {
    let email = email.trim().to_lowercase();
    let domain = domain.trim().to_lowercase();
    let password_hash = {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await?
            .map_err(|e| anyhow::anyhow!("hashing the demo password: {e}"))?
    };
    let user = db
        .unscoped(async |conn| {
            let user = match users::find_by_email(conn, &email).await? {
                Some(user) => user,
                None => users::create(conn, &email, &password_hash)
                    .await?
                    .ok_or(diesel::result::Error::NotFound)?,
            };
            Ok::<_, DbError>(user)
        })
        .await?;
    let stored = user.password_hash.clone();
    let candidate = password.to_owned();
    let password_matches =
        tokio::task::spawn_blocking(move || tenant::secrets::verify_password(&candidate, &stored))
            .await?;
    if !password_matches {
        bail!("{email} already exists with another password; pass that one with --password");
    }
    // Only an account whose password we know is treated as the demo account.
    db.unscoped(async |conn| Ok::<_, DbError>(users::mark_verified(conn, user.id).await?))
        .await?;
    let user_id = UserId::from_uuid(user.id);
    let owned = db
        .user_scoped(user_id, async |conn| {
            Ok::<_, DbError>(organizations::list_for_user(conn, user_id, None, 200).await?)
        })
        .await?
        .into_iter()
        .find(|(_, role)| role == Role::Owner.as_str())
        .map(|(org, _)| org.org_id);
    let org = OrgId::from_uuid(owned.unwrap_or_else(|| OrgId::generate().uuid()));
    let org_id = org.uuid();
    let created = owned.is_none();
    let (project, api_key) = db
        .scoped_as(org, &Actor::System("seed"), async |conn| {
            if created {
                organizations::create(conn, org, "Demo organization").await?;
                memberships::upsert(conn, org, user_id, Role::Owner).await?;
                let entry = Entry::new(Action::OrganizationCreated, org)
                    .with(Changes::created(json!({"name": "Demo organization"})));
                audit::record(conn, org, entry).await?;
            }
            let existing = projects::list(conn, org, None, None, 200)
                .await?
                .into_iter()
                .find(|p| p.domains.contains(&domain));
            let project = match existing {
                Some(project) => project,
                None => {
                    // The built-in demo project gets synthetic traffic (`demo_traffic`): its
                    // name says so wherever it is shown.
                    let name = if domain == DEMO_DOMAIN {
                        "Demo site (synthetic traffic)"
                    } else {
                        "Demo site"
                    };
                    let project =
                        projects::create(conn, org, name, "UTC", std::slice::from_ref(&domain))
                            .await?;
                    let entry = Entry::new(Action::ProjectCreated, project.project.project_id)
                        .with(Changes::created(
                            json!({"name": name, "domains": [&domain]}),
                        ));
                    audit::record(conn, org, entry).await?;
                    project
                }
            };
            let scopes = ["admin", "ingest", "read", "write"].map(String::from);
            let (key, secret) = api_keys::create(
                conn,
                org,
                "demo (beacon seed)",
                &scopes,
                None,
                Some(user.id),
            )
            .await?;
            let entry = Entry::new(Action::ApiKeyCreated, key.key_id).with(
                Changes::created(json!({"name": key.name, "scopes": key.scopes})).secret("secret"),
            );
            audit::record(conn, org, entry).await?;
            Ok::<_, DbError>((project, secret))
        })
        .await
        .map_err(|error| match &error {
            DbError::Query(query) if tenant::tables::is_unique_violation(query) => anyhow::anyhow!(
                "the domain {domain} already belongs to another organization's project; \
                 pass a different --domain"
            ),
            _ => anyhow::Error::new(error),
        })?;
    Ok(Seeded {
        email,
        password: password.to_owned(),
        org_id: org_id.to_string(),
        project_id: project.project.project_id.to_string(),
        domain,
        api_key,
        ingest_key: project.project.ingest_key,
        ingest_id: project.project.ingest_id,
    })
}

/// Prints the seeded values, as one JSON object or as text.
pub fn print(seeded: &Seeded, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string(seeded).context("encoding seed output")?
        );
    } else {
        println!("Demo login:   {} / {}", seeded.email, seeded.password);
        println!("Organization: {}", seeded.org_id);
        println!("Project:      {} ({})", seeded.project_id, seeded.domain);
        println!("API key:      {}", seeded.api_key);
    }
    Ok(())
}
