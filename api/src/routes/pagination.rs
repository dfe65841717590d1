//! Cursor pagination: lists return `next_cursor`, passed back as `?cursor=` for the next page.
//! Cursors are the last item's id, so pages stay stable while rows are added.

use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Parses a `cursor` query parameter; an empty one (`?cursor=`) is the first page, as absent.
pub fn parse_cursor(cursor: Option<&str>) -> ApiResult<Option<Uuid>> {
    cursor
        .filter(|value| !value.is_empty())
        .map(|value| {
            Uuid::try_parse(value)
                .map_err(|_| ApiError::bad_request("invalid_cursor", "the cursor is not valid"))
        })
        .transpose()
}

/// Fetch size for a requested `limit`: one more than the page, to learn whether more follow.
pub fn fetch_size(limit: Option<i64>) -> i64 {
    tenant::tables::page_size(limit) + 1
}

/// Cuts `items` to the page size and computes the next cursor from the last kept item.
pub fn paginate<T>(
    mut items: Vec<T>,
    limit: Option<i64>,
    id: impl Fn(&T) -> Uuid,
) -> (Vec<T>, Option<String>) {
    let page = usize::try_from(tenant::tables::page_size(limit)).unwrap_or(50);
    let more = items.len() > page;
    items.truncate(page);
    let next = more
        .then(|| items.last().map(|item| id(item).to_string()))
        .flatten();
    (items, next)
}
