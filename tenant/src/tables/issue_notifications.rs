//! `issue_notifications`: per project, which channels are told when an error issue is new or
//! regresses, and an hourly cap so a bad deploy that opens a hundred issues cannot flood them.
//! What the cap holds back is counted, and the first notice of the next hour says how many.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::issue_notifications as settings;
use crate::{OrgId, ProjectId};

/// A project's issue notification settings.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = settings)]
pub struct Settings {
    /// Tell of new issues.
    pub on_new: bool,
    /// Tell of regressions (a resolved issue seen again).
    pub on_regression: bool,
    /// Channels told.
    pub channel_ids: Vec<Uuid>,
    /// Most notices per hour.
    pub hourly_cap: i32,
    /// Start of the current hour's count.
    pub window_start: Option<DateTime<Utc>>,
    /// Notices sent since `window_start`.
    pub sent_in_window: i32,
    /// Notices the cap held back since `window_start`.
    pub held_back: i32,
}

/// What is saved of the settings (the counters are the server's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen<'a> {
    /// Tell of new issues.
    pub on_new: bool,
    /// Tell of regressions.
    pub on_regression: bool,
    /// Channels.
    pub channel_ids: &'a [Uuid],
    /// Most notices per hour.
    pub hourly_cap: i32,
}

/// The project's settings, if any were saved.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<Option<Settings>> {
    settings::table
        .find((org, project))
        .select(Settings::as_select())
        .first(conn)
        .await
        .optional()
}

/// Saves the project's settings.
pub async fn save(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    chosen: &Chosen<'_>,
) -> QueryResult<Settings> {
    let values = (
        settings::on_new.eq(chosen.on_new),
        settings::on_regression.eq(chosen.on_regression),
        settings::channel_ids.eq(chosen.channel_ids),
        settings::hourly_cap.eq(chosen.hourly_cap),
        settings::updated_at.eq(diesel::dsl::now),
    );
    diesel::insert_into(settings::table)
        .values((
            settings::org_id.eq(org),
            settings::project_id.eq(project),
            values,
        ))
        .on_conflict((settings::org_id, settings::project_id))
        .do_update()
        .set(values)
        .returning(Settings::as_returning())
        .get_result(conn)
        .await
}

/// Removes a channel from every project's settings (the channel is being deleted).
pub async fn forget_channel(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channel: Uuid,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE issue_notifications SET channel_ids = array_remove(channel_ids, $2) \
         WHERE org_id = $1 AND $2 = ANY (channel_ids)",
    )
    .bind::<diesel::sql_types::Uuid, _>(org.uuid())
    .bind::<diesel::sql_types::Uuid, _>(channel)
    .execute(conn)
    .await
    .map(drop)
}

/// Which notice an issue calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    /// The issue is new.
    New,
    /// A resolved issue was seen again.
    Regression,
}

/// A notice the cap lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// Channels to tell.
    pub channel_ids: Vec<Uuid>,
    /// Notices the cap held back in the hour before this one.
    pub held_back_before: i32,
}

/// Whether a notice for `occasion` goes out now, counting it against the hourly cap (under the
/// settings row's lock, so concurrent ingests count right). None: not wanted, or capped (and
/// counted as held back).
pub async fn admit(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    occasion: Occasion,
    now: DateTime<Utc>,
) -> QueryResult<Option<Admitted>> {
    let Some(current) = settings::table
        .find((org, project))
        .select(Settings::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let wanted = match occasion {
        Occasion::New => current.on_new,
        Occasion::Regression => current.on_regression,
    };
    if !wanted || current.channel_ids.is_empty() {
        return Ok(None);
    }
    let row = settings::table.find((org, project));
    let new_window = current
        .window_start
        .is_none_or(|start| now - start >= Duration::hours(1));
    if new_window {
        diesel::update(row)
            .set((
                settings::window_start.eq(now),
                settings::sent_in_window.eq(1),
                settings::held_back.eq(0),
            ))
            .execute(conn)
            .await?;
        return Ok(Some(Admitted {
            channel_ids: current.channel_ids,
            held_back_before: current.held_back,
        }));
    }
    if current.sent_in_window < current.hourly_cap {
        diesel::update(row)
            .set(settings::sent_in_window.eq(settings::sent_in_window + 1))
            .execute(conn)
            .await?;
        return Ok(Some(Admitted {
            channel_ids: current.channel_ids,
            held_back_before: 0,
        }));
    }
    diesel::update(row)
        .set(settings::held_back.eq(settings::held_back + 1))
        .execute(conn)
        .await?;
    Ok(None)
}
