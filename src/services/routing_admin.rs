//! Keyword routing rules kept by an administrator: listed, added, changed,
//! deleted, exported and imported in `config/routing.toml`'s format, and
//! tried on a title and content (which rule fires and why, with the same
//! ranking the item page's suggestion uses). Every change is audited and
//! reaches every instance with the directory version.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Services;
use super::staff_items::StaffError;
use crate::domain::directory::AgencyFilter;
use crate::domain::feedback::FieldError;
use crate::domain::routing::{Candidate, ItemFacts, KeywordRule, Suggestion, parse_rules, suggest};
use crate::domain::staff::{Actor, Permission};
use crate::domain::text::fold_for_search;
use crate::domain::time::vietnam_date;
use crate::store::journal::AuditEntry;

/// At most this many rules (each is checked against every item's text).
pub const MAX_RULES: usize = 500;

/// A rule as listed.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub id: uuid::Uuid,
    pub words: Vec<String>,
    pub agency_code: String,
    pub agency_name: String,
    pub basis: String,
}

/// A rule as typed: words separated by commas (all must appear).
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub words: String,
    pub agency_code: String,
    pub basis: String,
}

/// What trying a text gives.
#[derive(Debug, Clone, Serialize)]
pub struct TryResult {
    pub suggestions: Vec<Suggestion>,
    /// The rules whose words all appear, whichever agency they name.
    pub matching_rules: Vec<RuleView>,
}

fn require(actor: &Actor) -> Result<(), StaffError> {
    super::staff_items::require(actor, Permission::ManageDirectory)
}

fn audit(
    actor: &Actor,
    action: &str,
    details: serde_json::Value,
    request_id: Option<String>,
) -> AuditEntry {
    AuditEntry::by_staff(&actor.username, action, details, request_id)
}

/// Every rule, in order.
pub async fn list(s: &Services, actor: &Actor) -> Result<Vec<RuleView>, StaffError> {
    require(actor)?;
    let directory = s.store.directory_snapshot().await?;
    Ok(s.store
        .routing_rules()
        .await?
        .into_iter()
        .map(|r| RuleView {
            id: r.id,
            agency_name: directory.agency_name_by_code(&r.rule.agency),
            agency_code: r.rule.agency,
            words: r.rule.words,
            basis: r.rule.basis,
        })
        .collect())
}

/// Checks a rule: words folded as the matcher folds text.
async fn check(s: &Services, input: &RuleInput) -> Result<KeywordRule, StaffError> {
    let directory = s.store.directory_snapshot().await?;
    let mut errors = Vec::new();
    let words: Vec<String> = input
        .words
        .split(',')
        .map(fold_for_search)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        errors.push(FieldError::new("words", "required"));
    } else if words.len() > 10 || words.iter().any(|w| w.chars().count() > 100) {
        errors.push(FieldError::new("words", "too_long"));
    }
    let code = input.agency_code.trim();
    match directory.agencies.get(code) {
        None => errors.push(FieldError::new(
            "agency_code",
            if code.is_empty() {
                "required"
            } else {
                "unknown_code"
            },
        )),
        Some(id) if !directory.agency_exists_on(*id, vietnam_date(Utc::now())) => {
            errors.push(FieldError::new("agency_code", "dissolved_agency"));
        }
        Some(_) => {}
    }
    let basis = input.basis.trim();
    if basis.is_empty() {
        errors.push(FieldError::new("basis", "required"));
    } else if basis.chars().count() > 500 {
        errors.push(FieldError::new("basis", "too_long"));
    }
    if errors.is_empty() {
        Ok(KeywordRule {
            words,
            agency: code.to_string(),
            basis: basis.to_string(),
        })
    } else {
        Err(StaffError::Invalid(errors))
    }
}

/// Adds a rule at the end.
pub async fn add(
    s: &Services,
    actor: &Actor,
    input: &RuleInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<uuid::Uuid, StaffError> {
    require(actor)?;
    let rule = check(s, input).await?;
    if s.store.routing_rules().await?.len() >= MAX_RULES {
        return Err(StaffError::Invalid(vec![FieldError::new(
            "words",
            "out_of_range",
        )]));
    }
    let entry = audit(
        actor,
        "directory.routing_rule_added",
        serde_json::json!({ "rule": rule }),
        request_id,
    );
    Ok(s.store
        .add_routing_rule(&rule, &actor.username, &entry, now)
        .await?)
}

/// Rewrites a rule.
pub async fn change(
    s: &Services,
    actor: &Actor,
    id: uuid::Uuid,
    input: &RuleInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    require(actor)?;
    let rule = check(s, input).await?;
    let before = s
        .store
        .routing_rules()
        .await?
        .into_iter()
        .find(|r| r.id == id);
    let Some(before) = before else {
        return Err(StaffError::NotFound);
    };
    let entry = audit(
        actor,
        "directory.routing_rule_changed",
        serde_json::json!({ "before": before.rule, "after": rule }),
        request_id,
    );
    if s.store
        .change_routing_rule(id, &rule, &actor.username, &entry, now)
        .await?
    {
        Ok(())
    } else {
        Err(StaffError::NotFound)
    }
}

/// Deletes a rule.
pub async fn delete(
    s: &Services,
    actor: &Actor,
    id: uuid::Uuid,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    require(actor)?;
    let before = s
        .store
        .routing_rules()
        .await?
        .into_iter()
        .find(|r| r.id == id);
    let Some(before) = before else {
        return Err(StaffError::NotFound);
    };
    let entry = audit(
        actor,
        "directory.routing_rule_deleted",
        serde_json::json!({ "rule": before.rule }),
        request_id,
    );
    if s.store.delete_routing_rule(id, &entry, now).await? {
        Ok(())
    } else {
        Err(StaffError::NotFound)
    }
}

/// The rules in `config/routing.toml`'s format.
pub async fn export(s: &Services, actor: &Actor) -> Result<String, StaffError> {
    require(actor)?;
    let mut out = String::from(
        "# Keyword routing rules exported from pakn: every word of a rule must\n# appear in an item's title or content (without diacritics or case).\n",
    );
    for r in s.store.routing_rules().await? {
        let words: Vec<String> = r.rule.words.iter().map(|w| toml_string(w)).collect();
        out.push_str(&format!(
            "\n[[keyword]]\nwords = [{}]\nagency = {}\nbasis = {}\n",
            words.join(", "),
            toml_string(&r.rule.agency),
            toml_string(&r.rule.basis)
        ));
    }
    Ok(out)
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Replaces every rule with a file's (checked whole: nothing changes if
/// one rule is wrong).
pub async fn import(
    s: &Services,
    actor: &Actor,
    text: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<usize, StaffError> {
    require(actor)?;
    let rules = parse_rules(text)
        .map_err(|_| StaffError::Invalid(vec![FieldError::new("file", "invalid")]))?;
    if rules.len() > MAX_RULES {
        return Err(StaffError::Invalid(vec![FieldError::new(
            "file",
            "out_of_range",
        )]));
    }
    let mut checked = Vec::with_capacity(rules.len());
    for r in &rules {
        let input = RuleInput {
            words: r.words.join(","),
            agency_code: r.agency.clone(),
            basis: r.basis.clone(),
        };
        checked.push(
            check(s, &input)
                .await
                .map_err(|_| StaffError::Invalid(vec![FieldError::new("file", "unknown_code")]))?,
        );
    }
    let entry = audit(
        actor,
        "directory.routing_rules_imported",
        serde_json::json!({ "rules": checked.len() }),
        request_id,
    );
    s.store
        .replace_routing_rules(&checked, &actor.username, &entry, now)
        .await?;
    Ok(checked.len())
}

/// Which agency the rules and the directory suggest for a text, and why.
pub async fn try_text(
    s: &Services,
    actor: &Actor,
    title: &str,
    content: &str,
) -> Result<TryResult, StaffError> {
    require(actor)?;
    let directory = s.store.directory_snapshot().await?;
    let agencies = s
        .store
        .list_agencies(&AgencyFilter::default(), vietnam_date(Utc::now()))
        .await?;
    let candidates: Vec<Candidate<'_>> = agencies
        .iter()
        .map(|a| Candidate {
            code: &a.code,
            name: &a.name,
            kind: &a.kind,
            province_code: a.province_code.as_deref(),
            commune_code: a.commune_code.as_deref(),
            field_codes: &a.field_codes,
        })
        .collect();
    let folded = fold_for_search(&format!("{title} {content}"));
    let rules: Vec<KeywordRule> = directory
        .routing_rules
        .iter()
        .map(|r| KeywordRule {
            agency: directory.current_code(&r.agency).to_string(),
            ..r.clone()
        })
        .collect();
    let facts = ItemFacts {
        folded_text: &folded,
        ..ItemFacts::default()
    };
    let receiving = directory
        .receiving_offices
        .get(&s.settings.province.code)
        .and_then(|id| directory.agency_code(Some(id.as_uuid())))
        .unwrap_or_default()
        .to_string();
    let suggestions = suggest(
        &facts,
        &candidates,
        &rules,
        &s.settings.province.code,
        &receiving,
    );
    let text = format!(" {folded} ");
    let matching_rules = s
        .store
        .routing_rules()
        .await?
        .into_iter()
        .filter(|r| {
            r.rule
                .words
                .iter()
                .all(|w| text.contains(&format!(" {w} ")))
        })
        .map(|r| RuleView {
            id: r.id,
            agency_name: directory.agency_name_by_code(&r.rule.agency),
            agency_code: r.rule.agency,
            words: r.rule.words,
            basis: r.rule.basis,
        })
        .collect();
    Ok(TryResult {
        suggestions,
        matching_rules,
    })
}
