//! `/scim/v2/Groups`: the identity provider's groups. A group's display name is what the SSO
//! group mapping turns into a role, so a change of members or name moves the roles of the
//! people concerned in the same request.

use std::collections::HashMap;

use poem::http::StatusCode;
use poem::web::{Path, Query};
use poem::{Body, Request, Response, handler};
use serde_json::{Map, Value, json};
use tenant::OrgId;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::diesel_async::AsyncPgConnection;
use tenant::tables::scim::{self, ScimGroup};
use uuid::Uuid;

use crate::scim::provision;
use crate::scim::resource::{GroupInput, ListParams, group_input, group_out};
use crate::scim::{Client, ScimError, authenticate, json_body, scim_json};
use crate::state::AppState;

fn parse_id(id: &str) -> Result<Uuid, ScimError> {
    Uuid::try_parse(id).map_err(|_| ScimError::not_found("group"))
}

async fn answer(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    row: &ScimGroup,
    base: &str,
) -> Result<Value, ScimError> {
    let members = scim::members(conn, org, row.group_id).await?;
    Ok(group_out(row, &members, base))
}

/// One page of resources matching `params`' filter, and their total.
async fn fetch(
    state: &AppState,
    client: &Client,
    params: &ListParams,
    offset: i64,
    count: i64,
) -> Result<(Vec<Value>, i64), ScimError> {
    let name = params.filter_on(&["displayname"])?.map(|(_, value)| value);
    let org = client.org;
    state
        .db
        .scoped(org, async |conn| {
            let (rows, total) = scim::groups(conn, org, name, offset, count).await?;
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

/// `GET /Groups` (`filter=displayName eq "…"`).
#[handler]
pub async fn list(
    req: &Request,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    list_with(state, &client, &ListParams::from_query(&query)?).await
}

/// `POST /Groups/.search`.
#[handler]
pub async fn search(req: &Request, body: Body) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let params = ListParams::from_search(&json_body(body).await?)?;
    list_with(state, &client, &params).await
}

/// `GET /Groups/{id}`.
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
            let row = scim::group(conn, org, id)
                .await?
                .ok_or_else(|| ScimError::not_found("group"))?;
            answer(conn, org, &row, &client.base).await
        })
        .await?;
    Ok(scim_json(StatusCode::OK, &params.project(resource)))
}

/// Stores `input` as group `id` (new or replaced), its members, and the roles they move to.
async fn store(
    conn: &mut AsyncPgConnection,
    client: &Client,
    id: Uuid,
    before: Option<&ScimGroup>,
    input: &GroupInput,
) -> Result<Value, ScimError> {
    let org = client.org;
    let row = scim::save_group(
        conn,
        org,
        id,
        &input.display_name,
        input.external_id.as_deref(),
        &input.resource,
    )
    .await?
    .ok_or_else(|| ScimError::uniqueness("displayName is taken"))?;
    let (was, now) = scim::set_members(conn, org, id, &input.members).await?;
    let after =
        json!({"displayName": row.display_name, "externalId": row.external_id, "members": now});
    let (action, changes) = match before {
        None => (Action::ScimGroupCreated, Changes::created(after)),
        Some(before) => (
            Action::ScimGroupUpdated,
            Changes::diff(
                &json!({"displayName": before.display_name, "externalId": before.external_id, "members": was}),
                &after,
            ),
        ),
    };
    if before.is_none() || !changes.is_empty() {
        audit::record(conn, org, Entry::new(action, id).with(changes)).await?;
    }
    // Everyone whose groups changed, or whose group was renamed, gets their role again.
    let renamed = before.is_some_and(|b| b.display_name != row.display_name);
    let mut touched: Vec<Uuid> = if renamed {
        was.iter().chain(now.iter()).copied().collect()
    } else {
        was.iter()
            .filter(|u| !now.contains(u))
            .chain(now.iter().filter(|u| !was.contains(u)))
            .copied()
            .collect()
    };
    touched.sort();
    touched.dedup();
    for scim_id in touched {
        provision::sync(conn, org, scim_id).await?;
    }
    answer(conn, org, &row, &client.base).await
}

/// `POST /Groups`.
#[handler]
pub async fn create(req: &Request, body: Body) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let input = group_input(json_body(body).await?)?;
    let org = client.org;
    let id = Uuid::now_v7();
    let resource = state
        .db
        .scoped_as_for(org, &client.actor(), &client.context, async |conn| {
            store(conn, &client, id, None, &input).await
        })
        .await?;
    Ok(crate::scim::created(&resource))
}

/// `PUT /Groups/{id}`.
#[handler]
pub async fn replace(
    req: &Request,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let id = parse_id(&id)?;
    let input = group_input(json_body(body).await?)?;
    let org = client.org;
    let resource = state
        .db
        .scoped_as_for(org, &client.actor(), &client.context, async |conn| {
            let before = scim::group(conn, org, id)
                .await?
                .ok_or_else(|| ScimError::not_found("group"))?;
            store(conn, &client, id, Some(&before), &input).await
        })
        .await?;
    Ok(scim_json(StatusCode::OK, &resource))
}

/// `PATCH /Groups/{id}` (members added and removed, the name replaced).
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
            let before = scim::group(conn, org, id)
                .await?
                .ok_or_else(|| ScimError::not_found("group"))?;
            let mut current = match &before.resource {
                Value::Object(object) => object.clone(),
                _ => Map::new(),
            };
            current.insert("displayName".into(), before.display_name.clone().into());
            if let Some(external) = &before.external_id {
                current.insert("externalId".into(), external.clone().into());
            }
            let members: Vec<Value> = scim::members(conn, org, id)
                .await?
                .into_iter()
                .map(|(user, _)| json!({"value": user.to_string()}))
                .collect();
            current.insert("members".into(), Value::Array(members));
            crate::scim::patch::apply(&mut current, &body)?;
            let input = group_input(Value::Object(current))?;
            store(conn, &client, id, Some(&before), &input).await
        })
        .await?;
    Ok(scim_json(StatusCode::OK, &resource))
}

/// `DELETE /Groups/{id}`: its members' roles are worked out without it.
#[handler]
pub async fn delete(req: &Request, Path(id): Path<String>) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let id = parse_id(&id)?;
    let org = client.org;
    state
        .db
        .scoped_as_for(org, &client.actor(), &client.context, async |conn| {
            let members = scim::members(conn, org, id).await?;
            if !scim::delete_group(conn, org, id).await? {
                return Err(ScimError::not_found("group"));
            }
            audit::record(conn, org, Entry::new(Action::ScimGroupDeleted, id)).await?;
            for (scim_id, _) in members {
                provision::sync(conn, org, scim_id).await?;
            }
            Ok(())
        })
        .await?;
    Ok(Response::builder().status(StatusCode::NO_CONTENT).finish())
}
