//! A phản ánh or kiến nghị as Decree 20 defines it, and the rules an item
//! must meet to be accepted (ND 20/2008 Art. 3, 5, 7 as amended by
//! ND 92/2017; DOMAIN §2–§4).

use serde::{Deserialize, Deserializer, Serialize};
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use super::phone::PhoneNumber;
use super::text::{clean_line, clean_multiline, looks_vietnamese};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $wire)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// ND 20 Art. 3.4–3.5: a kiến nghị is a phản ánh with a proposed solution,
    /// or an initiative for a new regulation.
    FeedbackKind { PhanAnh = "phan_anh", KienNghi = "kien_nghi" }
);

wire_enum!(
    /// How the item reached us (ND 20 Art. 6 as supplemented by ND 92/2017;
    /// DOMAIN §3).
    Channel {
        WebForm = "web_form",
        Email = "email",
        Hotline = "hotline",
        LetterPost = "letter_post",
        LetterInPerson = "letter_in_person",
        LetterBox = "letter_box",
        SurveyForm = "survey_form",
        NationalPortalSync = "national_portal_sync",
        TransferredIn = "transferred_in",
    }
);

wire_enum!(
    /// Permitted content, ND 20 Art. 5 as amended by ND 92/2017 (DOMAIN §2.2).
    ContentCategory {
        ImplementationProblem = "implementation_problem",
        UnfitForReality = "unfit_for_reality",
        Inconsistent = "inconsistent",
        Unlawful = "unlawful",
        ContraryToTreaty = "contrary_to_treaty",
        Other = "other",
        ProposedSolution = "proposed_solution",
        NewRegulationInitiative = "new_regulation_initiative",
    }
);

wire_enum!(
    /// ND 20 Art. 3.2–3.3: individuals (citizens, overseas Vietnamese,
    /// foreigners) and organisations.
    SubmitterType { Individual = "individual", Organization = "organization" }
);

wire_enum!(
    /// Internal handling states (DOMAIN §6.3). Overdue is derived from due
    /// dates, never a state.
    FeedbackState {
        Received = "received",
        AwaitingInformation = "awaiting_information",
        Classified = "classified",
        Forwarded = "forwarded",
        InHandling = "in_handling",
        AnswerUnderReview = "answer_under_review",
        Answered = "answered",
        Published = "published",
        Withheld = "withheld",
        Closed = "closed",
        NotAccepted = "not_accepted",
        Merged = "merged",
    }
);

wire_enum!(
    /// What the citizen is shown (DOMAIN §6.3, "status labels").
    CitizenStatus {
        Received = "received",
        NeedsInformation = "needs_information",
        InProgress = "in_progress",
        Answered = "answered",
        NotAccepted = "not_accepted",
    }
);

impl Channel {
    /// As staff reports name the channel.
    pub fn label_vi(self) -> &'static str {
        match self {
            Channel::WebForm => "Cổng thông tin (biểu mẫu trực tuyến)",
            Channel::Email => "Thư điện tử",
            Channel::Hotline => "Điện thoại (đường dây nóng)",
            Channel::LetterPost => "Thư gửi qua bưu điện",
            Channel::LetterInPerson => "Văn bản nộp trực tiếp",
            Channel::LetterBox => "Hòm thư góp ý",
            Channel::SurveyForm => "Phiếu khảo sát",
            Channel::NationalPortalSync => "Cổng Dịch vụ công quốc gia",
            Channel::TransferredIn => "Cơ quan khác chuyển đến",
        }
    }

    /// The label for a narrow column (the queue).
    pub fn short_label_vi(self) -> &'static str {
        match self {
            Channel::WebForm => "Cổng thông tin",
            Channel::Email => "Thư điện tử",
            Channel::Hotline => "Điện thoại",
            Channel::LetterPost => "Bưu điện",
            Channel::LetterInPerson => "Nộp trực tiếp",
            Channel::LetterBox => "Hòm thư",
            Channel::SurveyForm => "Phiếu khảo sát",
            Channel::NationalPortalSync => "Cổng DVC quốc gia",
            Channel::TransferredIn => "Chuyển đến",
        }
    }
}

impl ContentCategory {
    /// ND 20 Art. 5 as amended by ND 92/2017: what feedback may be about.
    pub fn label_vi(self) -> &'static str {
        match self {
            ContentCategory::ImplementationProblem => {
                "Vướng mắc cụ thể trong thực hiện quy định hành chính"
            }
            ContentCategory::UnfitForReality => "Quy định hành chính không phù hợp với thực tế",
            ContentCategory::Inconsistent => "Quy định hành chính không đồng bộ, không thống nhất",
            ContentCategory::Unlawful => "Quy định hành chính không hợp pháp",
            ContentCategory::ContraryToTreaty => {
                "Quy định hành chính trái với điều ước quốc tế mà Việt Nam là thành viên"
            }
            ContentCategory::Other => "Vấn đề khác liên quan đến quy định hành chính",
            ContentCategory::ProposedSolution => {
                "Phương án xử lý những vấn đề nêu trên (kiến nghị)"
            }
            ContentCategory::NewRegulationInitiative => {
                "Sáng kiến ban hành mới quy định hành chính (kiến nghị)"
            }
        }
    }
}

impl FeedbackState {
    /// As staff lists and exports name the state.
    pub fn label_vi(self) -> &'static str {
        use FeedbackState::*;
        match self {
            Received => "Mới tiếp nhận",
            AwaitingInformation => "Chờ bổ sung thông tin",
            Classified => "Đã phân loại",
            Forwarded => "Đã chuyển cơ quan xử lý",
            InHandling => "Đang xử lý",
            AnswerUnderReview => "Chờ duyệt trả lời",
            Answered => "Đã trả lời",
            Published => "Đã trả lời, đã công khai",
            Withheld => "Đã trả lời, không công khai",
            Closed => "Đã đóng",
            NotAccepted => "Không tiếp nhận",
            Merged => "Đã gộp vào phản ánh khác",
        }
    }

    pub fn citizen_status(self) -> CitizenStatus {
        use FeedbackState::*;
        match self {
            Received | Classified => CitizenStatus::Received,
            AwaitingInformation => CitizenStatus::NeedsInformation,
            Forwarded | InHandling | AnswerUnderReview => CitizenStatus::InProgress,
            Answered | Published | Withheld | Closed | Merged => CitizenStatus::Answered,
            NotAccepted => CitizenStatus::NotAccepted,
        }
    }
}

impl CitizenStatus {
    pub fn label_vi(self) -> &'static str {
        match self {
            CitizenStatus::Received => "Đã tiếp nhận",
            CitizenStatus::NeedsInformation => "Cần bổ sung",
            CitizenStatus::InProgress => "Đang xử lý",
            CitizenStatus::Answered => "Đã trả lời",
            CitizenStatus::NotAccepted => "Không tiếp nhận",
        }
    }

    /// What the agency shown beside the status is to the citizen at this
    /// point (it is "handling" only while it handles).
    pub fn agency_label_vi(self) -> &'static str {
        match self {
            CitizenStatus::Received => "Cơ quan tiếp nhận",
            CitizenStatus::NeedsInformation => "Cơ quan đề nghị bổ sung",
            CitizenStatus::InProgress => "Cơ quan đang xử lý",
            CitizenStatus::Answered => "Cơ quan trả lời",
            CitizenStatus::NotAccepted => "Cơ quan đã xem xét",
        }
    }

    /// One sentence on where the item stands and what comes next.
    pub fn note_vi(self) -> &'static str {
        match self {
            CitizenStatus::Received => {
                "Phản ánh, kiến nghị đang được xem xét để chuyển đến cơ quan có thẩm quyền."
            }
            CitizenStatus::NeedsInformation => {
                "Cơ quan cần Ông/Bà bổ sung thông tin; thời hạn xử lý tạm dừng cho đến khi nhận được."
            }
            CitizenStatus::InProgress => {
                "Cơ quan có thẩm quyền đang xem xét, trả lời trong thời hạn."
            }
            CitizenStatus::Answered => "Đã có kết quả trả lời, xem nội dung dưới đây.",
            CitizenStatus::NotAccepted => {
                "Phản ánh, kiến nghị không thuộc phạm vi tiếp nhận; lý do đã được thông báo cho Ông/Bà."
            }
        }
    }

    /// Whether a due date still means something to the citizen.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CitizenStatus::Received | CitizenStatus::NeedsInformation | CitizenStatus::InProgress
        )
    }
}

impl FeedbackKind {
    pub fn label_vi(self) -> &'static str {
        match self {
            FeedbackKind::PhanAnh => "Phản ánh",
            FeedbackKind::KienNghi => "Kiến nghị",
        }
    }
}

/// Limits that Decree 20 does not fix; they come from configuration.
#[derive(Debug, Clone)]
pub struct IntakeRules {
    pub title_max_chars: u64,
    pub content_min_chars: u64,
    pub content_max_chars: u64,
    pub name_max_chars: u64,
    pub address_max_chars: u64,
}

/// A submission as received on any channel, before it is trusted. Field
/// names are the public wire format; unknown fields are refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct SubmissionInput {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub content_category: Option<String>,
    #[serde(default)]
    pub field_code: Option<String>,
    #[serde(default)]
    pub agency_code: Option<String>,
    #[serde(default)]
    #[validate(nested)]
    pub submitter: Option<SubmitterInput>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub consent_to_publish: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct SubmitterInput {
    #[serde(default, rename = "type")]
    pub submitter_type: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub organization_name: Option<String>,
    #[serde(default)]
    #[validate(nested)]
    pub address: Option<AddressInput>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    #[validate(email(code = "email_invalid"), length(max = 254, code = "too_long"))]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub province_code: Option<String>,
    #[serde(default)]
    pub commune_code: Option<String>,
}

/// Form encodings carry booleans as text (`on`, `true`, `1`); JSON as bools.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Bool(b)) => Ok(Some(b)),
        Some(Raw::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" | "co" | "có" => Ok(Some(true)),
            "false" | "off" | "0" | "no" | "khong" | "không" | "" => Ok(Some(false)),
            _ => Err(serde::de::Error::custom("expected a boolean")),
        },
    }
}

/// One problem with one field, in the citizen's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: &'static str,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str) -> Self {
        Self {
            field: field.into(),
            code,
            message: message_vi(code),
        }
    }
}

/// Vietnamese messages for every field error code we emit. Stable codes are
/// the contract; these texts may be improved freely.
/// Why an answered item is not published: the usual reasons, each with
/// what the item's record says (`other`: the note says it all).
pub const WITHHOLD_REASONS: [(&str, &str); 5] = [
    (
        "private_matter",
        "Nội dung mang tính riêng, không có giá trị tham khảo chung",
    ),
    ("no_consent", "Người gửi không đồng ý công khai"),
    (
        "already_published",
        "Trùng với câu hỏi, trả lời đã công khai",
    ),
    ("personal_data", "Không thể lược bỏ hết thông tin cá nhân"),
    ("other", "Lý do khác"),
];

pub fn message_vi(code: &str) -> &'static str {
    match code {
        "required" => "Thông tin này là bắt buộc.",
        "too_long" => "Nội dung quá dài.",
        "too_short" => "Nội dung quá ngắn, vui lòng trình bày rõ hơn.",
        "invalid_choice" => "Giá trị không hợp lệ, vui lòng chọn trong danh sách.",
        "email_invalid" => "Địa chỉ thư điện tử không hợp lệ.",
        "phone_invalid" => {
            "Số điện thoại không hợp lệ (ví dụ hợp lệ: 0912 345 678, 024 3825 1234, +84 912345678)."
        }
        "contact_required" => {
            "Vui lòng cung cấp ít nhất số điện thoại hoặc địa chỉ thư điện tử để cơ quan liên hệ."
        }
        "organization_name_required" => "Tổ chức gửi phản ánh, kiến nghị cần ghi tên tổ chức.",
        "representative_required" => "Vui lòng ghi họ và tên người đại diện của tổ chức.",
        "unknown_code" => "Mã không tồn tại trong danh mục.",
        "too_many_items" => {
            "Kỳ đã chọn có quá nhiều phản ánh, kiến nghị cho một tệp; vui lòng chọn kỳ ngắn hơn (quý hoặc tháng)."
        }
        "commune_not_in_province" => "Xã/phường không thuộc tỉnh/thành phố đã chọn.",
        "kind_mismatch" => {
            "Nội dung đề xuất giải pháp hoặc sáng kiến ban hành quy định mới là kiến nghị."
        }
        "unknown_field" => "Trường thông tin không được hỗ trợ.",
        "wrong_type" => "Kiểu dữ liệu không đúng.",
        "attachment_type_forbidden" => {
            "Tệp đính kèm không đúng định dạng cho phép (pdf, doc, docx, xls, xlsx, jpg, png)."
        }
        "attachment_too_large" => "Tệp đính kèm vượt quá dung lượng cho phép.",
        "too_many_attachments" => "Số tệp đính kèm vượt quá giới hạn cho phép.",
        "attachment_empty" => "Tệp đính kèm rỗng.",
        "date_invalid" => {
            "Ngày giờ không hợp lệ (ngày: YYYY-MM-DD; thời điểm: RFC 3339, ví dụ 2026-11-20T09:15:00+07:00)."
        }
        "received_at_in_future" => "Thời điểm tiếp nhận không thể ở tương lai.",
        "received_at_too_old" => "Thời điểm tiếp nhận quá một năm trước; vui lòng kiểm tra lại.",
        "date_after_receipt" => {
            "Ngày này không thể sau thời điểm cơ quan nhận được phản ánh, kiến nghị."
        }
        "supplement_without_files" => {
            "Thông tin bổ sung ghi từ bàn tiếp nhận không kèm tệp; vui lòng bỏ chọn tệp, hoặc tiếp nhận thành phản ánh, kiến nghị mới."
        }
        "answer_missing" => "Chưa có dự thảo trả lời để ký duyệt.",
        "draft_missing" => "Chưa có dự thảo trả lời để trả lại cho người soạn.",
        "name_taken" => "Tên này đã được dùng cho một mẫu khác của đơn vị.",
        "no_email" => {
            "Người gửi không để lại địa chỉ thư điện tử; vui lòng liên hệ bằng điện thoại hoặc thư bưu chính."
        }
        "not_publishable" => {
            "Phản ánh, kiến nghị này không được công khai (khiếu nại, tố cáo hoặc nội dung vi phạm)."
        }
        "personal_data_in_template" => {
            "Mẫu trả lời dùng cho nhiều người nên không được chứa thông tin cá nhân (họ tên, số điện thoại, thư điện tử, địa chỉ, số giấy tờ). Vui lòng xoá các thông tin đó."
        }
        "personal_data_found" => {
            "Văn bản công khai vẫn còn thông tin cá nhân (họ tên, số điện thoại, thư điện tử, địa chỉ, số giấy tờ). Vui lòng xoá, hoặc xác nhận kèm lý do nếu đó không phải thông tin cá nhân."
        }
        "consent_missing" => {
            "Người gửi không đồng ý công khai nên phản ánh, kiến nghị này không được đăng lên trang Hỏi – đáp."
        }
        "clarification_not_over" => {
            "Chỉ được từ chối với lý do R07 khi đang chờ bổ sung và đã hết thời hạn bổ sung thông tin."
        }
        "already_requested" => "Cơ quan này đã được đề nghị phối hợp.",
        "not_requested" => "Cơ quan này không có đề nghị phối hợp đang chờ ý kiến.",
        "dissolved_agency" => {
            "Cơ quan này không còn tồn tại sau sắp xếp tổ chức bộ máy; vui lòng chọn cơ quan kế thừa."
        }
        "out_of_range" => "Giá trị nằm ngoài khoảng cho phép.",
        "username_invalid" => {
            "Tên đăng nhập gồm 3–64 ký tự a–z, 0–9, dấu chấm, gạch dưới hoặc gạch ngang, bắt đầu bằng chữ cái."
        }
        "username_taken" => "Tên đăng nhập này đã có người dùng.",
        "same_agency" => "Cơ quan kế thừa phải khác các cơ quan được sắp xếp.",
        "code_taken" => "Mã này đã được dùng cho một cơ quan khác.",
        "agency_has_open_items" => {
            "Cơ quan còn phản ánh đang xử lý; để cơ quan khác tiếp nhận, dùng chức năng Sắp xếp, hợp nhất cơ quan."
        }
        "succession_in_future" => {
            "Ngày sắp xếp chưa đến; vui lòng áp dụng vào đúng ngày đó (hoặc sau đó)."
        }
        "last_admin" => {
            "Đây là tài khoản quản trị đang hoạt động cuối cùng; hãy tạo hoặc mở một tài khoản quản trị khác trước."
        }
        "password_weak" => {
            "Mật khẩu cần ít nhất 12 ký tự (tối đa 256 byte); nên dùng một cụm từ dễ nhớ."
        }
        "password_mismatch" => "Hai lần nhập mật khẩu mới không giống nhau.",
        "password_wrong" => "Mật khẩu hiện tại không đúng.",
        "year_unsupported" => "Chỉ hỗ trợ các năm từ 1900 đến 2199.",
        "reason_required" => "Cần nêu lý do (5–1000 ký tự); lý do được ghi vào nhật ký.",
        "national_code_invalid" => {
            "Mã PAKN không đúng dạng mã của Hệ thống PAKN quốc gia (chữ, số và . _ / -, 4–40 ký tự; Văn phòng có thể điều chỉnh quy tắc này)."
        }
        "national_code_taken" => "Mã PAKN này đã được ghi cho một phản ánh, kiến nghị khác.",
        "source_code_invalid" => {
            "Mã nguồn gồm 2–40 chữ thường không dấu, chữ số và dấu gạch ngang (ví dụ: mot-cua-hai-chau); mã này in trên áp phích và trong đường dẫn."
        }
        "source_code_taken" => {
            "Mã này đã được dùng cho một nguồn khác (kể cả nguồn đã ngừng dùng)."
        }
        "url_invalid" => {
            "Địa chỉ nhận phải là một URL https:// đầy đủ, không chứa tên đăng nhập hay mật khẩu."
        }
        "target_not_allowed" => {
            "Địa chỉ này trỏ vào máy chủ nội bộ, mạng riêng hoặc địa chỉ link-local; hệ thống không gửi webhook tới đó."
        }
        "target_unresolvable" => "Không tra được tên miền của địa chỉ nhận; hãy kiểm tra lại.",
        "scope_missing" => "Khoá API này đã bị thu hồi hoặc không có quyền agency_webhooks.",
        "tracking_code_invalid" => "Mã số không đúng dạng PAKN.48.NămThángNgày.Số.",
        "contact_erased" => "Thông tin liên hệ của phản ánh này đã được xoá; không còn gì để sửa.",
        "name_required" => "Cần nêu tên ngày (1–200 ký tự).",
        "source_required" => "Cần nêu văn bản căn cứ (1–500 ký tự).",
        "working_day_not_weekend" => "Ngày làm việc bù phải là thứ Bảy hoặc Chủ nhật.",
        "day_off_on_weekend" => {
            "Ngày nghỉ phải là ngày trong tuần (thứ Bảy, Chủ nhật vốn đã nghỉ)."
        }
        _ => "Giá trị không hợp lệ.",
    }
}

/// A submission that meets every rule we can check without the database.
#[derive(Debug, Clone)]
pub struct NewFeedback {
    pub kind: FeedbackKind,
    pub title: String,
    pub content: String,
    pub content_category: Option<ContentCategory>,
    pub field_code: Option<String>,
    pub agency_code: Option<String>,
    pub submitter: Submitter,
    pub consent_to_publish: bool,
    /// Set when the text does not read as Vietnamese: staff decide (R06).
    pub language_flagged: bool,
}

#[derive(Debug, Clone)]
pub struct Submitter {
    pub submitter_type: SubmitterType,
    /// The individual, or the organisation's representative.
    pub full_name: String,
    pub organization_name: Option<String>,
    pub address: Address,
    pub phone: Option<PhoneNumber>,
    pub email: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Address {
    pub detail: String,
    pub province_code: Option<String>,
    pub commune_code: Option<String>,
}

impl SubmissionInput {
    /// NFC, control characters stripped, blanks trimmed, empty → absent.
    /// Validation always runs on this form, so lengths count NFC characters.
    pub fn normalized(mut self) -> Self {
        fn line(v: &mut Option<String>) {
            *v = v.take().map(|s| clean_line(&s)).filter(|s| !s.is_empty());
        }
        line(&mut self.kind);
        line(&mut self.title);
        self.content = self
            .content
            .take()
            .map(|s| clean_multiline(&s))
            .filter(|s| !s.is_empty());
        line(&mut self.content_category);
        line(&mut self.field_code);
        line(&mut self.agency_code);
        if let Some(s) = self.submitter.as_mut() {
            line(&mut s.submitter_type);
            line(&mut s.full_name);
            line(&mut s.organization_name);
            line(&mut s.phone);
            line(&mut s.email);
            if let Some(a) = s.address.as_mut() {
                a.detail = a
                    .detail
                    .take()
                    .map(|s| clean_multiline(&s).replace('\n', ", "))
                    .filter(|s| !s.is_empty());
                line(&mut a.province_code);
                line(&mut a.commune_code);
            }
        }
        self
    }

    /// Checks Decree 20's requirements (ND 20 Art. 7; khoản 4 Art. 7 added by
    /// ND 92/2017): a named sender, an address, a way to reach them, a clear
    /// content. Expects [`SubmissionInput::normalized`] input.
    pub fn parse(self, rules: &IntakeRules) -> Result<NewFeedback, Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(e) = self.validate() {
            flatten_validation_errors("", &e, &mut errors);
        }
        let kind = match self.kind.as_deref() {
            None => {
                errors.push(FieldError::new("kind", "required"));
                None
            }
            Some(k) => FeedbackKind::parse(k).or_else(|| {
                errors.push(FieldError::new("kind", "invalid_choice"));
                None
            }),
        };
        let content_category = self.content_category.as_deref().and_then(|c| {
            ContentCategory::parse(c).or_else(|| {
                errors.push(FieldError::new("content_category", "invalid_choice"));
                None
            })
        });
        if let (
            Some(FeedbackKind::PhanAnh),
            Some(ContentCategory::ProposedSolution | ContentCategory::NewRegulationInitiative),
        ) = (kind, content_category)
        {
            errors.push(FieldError::new("kind", "kind_mismatch"));
        }
        let title = required_text("title", self.title, rules.title_max_chars, 3, &mut errors);
        let content = required_text(
            "content",
            self.content,
            rules.content_max_chars,
            rules.content_min_chars,
            &mut errors,
        );
        let submitter = parse_submitter(self.submitter, rules, &mut errors);
        for (field, value) in [
            ("field_code", &self.field_code),
            ("agency_code", &self.agency_code),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > 64) {
                errors.push(FieldError::new(field, "unknown_code"));
            }
        }
        match (kind, title, content, submitter) {
            (Some(kind), Some(title), Some(content), Some(submitter)) if errors.is_empty() => {
                let language_flagged = !looks_vietnamese(&format!("{title}\n{content}"));
                Ok(NewFeedback {
                    kind,
                    title,
                    content,
                    content_category,
                    field_code: self.field_code,
                    agency_code: self.agency_code,
                    submitter,
                    consent_to_publish: self.consent_to_publish.unwrap_or(false),
                    language_flagged,
                })
            }
            _ => {
                errors.dedup_by(|a, b| a.field == b.field && a.code == b.code);
                Err(errors)
            }
        }
    }
}

fn required_text(
    field: &str,
    value: Option<String>,
    max: u64,
    min: u64,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match value {
        None => {
            errors.push(FieldError::new(field, "required"));
            None
        }
        Some(v) => {
            let n = v.chars().count() as u64;
            if n > max {
                errors.push(FieldError::new(field, "too_long"));
                None
            } else if n < min {
                errors.push(FieldError::new(field, "too_short"));
                None
            } else {
                Some(v)
            }
        }
    }
}

fn parse_submitter(
    input: Option<SubmitterInput>,
    rules: &IntakeRules,
    errors: &mut Vec<FieldError>,
) -> Option<Submitter> {
    let Some(s) = input else {
        errors.push(FieldError::new("submitter", "required"));
        return None;
    };
    let submitter_type = match s.submitter_type.as_deref() {
        None => Some(SubmitterType::Individual),
        Some(t) => SubmitterType::parse(t).or_else(|| {
            errors.push(FieldError::new("submitter.type", "invalid_choice"));
            None
        }),
    };
    let full_name = match (s.full_name, submitter_type) {
        (None, Some(SubmitterType::Organization)) => {
            errors.push(FieldError::new(
                "submitter.full_name",
                "representative_required",
            ));
            None
        }
        (None, _) => {
            errors.push(FieldError::new("submitter.full_name", "required"));
            None
        }
        (Some(n), _) => required_text(
            "submitter.full_name",
            Some(n),
            rules.name_max_chars,
            2,
            errors,
        ),
    };
    let organization_name = match (s.organization_name, submitter_type) {
        (None, Some(SubmitterType::Organization)) => {
            errors.push(FieldError::new(
                "submitter.organization_name",
                "organization_name_required",
            ));
            None
        }
        (Some(n), _) => required_text(
            "submitter.organization_name",
            Some(n),
            rules.name_max_chars,
            2,
            errors,
        ),
        (None, _) => None,
    };
    let address = match s.address {
        None => {
            errors.push(FieldError::new("submitter.address.detail", "required"));
            None
        }
        Some(a) => {
            let detail = required_text(
                "submitter.address.detail",
                a.detail,
                rules.address_max_chars,
                3,
                errors,
            );
            for (field, value, len) in [
                ("submitter.address.province_code", &a.province_code, 2),
                ("submitter.address.commune_code", &a.commune_code, 5),
            ] {
                if value
                    .as_ref()
                    .is_some_and(|v| v.len() != len || !v.bytes().all(|b| b.is_ascii_digit()))
                {
                    errors.push(FieldError::new(field, "unknown_code"));
                }
            }
            detail.map(|detail| Address {
                detail,
                province_code: a.province_code,
                commune_code: a.commune_code,
            })
        }
    };
    let phone = s.phone.as_deref().and_then(|p| {
        PhoneNumber::parse(p).ok().or_else(|| {
            errors.push(FieldError::new("submitter.phone", "phone_invalid"));
            None
        })
    });
    let email = s.email.map(|e| e.to_string());
    if s.phone.is_none() && email.is_none() {
        errors.push(FieldError::new("submitter.phone", "contact_required"));
    }
    Some(Submitter {
        submitter_type: submitter_type?,
        full_name: full_name?,
        organization_name,
        address: address?,
        phone,
        email,
    })
}

/// Turns validator's nested error tree into flat `a.b.c` field paths.
fn flatten_validation_errors(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let code = match e.code.as_ref() {
                        "email_invalid" => "email_invalid",
                        "too_long" | "length" => "too_long",
                        _ => "invalid",
                    };
                    out.push(FieldError::new(path.clone(), code));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten_validation_errors(&path, inner, out),
            ValidationErrorsKind::List(map) => {
                for (i, inner) in map {
                    flatten_validation_errors(&format!("{path}.{i}"), inner, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> IntakeRules {
        IntakeRules {
            title_max_chars: 200,
            content_min_chars: 20,
            content_max_chars: 10_000,
            name_max_chars: 150,
            address_max_chars: 300,
        }
    }

    fn input(v: serde_json::Value) -> SubmissionInput {
        serde_json::from_value(v).unwrap()
    }

    fn valid() -> serde_json::Value {
        json!({
            "kind": "phan_anh",
            "title": "Thủ tục cấp phép xây dựng chậm",
            "content": "Hồ sơ xin cấp giấy phép xây dựng của tôi đã quá hạn 30 ngày mà chưa có kết quả.",
            "submitter": {"type": "individual", "full_name": "Nguyễn Văn An", "address": {"detail": "12 Lê Lợi, phường Hải Châu"}, "phone": "0912 345 678"},
        })
    }

    fn codes(r: Result<NewFeedback, Vec<FieldError>>) -> Vec<(String, &'static str)> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn a_complete_submission_parses() {
        let f = input(valid()).normalized().parse(&rules()).unwrap();
        assert_eq!(f.kind, FeedbackKind::PhanAnh);
        assert_eq!(f.submitter.phone.unwrap().as_e164(), "+84912345678");
        assert!(!f.language_flagged);
        assert!(!f.consent_to_publish);
    }

    #[test]
    fn anonymous_or_uncontactable_senders_are_refused() {
        let mut v = valid();
        v["submitter"] = json!({"address": {"detail": "abc"}});
        let c = codes(input(v).normalized().parse(&rules()));
        assert!(c.contains(&("submitter.full_name".into(), "required")));
        assert!(c.contains(&("submitter.phone".into(), "contact_required")));
    }

    #[test]
    fn organisations_need_a_name_and_a_representative() {
        let mut v = valid();
        v["submitter"]["type"] = json!("organization");
        v["submitter"].as_object_mut().unwrap().remove("full_name");
        let c = codes(input(v).normalized().parse(&rules()));
        assert!(c.contains(&(
            "submitter.organization_name".into(),
            "organization_name_required"
        )));
        assert!(c.contains(&("submitter.full_name".into(), "representative_required")));
    }

    #[test]
    fn lengths_count_nfc_characters() {
        use unicode_normalization::UnicodeNormalization;
        let title: String = "ệ".repeat(200).nfd().collect();
        assert_eq!(title.chars().count(), 600);
        let mut v = valid();
        v["title"] = json!(title);
        assert!(input(v).normalized().parse(&rules()).is_ok());
    }

    #[test]
    fn bad_email_phone_and_choices_are_reported_per_field() {
        let mut v = valid();
        v["kind"] = json!("khieu_nai");
        v["submitter"]["email"] = json!("not-an-email");
        v["submitter"]["phone"] = json!("12345");
        let c = codes(input(v).normalized().parse(&rules()));
        assert!(c.contains(&("kind".into(), "invalid_choice")));
        assert!(c.contains(&("submitter.email".into(), "email_invalid")));
        assert!(c.contains(&("submitter.phone".into(), "phone_invalid")));
    }

    #[test]
    fn blank_is_missing_and_controls_do_not_count() {
        let mut v = valid();
        v["title"] = json!("  \u{0000}\u{0007}  ");
        assert!(
            codes(input(v).normalized().parse(&rules())).contains(&("title".into(), "required"))
        );
    }

    #[test]
    fn foreign_text_is_flagged_not_rejected() {
        let mut v = valid();
        v["title"] = json!("Building permit delays");
        v["content"] = json!(
            "My building permit application has been waiting for thirty days without any answer."
        );
        assert!(
            input(v)
                .normalized()
                .parse(&rules())
                .unwrap()
                .language_flagged
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut v = valid();
        v["priority"] = json!("urgent");
        assert!(serde_json::from_value::<SubmissionInput>(v).is_err());
    }

    #[test]
    fn states_map_to_citizen_labels() {
        assert_eq!(
            FeedbackState::Received.citizen_status().label_vi(),
            "Đã tiếp nhận"
        );
        assert_eq!(
            FeedbackState::AnswerUnderReview.citizen_status(),
            CitizenStatus::InProgress
        );
        for s in FeedbackState::ALL {
            assert_eq!(FeedbackState::parse(s.as_str()), Some(*s));
        }
    }
}
