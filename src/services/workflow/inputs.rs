//! What each workflow action takes: one input type per action, each field
//! written once with what a form needs to ask for it (its label, kind and
//! whether it is required). The JSON API and the console's forms read the
//! same inputs with the same field names; the console draws its forms from
//! [`fields`], so a field cannot exist in one and not the other.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::feedback::FieldError;
use crate::domain::workflow::Action;

/// Where a choice field's options come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Choices {
    /// Phản ánh or kiến nghị.
    Kind,
    /// ND 20 Art. 5's content categories.
    ContentCategory,
    /// The directory's fields.
    Field,
    /// Agencies that exist today.
    Agency,
    /// The rejection reasons this actor may give this item now.
    RejectionReason,
    /// The agencies asked to contribute whose contribution is awaited.
    CoordinatingAgency,
    /// Why an answered item is not published.
    WithholdReason,
}

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text, at most `max` characters.
    Line { max: u32 },
    /// Several lines.
    Text { max: u32 },
    /// One of a list.
    Choice { from: Choices },
    /// A whole number.
    Number { min: i64, max: i64 },
}

/// One field of an action's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    #[serde(flatten)]
    pub kind: FieldKind,
    pub required: bool,
}

const fn line(name: &'static str, label: &'static str, max: u32, required: bool) -> FieldSpec {
    FieldSpec {
        name,
        label,
        kind: FieldKind::Line { max },
        required,
    }
}

const fn text(name: &'static str, label: &'static str, max: u32, required: bool) -> FieldSpec {
    FieldSpec {
        name,
        label,
        kind: FieldKind::Text { max },
        required,
    }
}

const fn choice(
    name: &'static str,
    label: &'static str,
    from: Choices,
    required: bool,
) -> FieldSpec {
    FieldSpec {
        name,
        label,
        kind: FieldKind::Choice { from },
        required,
    }
}

/// Declares an action's input: the struct serde reads (unknown fields
/// refused) and its form fields, from one list.
macro_rules! action_input {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty = $spec:expr),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The item's version the actor saw (compare-and-set).
            pub version: Option<i32>,
            $(pub $field: $ty,)*
        }

        impl $name {
            pub const FIELDS: &'static [FieldSpec] = &[$($spec),*];
        }
    };
}

action_input!(
    /// Judge the item against Decree 20.
    ClassifyInput {
        kind: Option<String> = choice("kind", "Loại", Choices::Kind, false),
        content_category: Option<String> = choice("content_category", "Nội dung (Điều 5 Nghị định 20)", Choices::ContentCategory, true),
        field_code: Option<String> = choice("field_code", "Lĩnh vực", Choices::Field, false),
        procedure_text: Option<String> = line("procedure_text", "Quy định, thủ tục hành chính liên quan", 500, false),
        procedure_code: Option<String> = line("procedure_code", "Mã thủ tục", 50, false),
    }
);

action_input!(
    /// Ask the submitter for what is missing.
    RequestInfoInput {
        message: Option<String> = text("message", "Nội dung đề nghị bổ sung", 2000, true),
    }
);

action_input!(
    /// What the submitter added by phone or in person.
    SupplementInput {
        text: Option<String> = text("text", "Thông tin bổ sung", 5000, true),
        note: Option<String> = text("note", "Ghi chú", 2000, false),
    }
);

action_input!(
    /// Not accepted, with a legal reason.
    RejectInput {
        reason_code: Option<String> = choice("reason_code", "Lý do không tiếp nhận", Choices::RejectionReason, true),
        note: Option<String> = text("note", "Ghi chú", 2000, false),
    }
);

action_input!(
    /// Send to the competent agency.
    ForwardInput {
        agency_code: Option<String> = choice("agency_code", "Cơ quan xử lý", Choices::Agency, true),
        note: Option<String> = text("note", "Ghi chú cho cơ quan", 2000, false),
    }
);

action_input!(
    /// Take the item up.
    AcceptInput {}
);

action_input!(
    /// "Not ours": back to the control office.
    ReturnInput {
        note: Option<String> = text("note", "Lý do trả lại", 2000, true),
    }
);

action_input!(
    /// Draft (or redraft) the answer.
    AnswerInput {
        text: Option<String> = text("text", "Nội dung trả lời", 20000, true),
    }
);

action_input!(
    /// The lead signs the answer off.
    SignOffInput {}
);

action_input!(
    /// The control office approves the answer.
    ApproveInput {}
);

action_input!(
    /// The answer goes back for revision.
    SendBackInput {
        note: Option<String> = text("note", "Lý do trả lại dự thảo", 2000, true),
    }
);

action_input!(
    /// Publish the redacted copies.
    PublishInput {
        title_redacted: Option<String> = line("title_redacted", "Tiêu đề công khai", 200, true),
        question_redacted: Option<String> = text("question_redacted", "Câu hỏi công khai", 20000, true),
        answer_redacted: Option<String> = text("answer_redacted", "Trả lời công khai", 20000, false),
        confirm_personal_data: Option<String> = line("confirm_personal_data", "Lý do giữ thông tin bị đánh dấu là cá nhân", 500, false),
    }
);

action_input!(
    /// Answered, not published.
    WithholdInput {
        reason: Option<String> = choice("reason", "Lý do không công khai", Choices::WithholdReason, false),
        note: Option<String> = text("note", "Ghi rõ (bắt buộc khi chọn “Lý do khác” hoặc không chọn lý do)", 2000, false),
    }
);

action_input!(
    /// Off the public pages.
    UnpublishInput {
        note: Option<String> = text("note", "Lý do", 2000, false),
    }
);

action_input!(
    /// End the case.
    CloseInput {
        note: Option<String> = text("note", "Ghi chú", 2000, false),
    }
);

action_input!(
    /// Join a duplicate to the primary item of its cluster.
    MergeInput {
        into: Option<String> = line("into", "Gộp vào phản ánh (mã số)", 64, true),
        note: Option<String> = text("note", "Ghi chú", 2000, false),
    }
);

action_input!(
    /// Ask another agency to contribute.
    RequestCoordinationInput {
        agency_code: Option<String> = choice("agency_code", "Cơ quan phối hợp", Choices::Agency, true),
        note: Option<String> = text("note", "Nội dung đề nghị phối hợp", 2000, true),
        days: Option<i64> = FieldSpec { name: "days", label: "Thời hạn (ngày)", kind: FieldKind::Number { min: 1, max: 60 }, required: false },
    }
);

action_input!(
    /// No longer ask for that contribution.
    WithdrawCoordinationInput {
        agency_code: Option<String> = choice("agency_code", "Cơ quan phối hợp", Choices::CoordinatingAgency, true),
        note: Option<String> = text("note", "Ghi chú", 2000, false),
    }
);

action_input!(
    /// A coordinating agency's contribution.
    ContributeInput {
        text: Option<String> = text("text", "Ý kiến phối hợp", 20000, true),
    }
);

action_input!(
    /// The control office takes a forwarded item back.
    RecallInput {
        note: Option<String> = text("note", "Lý do thu hồi", 2000, true),
    }
);

/// One action with its input.
#[derive(Debug, Clone)]
pub enum ActionInput {
    Classify(ClassifyInput),
    RequestInfo(RequestInfoInput),
    Supplement(SupplementInput),
    Reject(RejectInput),
    Forward(ForwardInput),
    Accept(AcceptInput),
    Return(ReturnInput),
    Answer(AnswerInput),
    SignOff(SignOffInput),
    Approve(ApproveInput),
    SendBack(SendBackInput),
    Publish(PublishInput),
    Withhold(WithholdInput),
    Unpublish(UnpublishInput),
    Close(CloseInput),
    Merge(MergeInput),
    RequestCoordination(RequestCoordinationInput),
    WithdrawCoordination(WithdrawCoordinationInput),
    Contribute(ContributeInput),
    Recall(RecallInput),
}

/// The form fields of `action` (besides `version`).
pub fn fields(action: Action) -> &'static [FieldSpec] {
    match action {
        Action::Classify => ClassifyInput::FIELDS,
        Action::RequestInfo => RequestInfoInput::FIELDS,
        Action::Supplement => SupplementInput::FIELDS,
        Action::Reject => RejectInput::FIELDS,
        Action::Forward => ForwardInput::FIELDS,
        Action::Accept => AcceptInput::FIELDS,
        Action::Return => ReturnInput::FIELDS,
        Action::Answer => AnswerInput::FIELDS,
        Action::SignOff => SignOffInput::FIELDS,
        Action::Approve => ApproveInput::FIELDS,
        Action::SendBack => SendBackInput::FIELDS,
        Action::Publish => PublishInput::FIELDS,
        Action::Withhold => WithholdInput::FIELDS,
        Action::Unpublish => UnpublishInput::FIELDS,
        Action::Close => CloseInput::FIELDS,
        Action::Merge => MergeInput::FIELDS,
        Action::RequestCoordination => RequestCoordinationInput::FIELDS,
        Action::WithdrawCoordination => WithdrawCoordinationInput::FIELDS,
        Action::Contribute => ContributeInput::FIELDS,
        Action::Recall => RecallInput::FIELDS,
    }
}

/// Why a body is not an action's input: a field the action does not take,
/// or a value of the wrong type; reported per field.
fn read<T: DeserializeOwned>(body: Value) -> Result<T, Vec<FieldError>> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let message = e.inner().to_string();
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_string);
        let field = unknown.clone().unwrap_or_else(|| {
            let path = e.path().to_string();
            if path == "." {
                "body".to_string()
            } else {
                path
            }
        });
        vec![FieldError::new(
            field,
            if unknown.is_some() {
                "unknown_field"
            } else {
                "wrong_type"
            },
        )]
    })
}

impl ActionInput {
    /// Reads `action`'s input from a JSON body (an object).
    pub fn parse(action: Action, body: Value) -> Result<Self, Vec<FieldError>> {
        Ok(match action {
            Action::Classify => Self::Classify(read(body)?),
            Action::RequestInfo => Self::RequestInfo(read(body)?),
            Action::Supplement => Self::Supplement(read(body)?),
            Action::Reject => Self::Reject(read(body)?),
            Action::Forward => Self::Forward(read(body)?),
            Action::Accept => Self::Accept(read(body)?),
            Action::Return => Self::Return(read(body)?),
            Action::Answer => Self::Answer(read(body)?),
            Action::SignOff => Self::SignOff(read(body)?),
            Action::Approve => Self::Approve(read(body)?),
            Action::SendBack => Self::SendBack(read(body)?),
            Action::Publish => Self::Publish(read(body)?),
            Action::Withhold => Self::Withhold(read(body)?),
            Action::Unpublish => Self::Unpublish(read(body)?),
            Action::Close => Self::Close(read(body)?),
            Action::Merge => Self::Merge(read(body)?),
            Action::RequestCoordination => Self::RequestCoordination(read(body)?),
            Action::WithdrawCoordination => Self::WithdrawCoordination(read(body)?),
            Action::Contribute => Self::Contribute(read(body)?),
            Action::Recall => Self::Recall(read(body)?),
        })
    }

    /// Reads `action`'s input from a form's fields (names as in the JSON
    /// API): an empty field is an absent one, and `version` and `days`
    /// are numbers written as text.
    pub fn from_form(action: Action, pairs: &[(String, String)]) -> Result<Self, Vec<FieldError>> {
        let mut body = serde_json::Map::new();
        for (name, value) in pairs {
            if value.trim().is_empty() {
                continue;
            }
            let v = match name.as_str() {
                "version" | "days" => match value.trim().parse::<i64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => return Err(vec![FieldError::new(name.clone(), "wrong_type")]),
                },
                _ => Value::String(value.clone()),
            };
            body.insert(name.clone(), v);
        }
        Self::parse(action, Value::Object(body))
    }

    pub fn action(&self) -> Action {
        match self {
            Self::Classify(_) => Action::Classify,
            Self::RequestInfo(_) => Action::RequestInfo,
            Self::Supplement(_) => Action::Supplement,
            Self::Reject(_) => Action::Reject,
            Self::Forward(_) => Action::Forward,
            Self::Accept(_) => Action::Accept,
            Self::Return(_) => Action::Return,
            Self::Answer(_) => Action::Answer,
            Self::SignOff(_) => Action::SignOff,
            Self::Approve(_) => Action::Approve,
            Self::SendBack(_) => Action::SendBack,
            Self::Publish(_) => Action::Publish,
            Self::Withhold(_) => Action::Withhold,
            Self::Unpublish(_) => Action::Unpublish,
            Self::Close(_) => Action::Close,
            Self::Merge(_) => Action::Merge,
            Self::RequestCoordination(_) => Action::RequestCoordination,
            Self::WithdrawCoordination(_) => Action::WithdrawCoordination,
            Self::Contribute(_) => Action::Contribute,
            Self::Recall(_) => Action::Recall,
        }
    }

    pub fn version(&self) -> Option<i32> {
        match self {
            Self::Classify(i) => i.version,
            Self::RequestInfo(i) => i.version,
            Self::Supplement(i) => i.version,
            Self::Reject(i) => i.version,
            Self::Forward(i) => i.version,
            Self::Accept(i) => i.version,
            Self::Return(i) => i.version,
            Self::Answer(i) => i.version,
            Self::SignOff(i) => i.version,
            Self::Approve(i) => i.version,
            Self::SendBack(i) => i.version,
            Self::Publish(i) => i.version,
            Self::Withhold(i) => i.version,
            Self::Unpublish(i) => i.version,
            Self::Close(i) => i.version,
            Self::Merge(i) => i.version,
            Self::RequestCoordination(i) => i.version,
            Self::WithdrawCoordination(i) => i.version,
            Self::Contribute(i) => i.version,
            Self::Recall(i) => i.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_field_is_a_field_of_the_input_and_nothing_else_is() {
        for action in Action::ALL {
            for spec in fields(action) {
                let value = match spec.kind {
                    FieldKind::Number { min, .. } => Value::from(min),
                    _ => Value::from("x"),
                };
                let body = serde_json::json!({"version": 1, spec.name: value});
                assert!(
                    ActionInput::parse(action, body).is_ok(),
                    "{} takes {}",
                    action.as_str(),
                    spec.name
                );
            }
            let unknown =
                ActionInput::parse(action, serde_json::json!({"version": 1, "bogus": "x"}))
                    .expect_err("unknown fields are refused");
            assert_eq!(unknown[0].field, "bogus");
            assert_eq!(unknown[0].code, "unknown_field");
            let parsed = ActionInput::parse(action, serde_json::json!({"version": 7}));
            assert!(
                parsed
                    .as_ref()
                    .is_ok_and(|p| p.action() == action && p.version() == Some(7))
            );
        }
    }

    #[test]
    fn the_contract_describes_each_actions_body_as_the_code_reads_it() {
        let spec: serde_json::Value =
            serde_yaml_ng::from_str(crate::web::OPENAPI_YAML).unwrap_or_default();
        for action in Action::ALL {
            let path = format!(
                "/api/v1/staff/feedback/{{tracking_code}}/{}",
                action.as_str()
            );
            let reference = spec["paths"][&path]["post"]["requestBody"]["content"]["application/json"]
                ["schema"]["$ref"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let schema = &spec["components"]["schemas"][&reference];
            let mut documented: Vec<String> = schema["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            documented.sort();
            let mut read: Vec<String> = fields(action).iter().map(|f| f.name.to_string()).collect();
            read.push("version".into());
            read.sort();
            assert_eq!(documented, read, "{} ({reference})", action.as_str());
            assert_eq!(schema["additionalProperties"], false, "{reference}");
        }
    }

    #[test]
    fn forms_send_text_and_empty_fields_are_absent() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect()
        };
        let input = ActionInput::from_form(
            Action::RequestCoordination,
            &pairs(&[
                ("version", "3"),
                ("agency_code", "48.SXD"),
                ("note", "Xin ý kiến"),
                ("days", ""),
            ]),
        );
        match input {
            Ok(ActionInput::RequestCoordination(i)) => {
                assert_eq!(i.version, Some(3));
                assert_eq!(i.days, None);
                assert_eq!(i.agency_code.as_deref(), Some("48.SXD"));
            }
            other => panic!("{other:?}"),
        }
        let bad = ActionInput::from_form(Action::Accept, &pairs(&[("version", "ba")]));
        assert!(bad.is_err_and(|e| e[0].field == "version" && e[0].code == "wrong_type"));
        let wrong =
            ActionInput::parse(Action::Answer, serde_json::json!({"version": 1, "text": 5}));
        assert!(wrong.is_err_and(|e| e[0].field == "text" && e[0].code == "wrong_type"));
    }
}
