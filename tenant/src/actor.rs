//! Who is acting: the person, key or job on whose behalf a transaction changes data.
//!
//! Every tenant-scoped transaction opened for a request carries its actor in the
//! transaction-local setting `app.actor` (next to `app.org_id`), so anything written in that
//! transaction — an audit record, a `created_by` column, a trigger — can name who did it
//! without each handler passing it along.

use uuid::Uuid;

use crate::ids::UserId;

/// The caller a change is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in person.
    User(UserId),
    /// An organization API key.
    ApiKey(Uuid),
    /// An organization's SCIM client, by its token.
    ScimToken(Uuid),
    /// Beacon itself: a background job or a command, named.
    System(&'static str),
}

impl Actor {
    /// The value of `app.actor`: `user:<id>`, `api_key:<id>`, `scim_token:<id>` or
    /// `system:<name>`.
    pub fn setting(&self) -> String {
        match self {
            Self::User(user) => format!("user:{user}"),
            Self::ApiKey(key) => format!("api_key:{key}"),
            Self::ScimToken(token) => format!("scim_token:{token}"),
            Self::System(name) => format!("system:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_the_kind_and_the_id() {
        let id = Uuid::nil();
        assert_eq!(
            Actor::User(UserId::from_uuid(id)).setting(),
            format!("user:{id}")
        );
        assert_eq!(Actor::ApiKey(id).setting(), format!("api_key:{id}"));
        assert_eq!(Actor::System("rollup").setting(), "system:rollup");
    }
}
