//! `/scim/v2/Users`: the people the identity provider manages. A person with an e-mail address
//! (the primary one, or an e-mail `userName`) is linked to the Beacon account with that
//! address — an existing account only when the address is in one of the organization's
//! verified domains — or to a new one (no password; the address counts as verified when its
//! domain is). A person without an address is kept, unlinked, until one arrives. The account's
//! address stays what it was linked with; the provider's `userName` and `emails` are kept as
//! sent.

use std::collections::HashMap;

use poem::http::StatusCode;
use poem::web::{Path, Query};
use poem::{Body, Request, Response, handler};
use serde_json::{Map, Value};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::diesel_async::AsyncPgConnection;
use tenant::secrets::UNUSABLE_PASSWORD;
use tenant::tables::scim::{self, ScimUser, UserChange};
use tenant::tables::{org_domains, users};
use tenant::{OrgId, UserId};
use uuid::Uuid;

use crate::scim::provision;
use crate::scim::resource::{ListParams, UserInput, user_input, user_out};
use crate::scim::{Client, ScimError, authenticate, json_body, scim_json};
use crate::state::AppState;

fn parse_id(id: &str) -> Result<Uuid, ScimError> {
    Uuid::try_parse(id).map_err(|_| ScimError::not_found("user"))
}

async fn answer(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    row: &ScimUser,
    base: &str,
) -> Result<Value, ScimError> {
    let groups = scim::groups_of(conn, org, row.scim_id).await?;
    Ok(user_out(row, &groups, base))
}

/// One page of resources matching `params`' filter, and their total.
async fn fetch(
    state: &AppState,
    client: &Client,
    params: &ListParams,
    offset: i64,
    count: i64,
) -> Result<(Vec<Value>, i64), ScimError> {
    let filter = params.filter_on(&["username", "externalid"])?;
    let (user_name, external_id) = match filter {
        Some(("username", value)) => (Some(value), None),
        Some((_, value)) => (None, Some(value)),
        None => (None, None),
    };
    let org = client.org;
    state
        .db
        .scoped(org, async |conn| {
            let (rows, total) =
                scim::users(conn, org, user_name, external_id, offset, count).await?;
            let mut resources = Vec::with_capacity(rows.len());
            for row in &rows {
                resources.push(answer(conn, org, row, &client.base).await?);
            }
            Ok::<_, ScimError>((resources, total))
        })
        .await
}

async fn list_with(
    state: &AppState,
    client: &Client,
    params: &ListParams,
) -> Result<Response, ScimError> {
    let (resources, total) = fetch(state, client, params, params.offset, params.count).await?;
    Ok(scim_json(
        StatusCode::OK,
        &params.list_response(resources, total),
    ))
}

/// Every resource matching `params`' filter (up to a page's most), for the root `.search`.
pub async fn search_values(
    state: &AppState,
    client: &Client,
    params: &ListParams,
) -> Result<Vec<Value>, ScimError> {
    Ok(fetch(state, client, params, 0, crate::scim::MAX_RESULTS)
        .await?
        .0)
}

/// `GET /Users` (`filter=userName eq "…"` or `externalId eq "…"`, `startIndex`, `count`).
#[handler]
pub async fn list(
    req: &Request,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    list_with(state, &client, &ListParams::from_query(&query)?).await
}

/// `POST /Users/.search`.
#[handler]
pub async fn search(req: &Request, body: Body) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let params = ListParams::from_search(&json_body(body).await?)?;
    list_with(state, &client, &params).await
}

/// `GET /Users/{id}`.
#[handler]
pub async fn read(
    req: &Request,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let params = ListParams::from_query(&query)?;
    let id = parse_id(&id)?;
    let org = client.org;
    let resource = state
        .db
        .scoped(org, async |conn| {
            let row = scim::user(conn, org, id)
                .await?
                .ok_or_else(|| ScimError::not_found("user"))?;
            answer(conn, org, &row, &client.base).await
        })
        .await?;
    Ok(scim_json(StatusCode::OK, &params.project(resource)))
}

fn change(input: &UserInput, account: (Option<UserId>, bool)) -> UserChange<'_> {
    UserChange {
        user_id: account.0,
        created_account: account.1,
        user_name: &input.user_name,
        external_id: input.external_id.as_deref(),
        active: input.active,
        resource: &input.resource,
    }
}

async fn domain_verified(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    email: &str,
) -> Result<bool, ScimError> {
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    Ok(org_domains::find(conn, org, domain)
        .await?
        .is_some_and(|d| d.verified_at.is_some()))
}

/// The Beacon account for `email` (and whether this call created it): an existing account
/// only when its domain is verified here, and not one another managed person has.
async fn account(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    email: &str,
) -> Result<(Option<UserId>, bool), ScimError> {
    let verified = domain_verified(conn, org, email).await?;
    let (user_id, created) = match users::find_by_email(conn, email).await? {
        Some(_) if !verified => {
            return Err(ScimError::uniqueness(
                "a Beacon account with this address exists; verify its domain to manage it",
            ));
        }
        Some(user) => (user.id, false),
        None => {
            let user = users::create(conn, email, UNUSABLE_PASSWORD)
                .await?
                .ok_or_else(|| ScimError::uniqueness("the address was taken meanwhile"))?;
            (user.id, true)
        }
    };
    if verified {
        users::mark_verified(conn, user_id).await?;
    }
    let user = UserId::from_uuid(user_id);
    if scim::is_managed(conn, org, user).await? {
        return Err(ScimError::uniqueness(
            "a person with this address is already provisioned",
        ));
    }
    Ok((Some(user), created))
}

/// `POST /Users`.
#[handler]
pub async fn create(req: &Request, body: Body) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let input = user_input(json_body(body).await?)?;
    let org = client.org;
    let resource = state
        .db
        .scoped_as_for(org, &client.actor(), &client.context, async |conn| {
            let linked = match &input.email {
                Some(email) => account(conn, org, email).await?,
                None => (None, false),
            };
            let scim_id = Uuid::now_v7();
            let row = scim::insert_user(conn, org, scim_id, &change(&input, linked))
                .await?
                .ok_or_else(|| ScimError::uniqueness("userName is taken"))?;
            let recorded = Changes::created(Value::Object(Map::from_iter([
                ("userName".to_owned(), input.user_name.clone().into()),
                ("active".to_owned(), input.active.into()),
                ("account".to_owned(), linked.0.map(|u| u.to_string()).into()),
            ])));
            audit::record(
                conn,
                org,
                Entry::new(Action::ScimUserCreated, scim_id).with(recorded),
            )
            .await?;
            provision::sync(conn, org, scim_id).await?;
            answer(conn, org, &row, &client.base).await
        })
        .await?;
    Ok(crate::scim::created(&resource))
}

/// Replaces a managed person's resource with `input` (linking an account when an address
/// arrives) and brings the membership in line.
async fn store(
    conn: &mut AsyncPgConnection,
    client: &Client,
    before: &ScimUser,
    input: &UserInput,
) -> Result<Value, ScimError> {
    let org = client.org;
    let linked = match (before.user_id, &input.email) {
        (Some(user), _) => (Some(UserId::from_uuid(user)), before.created_account),
        (None, Some(email)) => account(conn, org, email).await?,
        (None, None) => (None, false),
    };
    let row = scim::update_user(conn, org, before.scim_id, &change(input, linked))
        .await?
        .ok_or_else(|| ScimError::uniqueness("userName is taken"))?;
    let changes = Changes::diff(
        &serde_json::json!({"userName": before.user_name, "active": before.active, "externalId": before.external_id, "resource": before.resource}),
        &serde_json::json!({"userName": row.user_name, "active": row.active, "externalId": row.external_id, "resource": row.resource}),
    );
    if !changes.is_empty() {
        audit::record(
            conn,
            org,
            Entry::new(Action::ScimUserUpdated, row.scim_id).with(changes),
        )
        .await?;
    }
    provision::sync(conn, org, row.scim_id).await?;
    answer(conn, org, &row, &client.base).await
}

/// `PUT /Users/{id}`.
#[handler]
pub async fn replace(
    req: &Request,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let id = parse_id(&id)?;
    let input = user_input(json_body(body).await?)?;
    let org = client.org;
    let resource = state
        .db
        .scoped_as_for(org, &client.actor(), &client.context, async |conn| {
            let before = scim::user(conn, org, id)
                .await?
                .ok_or_else(|| ScimError::not_found("user"))?;
            store(conn, &client, &before, &input).await
        })
        .await?;
    Ok(scim_json(StatusCode::OK, &resource))
}

/// `PATCH /Users/{id}`.
#[handler]
pub async fn patch(
    req: &Request,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let id = parse_id(&id)?;
    let body = json_body(body).await?;
    let org = client.org;
    let resource = state
        .db
        .scoped_as_for(org, &client.actor(), &client.context, async |conn| {
            let before = scim::user(conn, org, id)
                .await?
                .ok_or_else(|| ScimError::not_found("user"))?;
            let mut current = match &before.resource {
                Value::Object(object) => object.clone(),
                _ => Map::new(),
            };
            current.insert("userName".into(), before.user_name.clone().into());
            current.insert("active".into(), before.active.into());
            if let Some(external) = &before.external_id {
                current.insert("externalId".into(), external.clone().into());
            }
            crate::scim::patch::apply(&mut current, &body)?;
            let input = user_input(Value::Object(current))?;
            store(conn, &client, &before, &input).await
        })
        .await?;
    Ok(scim_json(StatusCode::OK, &resource))
}

/// `DELETE /Users/{id}`: the person leaves the organization now (sessions and keys revoked).
#[handler]
pub async fn delete(req: &Request, Path(id): Path<String>) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let id = parse_id(&id)?;
    let org = client.org;
    state
        .db
        .scoped_as_for(org, &client.actor(), &client.context, async |conn| {
            let row = scim::user(conn, org, id)
                .await?
                .ok_or_else(|| ScimError::not_found("user"))?;
            if let Some(user) = row.user_id {
                provision::leave(conn, org, UserId::from_uuid(user), row.created_account).await?;
            }
            scim::delete_user(conn, org, id).await?;
            audit::record(conn, org, Entry::new(Action::ScimUserDeleted, id)).await?;
            Ok::<_, ScimError>(())
        })
        .await?;
    Ok(Response::builder().status(StatusCode::NO_CONTENT).finish())
}
