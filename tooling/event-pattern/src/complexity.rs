//! AWS's "Rule is too complex": too many wildcards on one field.
//!
//! EventBridge measures a rule's wildcard values by its engine's machine
//! complexity and refuses it above a limit it does not publish. The model
//! here (the crate's header gives the answers it agrees with): per field,
//! the distinct prefixes that end in a `*` among all its wildcard values
//! (values sharing a prefix share its `*`), refused at five or more.

use std::collections::{BTreeMap, BTreeSet};

use crate::matching::{Exclusion, Field, Filter, Node, Wildcard};
use crate::parse::join;
use crate::{PatternError, Problem};

/// Distinct wildcard prefixes one field may hold.
const LIMIT: usize = 4;

const AWS_REASON: &str = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";

pub(crate) fn check(root: &Node) -> Result<(), PatternError> {
    let mut prefixes = BTreeMap::new();
    collect(root, "", &mut prefixes);
    match prefixes.into_iter().find(|(_, set)| set.len() > LIMIT) {
        None => Ok(()),
        Some((path, set)) => Err(Problem::TooComplex {
            path,
            count: set.len(),
            limit: LIMIT,
        }
        .aws(AWS_REASON)),
    }
}

fn collect(node: &Node, path: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
    for (key, field) in &node.fields {
        let path = join(path, key);
        match field {
            Field::Object(inner) => collect(inner, &path, out),
            Field::Leaf(filters) => {
                let set = out.entry(path).or_default();
                filters.iter().flat_map(wildcards).for_each(|w| add(w, set));
            }
        }
    }
    for alternative in &node.any_of {
        collect(alternative, path, out);
    }
}

fn wildcards(filter: &Filter) -> Vec<&Wildcard> {
    match filter {
        Filter::Wildcard(wildcard) => vec![wildcard],
        Filter::AnythingBut(Exclusion::Wildcards(wildcards)) => wildcards.iter().collect(),
        _ => Vec::new(),
    }
}

/// Each prefix of `wildcard` that ends at one of its `*`s.
fn add(wildcard: &Wildcard, set: &mut BTreeSet<String>) {
    let mut prefix = String::new();
    for run in &wildcard.runs[..wildcard.runs.len() - 1] {
        prefix.push_str(run);
        prefix.push('*');
        set.insert(prefix.clone());
    }
}
