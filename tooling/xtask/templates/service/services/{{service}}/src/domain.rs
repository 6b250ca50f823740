//! The {{service}} rules, pure: what a request may say and what a
//! {{item}} looks like to its owner. No I/O.

use chrono::{DateTime, Utc};
use kit::http_api::{Invalid, check_line};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::items::{{Item}};

pub const TITLE_MAX: usize = 200;

/// A new {{item}}, as the caller sends it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct {{Item}}Input {
    /// One line of text.
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
}

impl {{Item}}Input {
    pub fn validate(self) -> Result<Self, Invalid> {
        check_line("title", &self.title, TITLE_MAX)?;
        Ok(Self {
            title: self.title.trim().to_owned(),
        })
    }
}

/// A {{item}} as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct {{Item}}View {
    pub id: Uuid,
    pub title: String,
    pub created_at: DateTime<Utc>,
}

pub fn view(item: &{{Item}}) -> {{Item}}View {
    {{Item}}View {
        id: item.id,
        title: item.title.clone(),
        created_at: item.created_at,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct {{Item}}List {
    /// Newest first.
    pub items: Vec<{{Item}}View>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str) -> {{Item}}Input {
        {{Item}}Input {
            title: title.into(),
        }
    }

    #[test]
    fn a_title_is_trimmed_and_must_not_be_blank() {
        assert_eq!(input("  hello ").validate().unwrap().title, "hello");
        assert_eq!(input("   ").validate().unwrap_err().field, "title");
    }

    #[test]
    fn a_title_is_one_line_within_bounds() {
        assert!(input("a\nb").validate().is_err());
        assert!(input(&"x".repeat(TITLE_MAX + 1)).validate().is_err());
        assert!(input(&"x".repeat(TITLE_MAX)).validate().is_ok());
    }
}
