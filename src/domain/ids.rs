//! Typed identifiers (UUID v7: time-ordered, so new rows land at the end of
//! B-tree indexes). They never leave the service: citizens and staff see
//! tracking codes and agency codes instead.

use std::fmt;

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered identifier.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A feedback item.
    FeedbackId
);
id_type!(
    /// An agency of the directory.
    AgencyId
);
id_type!(
    /// A field (lĩnh vực).
    FieldId
);
