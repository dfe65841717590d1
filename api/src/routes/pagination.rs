//! Cursor pagination: every list answers with a [`Page`], whose `next_cursor` is passed back as
//! `?cursor=` for the next page. [`Page::of`] is the one keyset helper: the cursor is the last
//! row's position (its id, or its time and id), so pages stay stable while rows are added. The
//! issue list alone pages by offset, because it sorts by columns that change (`last_seen`,
//! event counts).

use poem_openapi::Object;
use tenant::problem::ProblemKind;
// By path, not imported: poem-openapi's `Type::is_empty` (always false for `&str`) would
// otherwise shadow `str::is_empty` on `&&str` receivers below.
use poem_openapi::types as oai;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Parses a `cursor` query parameter; an empty one (`?cursor=`) is the first page, as absent.
pub fn parse_cursor(cursor: Option<&str>) -> ApiResult<Option<Uuid>> {
    cursor
        .filter(|value| !value.is_empty())
        .map(|value| {
            Uuid::try_parse(value).map_err(|_| {
                ApiError::bad_request(ProblemKind::InvalidCursor, "the cursor is not valid")
            })
        })
        .transpose()
}

/// Fetch size for a requested `limit`: one more than the page, to learn whether more follow.
pub fn fetch_size(limit: Option<i64>) -> i64 {
    tenant::tables::page_size(limit) + 1
}

/// A page of a list: every list operation answers with one (`items`, and `next_cursor`, to pass
/// back as `?cursor=` for the next page; `null` on the last page).
#[derive(Debug, Object)]
pub struct Page<T: oai::Type + oai::ParseFromJSON + oai::ToJSON> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Cursor of the next page, if any.
    pub next_cursor: Option<String>,
}

impl<T: oai::Type + oai::ParseFromJSON + oai::ToJSON> Page<T> {
    /// The page of `fetched`, rows read with [`fetch_size`] (one more than the page, to learn
    /// whether more follow) in the list's order after the request's cursor: cut to the page
    /// size, each kept row made an item by `item`, and the next cursor read off the last kept
    /// row by `cursor` (keyset pagination: the cursor is the position, so pages stay stable
    /// while rows are added).
    pub fn of<R, C: ToString>(
        mut fetched: Vec<R>,
        limit: Option<i64>,
        cursor: impl Fn(&R) -> C,
        item: impl FnMut(R) -> T,
    ) -> Self {
        let page = usize::try_from(tenant::tables::page_size(limit)).unwrap_or(50);
        let more = fetched.len() > page;
        fetched.truncate(page);
        let next_cursor = more
            .then(|| fetched.last().map(|row| cursor(row).to_string()))
            .flatten();
        Self {
            items: fetched.into_iter().map(item).collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_cursor_is_the_first_page() {
        assert_eq!(parse_cursor(Some("")).unwrap(), None);
        assert_eq!(parse_cursor(None).unwrap(), None);
        assert!(parse_cursor(Some("nonsense")).is_err());
        let id = Uuid::now_v7();
        assert_eq!(parse_cursor(Some(&id.to_string())).unwrap(), Some(id));
    }
}
