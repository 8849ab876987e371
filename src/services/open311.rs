//! Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2, frozen): the open
//! standard civic apps and tools speak. Our fields (lĩnh vực) are its
//! services; a submission runs through the same intake, validation and
//! idempotency as the web form; the requests it lists are the published
//! items only, in the public Q&A's projection. The views here are typed
//! and ordered; `web::open311` renders them as JSON or XML (the standard's
//! required format) with the same shape.

use chrono::{DateTime, Duration, Utc};

use super::Services;
use crate::domain::directory::AgencyFilter;
use crate::domain::feedback::{AddressInput, FieldError, SubmissionInput, SubmitterInput};
use crate::domain::staff::{ApiClient, ApiScope};
use crate::domain::text::fold_for_search;
use crate::domain::time::to_vietnam_rfc3339;
use crate::services::intake::{self, IntakeError, Submission};
use crate::store::StoreError;
use crate::store::public_qa::{Open311Query, PublicItem};

/// The standard's home; discovery names it as the specification served.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

/// When this implementation's document last changed (discovery's
/// `changeset`, sortable).
pub const CHANGESET: &str = "2026-12-04T00:00:00+07:00";

/// The service for items in no field: the standard needs a
/// `service_code` on every request, and a citizen may not know the field.
pub const NO_FIELD: &str = "khac";

/// "Default query limit is a span of 90 days or first 1000 requests
/// returned, whichever is smallest."
pub const DEFAULT_LIMIT: u64 = 1000;
pub const MAX_SPAN_DAYS: i64 = 90;

/// The standard's `description` is "free form text limited to 4,000
/// characters".
pub const DESCRIPTION_MAX_CHARS: usize = 4000;

/// An ordered tree both renderings read: JSON (a list is an array) and
/// XML (a list is a container of repeated `item` elements, per the
/// standard's "Spark convention").
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A text value; `None` is JSON `null` and an empty XML element.
    Text(Option<String>),
    Bool(bool),
    Int(i64),
    List {
        item: &'static str,
        items: Vec<Node>,
    },
    Object(Vec<(&'static str, Node)>),
}

impl Node {
    fn text(s: impl Into<String>) -> Self {
        Node::Text(Some(s.into()))
    }

    fn opt(s: Option<impl Into<String>>) -> Self {
        Node::Text(s.map(Into::into))
    }
}

/// One error as the standard lists them (`[{code, description}]`); the
/// HTTP status is the same number, as the standard asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Error {
    pub status: u16,
    pub description: String,
}

impl Open311Error {
    pub fn new(status: u16, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(404, "Không tìm thấy nội dung yêu cầu.")
    }

    pub fn internal() -> Self {
        Self::new(
            500,
            "Hệ thống đang gặp sự cố; vui lòng thử lại sau. Thông tin đã gửi (nếu có) không bị mất.",
        )
    }
}

/// Errors go out as one list with the status of the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Errors(pub Vec<Open311Error>);

impl Open311Errors {
    pub fn status(&self) -> u16 {
        self.0.first().map_or(400, |e| e.status)
    }

    pub fn node(&self) -> Node {
        Node::List {
            item: "error",
            items: self
                .0
                .iter()
                .map(|e| {
                    Node::Object(vec![
                        ("code", Node::Int(i64::from(e.status))),
                        ("description", Node::text(e.description.clone())),
                    ])
                })
                .collect(),
        }
    }
}

impl From<Open311Error> for Open311Errors {
    fn from(e: Open311Error) -> Self {
        Self(vec![e])
    }
}

impl From<StoreError> for Open311Errors {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "Open311 request failed in the store");
        Open311Error::internal().into()
    }
}

/// `GET /open311/v2/discovery.{format}`.
pub fn discovery(s: &Services) -> Node {
    let office = s.settings.office();
    let base = s.settings.server.public_base_url.trim_end_matches('/');
    let mut contact = vec![office.name.clone()];
    for (label, value) in [
        ("Đường dây nóng", &office.hotline),
        ("Thư điện tử", &office.email),
        ("Địa chỉ", &office.postal_address),
    ] {
        if !value.trim().is_empty() {
            contact.push(format!("{label}: {value}"));
        }
    }
    Node::Object(vec![
        ("changeset", Node::text(CHANGESET)),
        ("contact", Node::text(contact.join(". "))),
        (
            "key_service",
            Node::text(format!(
                "Khóa API (quyền submit_feedback) do quản trị viên của {} cấp theo đề nghị bằng văn bản; \
                 đọc danh sách không cần khóa.",
                office.name
            )),
        ),
        (
            "endpoints",
            Node::List {
                item: "endpoint",
                items: vec![Node::Object(vec![
                    ("specification", Node::text(SPECIFICATION)),
                    ("url", Node::text(format!("{base}/open311/v2"))),
                    ("changeset", Node::text(CHANGESET)),
                    ("type", Node::text("production")),
                    (
                        "formats",
                        Node::List {
                            item: "format",
                            items: vec![Node::text("text/xml"), Node::text("application/json")],
                        },
                    ),
                ])],
            },
        ),
    ])
}

/// One service: a field (lĩnh vực), grouped by the ministry whose sector
/// it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub code: String,
    pub name: String,
    pub description: String,
    pub keywords: String,
    pub group: String,
}

impl Service {
    fn node(&self) -> Node {
        Node::Object(vec![
            ("service_code", Node::text(self.code.clone())),
            ("service_name", Node::text(self.name.clone())),
            ("description", Node::text(self.description.clone())),
            // Decree 20 needs more than the standard's fields (the kind,
            // the contact address): every service has a definition.
            ("metadata", Node::Bool(true)),
            ("type", Node::text("realtime")),
            ("keywords", Node::text(self.keywords.clone())),
            ("group", Node::text(self.group.clone())),
        ])
    }
}

fn keywords(name: &str) -> String {
    let folded = fold_for_search(name);
    if folded == name.to_lowercase() {
        name.to_lowercase()
    } else {
        format!("{}, {folded}", name.to_lowercase())
    }
}

/// Every service, fields in their order, "other" last.
pub async fn services(s: &Services) -> Result<Vec<Service>, StoreError> {
    let fields = s.store.list_fields().await?;
    let ministries = s
        .store
        .list_agencies(
            &AgencyFilter {
                kind: Some("bo".into()),
                ..AgencyFilter::default()
            },
            crate::domain::time::vietnam_date(Utc::now()),
        )
        .await?;
    let mut out: Vec<Service> = fields
        .into_iter()
        .map(|f| {
            let group = ministries
                .iter()
                .find(|m| m.field_codes.contains(&f.code))
                .map_or_else(|| "Lĩnh vực khác".to_string(), |m| m.name.clone());
            Service {
                description: f.description.clone().unwrap_or_else(|| {
                    format!(
                        "Phản ánh, kiến nghị về quy định hành chính trong lĩnh vực {}.",
                        f.name.to_lowercase()
                    )
                }),
                keywords: keywords(&f.name),
                code: f.code,
                name: f.name,
                group,
            }
        })
        .collect();
    out.push(Service {
        code: NO_FIELD.into(),
        name: "Lĩnh vực khác hoặc chưa xác định".into(),
        description: "Khi không rõ lĩnh vực: Văn phòng xác định lĩnh vực và cơ quan xử lý.".into(),
        keywords: "khác, khac".into(),
        group: "Lĩnh vực khác".into(),
    });
    Ok(out)
}

pub fn services_node(list: &[Service]) -> Node {
    Node::List {
        item: "service",
        items: list.iter().map(Service::node).collect(),
    }
}

/// What Decree 20 needs beyond the standard's own fields.
pub mod attr {
    pub const KIND: &str = "loai";
    pub const TITLE: &str = "tieu_de";
    pub const CATEGORY: &str = "noi_dung";
    pub const ADDRESS: &str = "dia_chi";
    pub const SUBMITTER_TYPE: &str = "doi_tuong";
    pub const ORGANIZATION: &str = "ten_to_chuc";
    pub const CONSENT: &str = "cong_khai";
}

struct Attribute {
    code: &'static str,
    datatype: &'static str,
    required: bool,
    datatype_description: &'static str,
    description: &'static str,
    values: &'static [(&'static str, &'static str)],
}

const ATTRIBUTES: [Attribute; 7] = [
    Attribute {
        code: attr::KIND,
        datatype: "singlevaluelist",
        required: true,
        datatype_description: "Chọn một giá trị.",
        description: "Loại: phản ánh (về vướng mắc, bất cập của quy định hành chính) hay kiến nghị (có đề xuất phương án xử lý hoặc sáng kiến ban hành mới).",
        values: &[("phan_anh", "Phản ánh"), ("kien_nghi", "Kiến nghị")],
    },
    Attribute {
        code: attr::TITLE,
        datatype: "string",
        required: false,
        datatype_description: "Một dòng, tối đa theo giới hạn của biểu mẫu.",
        description: "Tiêu đề ngắn. Để trống thì lấy câu đầu của phần mô tả (description).",
        values: &[],
    },
    Attribute {
        code: attr::CATEGORY,
        datatype: "singlevaluelist",
        required: false,
        datatype_description: "Chọn một giá trị.",
        description: "Nội dung phản ánh, kiến nghị theo Điều 5 Nghị định 20/2008/NĐ-CP (sửa đổi bởi Nghị định 92/2017/NĐ-CP).",
        values: &[
            (
                "implementation_problem",
                "Vướng mắc cụ thể trong thực hiện quy định hành chính",
            ),
            ("unfit_for_reality", "Quy định không phù hợp với thực tế"),
            ("inconsistent", "Quy định không đồng bộ, không thống nhất"),
            ("unlawful", "Quy định không hợp pháp"),
            (
                "contrary_to_treaty",
                "Quy định trái với điều ước quốc tế mà Việt Nam là thành viên",
            ),
            ("proposed_solution", "Phương án xử lý phản ánh"),
            (
                "new_regulation_initiative",
                "Sáng kiến ban hành mới quy định hành chính",
            ),
            ("other", "Vấn đề khác liên quan đến quy định hành chính"),
        ],
    },
    Attribute {
        code: attr::ADDRESS,
        datatype: "string",
        required: false,
        datatype_description: "Số nhà, đường, xã/phường, tỉnh/thành phố.",
        description: "Địa chỉ liên hệ của người gửi (bắt buộc theo Nghị định 20). Để trống thì dùng address_string.",
        values: &[],
    },
    Attribute {
        code: attr::SUBMITTER_TYPE,
        datatype: "singlevaluelist",
        required: false,
        datatype_description: "Chọn một giá trị; mặc định là cá nhân.",
        description: "Người gửi là cá nhân hay tổ chức.",
        values: &[("individual", "Cá nhân"), ("organization", "Tổ chức")],
    },
    Attribute {
        code: attr::ORGANIZATION,
        datatype: "string",
        required: false,
        datatype_description: "Tên đầy đủ của tổ chức.",
        description: "Tên tổ chức (bắt buộc khi người gửi là tổ chức; first_name/last_name là người đại diện).",
        values: &[],
    },
    Attribute {
        code: attr::CONSENT,
        datatype: "singlevaluelist",
        required: false,
        datatype_description: "Chọn một giá trị; mặc định là không đồng ý.",
        description: "Đồng ý để câu hỏi và trả lời được đăng công khai sau khi lược bỏ thông tin cá nhân.",
        values: &[
            ("yes", "Đồng ý công khai"),
            ("no", "Không đồng ý công khai"),
        ],
    },
];

/// The service behind `code`: `None` for an unknown code, `Some(None)`
/// for the "other" service (no field), else the field.
async fn service_field(s: &Services, code: &str) -> Result<Option<Option<uuid::Uuid>>, StoreError> {
    if code == NO_FIELD {
        return Ok(Some(None));
    }
    Ok(s.store
        .directory_snapshot()
        .await?
        .fields
        .get(code)
        .map(|id| Some(id.as_uuid())))
}

/// `GET /services/{service_code}.{format}`: the same attributes for every
/// field; an unknown code is the standard's 404.
pub async fn definition(s: &Services, code: &str) -> Result<Node, Open311Errors> {
    if service_field(s, code).await?.is_none() {
        return Err(Open311Error::new(404, "Không có lĩnh vực (service_code) này.").into());
    }
    let attributes = ATTRIBUTES
        .iter()
        .zip(1i64..)
        .map(|(a, order)| {
            Node::Object(vec![
                ("variable", Node::Bool(true)),
                ("code", Node::text(a.code)),
                ("datatype", Node::text(a.datatype)),
                ("required", Node::Bool(a.required)),
                ("datatype_description", Node::text(a.datatype_description)),
                ("order", Node::Int(order)),
                ("description", Node::text(a.description)),
                (
                    "values",
                    Node::List {
                        item: "value",
                        items: a
                            .values
                            .iter()
                            .map(|(key, name)| {
                                Node::Object(vec![
                                    ("key", Node::text(*key)),
                                    ("name", Node::text(*name)),
                                ])
                            })
                            .collect(),
                    },
                ),
            ])
        })
        .collect();
    Ok(Node::Object(vec![
        ("service_code", Node::text(code)),
        (
            "attributes",
            Node::List {
                item: "attribute",
                items: attributes,
            },
        ),
    ]))
}

/// A POST's form as it came: every pair, in order (a `multivaluelist`
/// repeats its key).
#[derive(Debug, Clone, Default)]
pub struct RequestForm {
    pairs: Vec<(String, String)>,
}

impl RequestForm {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The first non-empty value of `key`: the standard treats an empty
    /// parameter as one not sent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn attribute(&self, code: &str) -> Option<&str> {
        self.get(&format!("attribute[{code}]"))
            .or_else(|| self.get(&format!("attribute[{code}][]")))
    }
}

/// What came back from a POST: the tracking code, and what happens next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub service_request_id: String,
    pub service_notice: String,
    /// True when an `Idempotency-Key` replayed an earlier submission.
    pub replayed: bool,
}

impl Created {
    pub fn node(&self) -> Node {
        Node::List {
            item: "request",
            items: vec![Node::Object(vec![
                (
                    "service_request_id",
                    Node::text(self.service_request_id.clone()),
                ),
                ("service_notice", Node::text(self.service_notice.clone())),
                ("account_id", Node::Text(None)),
            ])],
        }
    }
}

/// The standard's names for our fields, so an error names what the
/// client sent.
fn open311_name(field: &str) -> String {
    match field {
        "kind" => format!("attribute[{}]", attr::KIND),
        "title" => format!("attribute[{}]", attr::TITLE),
        "content" => "description".into(),
        "content_category" => format!("attribute[{}]", attr::CATEGORY),
        "field_code" => "service_code".into(),
        "consent_to_publish" => format!("attribute[{}]", attr::CONSENT),
        "submitter.type" => format!("attribute[{}]", attr::SUBMITTER_TYPE),
        "submitter.organization_name" => format!("attribute[{}]", attr::ORGANIZATION),
        "submitter.full_name" => "first_name/last_name".into(),
        "submitter.address.detail" | "submitter.address" => {
            format!("attribute[{}]/address_string", attr::ADDRESS)
        }
        "submitter.phone" => "phone".into(),
        "submitter.email" => "email".into(),
        "submitter" => "first_name/last_name, email, phone".into(),
        other if other.starts_with("submitter.") => other.trim_start_matches("submitter.").into(),
        other => other.into(),
    }
}

fn field_errors(errors: &[FieldError]) -> Open311Errors {
    Open311Errors(
        errors
            .iter()
            .map(|e| Open311Error::new(400, format!("{}: {}", open311_name(&e.field), e.message)))
            .collect(),
    )
}

/// The first sentence or line of `text`, cut at a word within `max`
/// characters: the title a client that has none gets.
fn title_from(text: &str, max: usize) -> String {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let sentence = first
        .find(['.', '?', '!'])
        .map_or(first, |i| &first[..i])
        .trim();
    if sentence.chars().count() <= max {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(max.saturating_sub(1)).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end())
}

/// Maps a POST onto a submission: the standard's fields onto Decree 20's,
/// the location (where the problem is) into the content so nothing sent
/// is lost.
pub fn submission_input(
    s: &Services,
    form: &RequestForm,
) -> Result<SubmissionInput, Open311Errors> {
    let Some(service_code) = form.get("service_code") else {
        return Err(Open311Error::new(400, "service_code: Thiếu lĩnh vực (service_code).").into());
    };
    let mut errors = Vec::new();
    let description = form
        .get("description")
        .unwrap_or_default()
        .trim()
        .to_string();
    if description.chars().count() > DESCRIPTION_MAX_CHARS {
        errors.push(Open311Error::new(
            400,
            "description: Mô tả dài quá 4.000 ký tự (giới hạn của chuẩn Open311).",
        ));
    }
    let address_string = form.get("address_string").map(str::trim);
    let mut content = description.clone();
    let contact_address = form
        .attribute(attr::ADDRESS)
        .map(str::trim)
        .or(address_string);
    if let Some(place) = address_string.filter(|p| Some(*p) != contact_address) {
        content.push_str(&format!("\n\nĐịa điểm: {place}"));
    }
    if let (Some(lat), Some(long)) = (form.get("lat"), form.get("long")) {
        match (lat.trim().parse::<f64>(), long.trim().parse::<f64>()) {
            (Ok(lat), Ok(long))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&long) =>
            {
                content.push_str(&format!("\n\nTọa độ (WGS84): {lat}, {long}"));
            }
            _ => errors.push(Open311Error::new(
                400,
                "lat/long: Tọa độ không hợp lệ (vĩ độ −90…90, kinh độ −180…180).",
            )),
        }
    }
    let consent = match form.attribute(attr::CONSENT) {
        None | Some("no") => false,
        Some("yes") => true,
        Some(_) => {
            errors.push(Open311Error::new(
                400,
                format!(
                    "attribute[{}]: Chỉ nhận giá trị yes hoặc no.",
                    attr::CONSENT
                ),
            ));
            false
        }
    };
    let submitter_type = match form.attribute(attr::SUBMITTER_TYPE) {
        None => None,
        Some(t @ ("individual" | "organization")) => Some(t.to_string()),
        Some(_) => {
            errors.push(Open311Error::new(
                400,
                format!(
                    "attribute[{}]: Chỉ nhận giá trị individual hoặc organization.",
                    attr::SUBMITTER_TYPE
                ),
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(Open311Errors(errors));
    }
    // Vietnamese names are written family name first.
    let full_name = [form.get("last_name"), form.get("first_name")]
        .into_iter()
        .flatten()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let title = form.attribute(attr::TITLE).map_or_else(
        || title_from(&description, s.settings.intake.title_max_chars as usize),
        str::to_string,
    );
    Ok(SubmissionInput {
        kind: form.attribute(attr::KIND).map(str::to_string),
        title: (!title.is_empty()).then_some(title),
        content: (!content.is_empty()).then_some(content),
        content_category: form.attribute(attr::CATEGORY).map(str::to_string),
        field_code: (service_code != NO_FIELD).then(|| service_code.to_string()),
        agency_code: None,
        submitter: Some(SubmitterInput {
            submitter_type,
            full_name: (!full_name.is_empty()).then_some(full_name),
            organization_name: form.attribute(attr::ORGANIZATION).map(str::to_string),
            address: contact_address.map(|detail| AddressInput {
                detail: Some(detail.to_string()),
                province_code: None,
                commune_code: None,
            }),
            phone: form.get("phone").map(str::to_string),
            email: form.get("email").map(|e| e.trim().to_string()),
        }),
        consent_to_publish: Some(consent),
    })
}

/// `POST /requests.{format}`: the partner's key must carry
/// `submit_feedback`; the item is received as the web form's would be,
/// and the lookup token never goes back to the partner: when the
/// submitter gave an e-mail address, a one-time link to it goes there.
pub async fn create(
    s: &Services,
    client: Option<ApiClient>,
    form: &RequestForm,
    idempotency_key: Option<String>,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Created, Open311Errors> {
    let Some(client) = client.filter(|c| c.may(ApiScope::SubmitFeedback)) else {
        return Err(Open311Error::new(
            403,
            "api_key: Thiếu khóa API hoặc khóa không hợp lệ, hoặc khóa không có quyền gửi phản ánh, kiến nghị (submit_feedback).",
        )
        .into());
    };
    if let Some(code) = form.get("service_code")
        && service_field(s, code).await?.is_none()
    {
        return Err(Open311Error::new(404, "service_code: Không có lĩnh vực này.").into());
    }
    let input = submission_input(s, form)?;
    let email = input
        .submitter
        .as_ref()
        .and_then(|p| p.email.clone())
        .filter(|e| !e.is_empty());
    let submission = Submission {
        input,
        attachments: Vec::new(),
        channel: crate::domain::feedback::Channel::WebForm,
        idempotency_key,
        request_id,
        staff_entry: None,
        via_integration: Some(client.name),
        source: None,
    };
    let receipt = match intake::receive(&s.store, &s.settings, &s.deadlines, submission, now).await
    {
        Ok(r) => r,
        Err(IntakeError::Invalid(errors)) => return Err(field_errors(&errors)),
        Err(IntakeError::IdempotencyKeyInvalid) => {
            return Err(Open311Error::new(
                400,
                "Idempotency-Key: Khóa chống gửi trùng không hợp lệ (16–255 ký tự ASCII nhìn thấy được).",
            )
            .into());
        }
        Err(IntakeError::IdempotencyKeyReused) => {
            return Err(Open311Error::new(
                400,
                "Idempotency-Key: Khóa này đã dùng cho một phản ánh, kiến nghị khác.",
            )
            .into());
        }
        Err(e) => {
            tracing::error!(error = %e, "Open311 submission failed");
            return Err(Open311Error::internal().into());
        }
    };
    let mut notice = format!(
        "Đã tiếp nhận phản ánh, kiến nghị, mã số {}. Văn phòng xem xét, chuyển cơ quan có thẩm quyền xử lý theo Nghị định 20/2008/NĐ-CP.",
        receipt.tracking_code
    );
    match email {
        Some(email) if !receipt.replayed => {
            // The item is stored and acknowledged whatever happens here:
            // if the link cannot be queued, the citizen can still ask for
            // one on the lookup page ("Tôi không còn mã tra cứu").
            if let Err(e) = super::recovery::issue_by_mail(s, &receipt.tracking_code, &email, now).await
            {
                tracing::error!(error = %e, "the lookup link for an Open311 submission was not queued");
            }
            notice.push_str(" Đường dẫn để nhận mã tra cứu được gửi đến thư điện tử của người gửi.");
        }
        Some(_) => notice.push_str(" Đường dẫn để nhận mã tra cứu đã được gửi đến thư điện tử của người gửi."),
        None => notice.push_str(
            " Người gửi không có thư điện tử nên không nhận được mã tra cứu; kết quả trả lời được đăng công khai nếu người gửi đồng ý.",
        ),
    }
    Ok(Created {
        service_request_id: receipt.tracking_code,
        service_notice: notice,
        replayed: receipt.replayed,
    })
}

/// The query of `GET /requests.{format}` as it came.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub status: Option<String>,
}

fn parse_w3(name: &str, value: &str) -> Result<DateTime<Utc>, Open311Error> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Open311Error::new(
                400,
                format!("{name}: Ngày giờ phải theo định dạng W3C kèm múi giờ, ví dụ 2026-01-01T00:00:00+07:00."),
            )
        })
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Reads the filters: `service_request_id` "overrides all other
/// arguments"; without dates, the most recent 90 days; a range of more
/// than 90 days is refused.
pub async fn list_query(
    s: &Services,
    q: &ListQuery,
    now: DateTime<Utc>,
) -> Result<Open311Query, Open311Errors> {
    let mut out = Open311Query {
        limit: DEFAULT_LIMIT,
        ..Open311Query::default()
    };
    if let Some(ids) = non_empty(&q.service_request_id) {
        out.codes = ids
            .split(',')
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty() && c.len() <= 64)
            .take(DEFAULT_LIMIT as usize)
            .collect();
        return Ok(out);
    }
    let mut errors = Vec::new();
    let start = non_empty(&q.start_date).map(|v| parse_w3("start_date", v));
    let end = non_empty(&q.end_date).map(|v| parse_w3("end_date", v));
    let span = Duration::days(MAX_SPAN_DAYS);
    let (from, to) = match (start, end) {
        (Some(Err(a)), Some(Err(b))) => {
            errors.push(a);
            errors.push(b);
            (now, now)
        }
        (Some(Err(e)), _) | (_, Some(Err(e))) => {
            errors.push(e);
            (now, now)
        }
        (None, None) => (now - span, now),
        (Some(Ok(from)), None) => (from, from + span),
        (None, Some(Ok(to))) => (to - span, to),
        (Some(Ok(from)), Some(Ok(to))) => (from, to),
    };
    if errors.is_empty() && to < from {
        errors.push(Open311Error::new(
            400,
            "start_date/end_date: Ngày bắt đầu phải trước ngày kết thúc.",
        ));
    }
    if errors.is_empty() && to - from > span {
        errors.push(Open311Error::new(
            400,
            "start_date/end_date: Khoảng thời gian không được quá 90 ngày.",
        ));
    }
    out.received_from = Some(from);
    out.received_to = Some(to);
    if let Some(codes) = non_empty(&q.service_code) {
        let mut fields = Vec::new();
        for code in codes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            // An unknown code matches nothing, as a filter should.
            if let Some(field) = service_field(s, code).await? {
                fields.push(field);
            }
        }
        out.fields = Some(fields);
    }
    if let Some(status) = non_empty(&q.status) {
        let mut open = false;
        let mut closed = false;
        for st in status.split(',').map(str::trim) {
            match st {
                "open" => open = true,
                "closed" => closed = true,
                _ => errors.push(Open311Error::new(
                    400,
                    "status: Chỉ nhận open, closed hoặc cả hai (cách nhau bằng dấu phẩy).",
                )),
            }
        }
        if open != closed {
            out.answered = Some(closed);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.dedup();
        Err(Open311Errors(errors))
    }
}

/// One published item in the standard's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicRequest {
    pub service_request_id: String,
    pub status: &'static str,
    pub status_notes: Option<String>,
    pub service_name: Option<String>,
    pub service_code: String,
    pub description: Option<String>,
    pub agency_responsible: Option<String>,
    pub requested_datetime: String,
    pub updated_datetime: Option<String>,
}

impl PublicRequest {
    fn node(&self) -> Node {
        Node::Object(vec![
            (
                "service_request_id",
                Node::text(self.service_request_id.clone()),
            ),
            ("status", Node::text(self.status)),
            ("status_notes", Node::opt(self.status_notes.clone())),
            ("service_name", Node::opt(self.service_name.clone())),
            ("service_code", Node::text(self.service_code.clone())),
            ("description", Node::opt(self.description.clone())),
            (
                "agency_responsible",
                Node::opt(self.agency_responsible.clone()),
            ),
            ("service_notice", Node::Text(None)),
            (
                "requested_datetime",
                Node::text(self.requested_datetime.clone()),
            ),
            ("updated_datetime", Node::opt(self.updated_datetime.clone())),
            ("expected_datetime", Node::Text(None)),
            // The public never sees where a submitter lives.
            ("address", Node::Text(None)),
            ("address_id", Node::Text(None)),
            ("zipcode", Node::Text(None)),
            ("lat", Node::Text(None)),
            ("long", Node::Text(None)),
            ("media_url", Node::Text(None)),
        ])
    }
}

fn cut_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The answer's first lines: at most three, at most 500 characters.
fn first_lines(answer: &str) -> String {
    let lines: Vec<&str> = answer
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    cut_chars(&lines.join("\n"), 500)
}

fn public_request(
    item: &PublicItem,
    directory: &crate::store::directory_cache::DirectorySnapshot,
) -> PublicRequest {
    let description = match (&item.title_redacted, &item.question_redacted) {
        (Some(t), Some(q)) => Some(format!("{t}\n\n{q}")),
        (Some(t), None) => Some(t.clone()),
        (None, q) => q.clone(),
    }
    .map(|d| cut_chars(&d, DESCRIPTION_MAX_CHARS));
    let updated = [item.public_changed_at, item.answered_at, item.published_at]
        .into_iter()
        .flatten()
        .max();
    PublicRequest {
        service_request_id: item.tracking_code.clone(),
        status: if item.answered_at.is_some() {
            "closed"
        } else {
            "open"
        },
        status_notes: item.answer.as_deref().map(first_lines),
        service_name: directory.field_name(item.field_id).map(str::to_string),
        service_code: directory
            .field_code(item.field_id)
            .unwrap_or(NO_FIELD)
            .to_string(),
        description,
        agency_responsible: directory
            .agency_name(item.handling_agency_id)
            .map(str::to_string),
        requested_datetime: to_vietnam_rfc3339(item.received_at),
        updated_datetime: updated.map(to_vietnam_rfc3339),
    }
}

/// `GET /requests.{format}`: published items only, newest first.
pub async fn list(s: &Services, q: &Open311Query) -> Result<Vec<PublicRequest>, Open311Errors> {
    let items = s.store.open311_items(q).await?;
    let directory = s.store.directory_snapshot().await?;
    Ok(items
        .iter()
        .map(|i| public_request(i, &directory))
        .collect())
}

pub fn requests_node(list: &[PublicRequest]) -> Node {
    Node::List {
        item: "request",
        items: list.iter().map(PublicRequest::node).collect(),
    }
}

/// `GET /requests/{id}.{format}`: an unpublished and an unknown id give
/// the same 404.
pub async fn one(s: &Services, id: &str) -> Result<PublicRequest, Open311Errors> {
    let code = id.trim().to_ascii_uppercase();
    if code.is_empty() || code.len() > 64 {
        return Err(Open311Error::not_found().into());
    }
    let item = s
        .store
        .public_item(&code)
        .await?
        .ok_or_else(Open311Error::not_found)?;
    let directory = s.store.directory_snapshot().await?;
    Ok(public_request(&item, &directory))
}

/// `GET /tokens/{token}.{format}`: every service is `realtime` (the
/// tracking code comes back with the POST itself), so no token is ever
/// issued and none is found.
pub fn token(_token: &str) -> Open311Errors {
    Open311Error::new(
        404,
        "Không có token này: hệ thống trả mã số (service_request_id) ngay khi tiếp nhận (loại realtime), không cấp token.",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_the_first_sentence_cut_at_a_word() {
        assert_eq!(
            title_from("Thủ tục cấp phép chậm. Hồ sơ nộp từ tháng 3.", 200),
            "Thủ tục cấp phép chậm"
        );
        assert_eq!(title_from("\n\n  Một dòng\nhai", 200), "Một dòng");
        let long = "từ ".repeat(100);
        let t = title_from(&long, 20);
        assert!(t.chars().count() <= 20, "{t}");
        assert!(t.ends_with('…'));
        assert!(!t.contains("t…"), "cut inside a word: {t}");
    }

    #[test]
    fn an_empty_parameter_is_one_not_sent() {
        let f = RequestForm::new(vec![
            ("email".into(), " ".into()),
            ("attribute[loai][]".into(), "kien_nghi".into()),
        ]);
        assert_eq!(f.get("email"), None);
        assert_eq!(f.attribute(attr::KIND), Some("kien_nghi"));
    }

    #[test]
    fn status_notes_are_the_first_lines_of_the_answer() {
        assert_eq!(first_lines("a\n\nb\nc\nd"), "a\nb\nc");
        assert_eq!(first_lines(&"x".repeat(600)).chars().count(), 500);
    }

    #[test]
    fn errors_carry_the_status_as_their_code() {
        let e = Open311Errors(vec![
            Open311Error::new(403, "x"),
            Open311Error::new(400, "y"),
        ]);
        assert_eq!(e.status(), 403);
        let Node::List { item, items } = e.node() else {
            panic!()
        };
        assert_eq!(item, "error");
        assert_eq!(items.len(), 2);
    }
}
