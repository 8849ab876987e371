//! The one error type of the HTTP layer, rendered as RFC 9457
//! `application/problem+json` with a stable `code`, a Vietnamese `detail`,
//! the request ID and per-field errors. Every lower-layer error is mapped
//! to a status here and nowhere else.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::feedback::FieldError;
use crate::services::intake::IntakeError;
use crate::services::lookup::LookupError;
use crate::store::StoreError;

tokio::task_local! {
    /// The current request's ID, set by the request middleware so that error
    /// bodies can quote it.
    pub static REQUEST_ID: String;
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The request's id (the `X-Request-Id` the middleware set), for the
/// audit trail of what the request changes.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Boxed so that `Result<_, ApiError>` stays small on the happy path.
#[derive(Debug)]
pub struct ApiError(Box<Problem>);

#[derive(Debug)]
struct Problem {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: Cow<'static, str>,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
    allow: Option<String>,
    /// 401: ask for a bearer token (RFC 6750).
    bearer_challenge: bool,
    /// 409 on an item: where it stands now, so the client can reload.
    current: Option<(String, i32)>,
    /// 409 on a draft: the draft someone else saved meanwhile.
    draft: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    problem_type: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
    #[serde(skip_serializing_if = "Option::is_none")]
    current_state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    draft: Option<&'a serde_json::Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0.status.as_u16(), self.0.code)
    }
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self(Box::new(Problem {
            status,
            code,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            allow: None,
            bearer_challenge: false,
            current: None,
            draft: None,
        }))
    }

    /// Fields of a request body that are not acceptable.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Dữ liệu không hợp lệ",
            "Dữ liệu gửi lên chưa hợp lệ. Vui lòng kiểm tra các trường được nêu.",
        );
        e.0.errors = errors;
        e
    }

    /// A submission that does not meet what Decree 20 asks of it.
    pub fn submission_invalid(errors: Vec<FieldError>) -> Self {
        let mut e = Self::validation(errors);
        e.0.detail = "Phản ánh, kiến nghị chưa đáp ứng yêu cầu về thông tin (Nghị định 20/2008/NĐ-CP, Điều 7). Vui lòng kiểm tra các trường được nêu.".into();
        e
    }

    /// Query parameters that are not acceptable: the detail names each,
    /// with what is wrong with it.
    pub fn invalid_query(errors: Vec<FieldError>) -> Self {
        let listed: Vec<String> = errors
            .iter()
            .map(|f| format!("“{}”: {}", f.field, f.message))
            .collect();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Tham số không hợp lệ",
            format!("Tham số truy vấn không hợp lệ — {}", listed.join("; ")),
        );
        e.0.errors = errors;
        e
    }

    /// The title and detail, for a page that explains the refusal.
    pub fn title_and_detail(&self) -> (String, String) {
        (self.0.title.to_string(), self.0.detail.to_string())
    }

    /// The per-field errors of a validation problem (empty otherwise).
    pub fn field_errors(self) -> Vec<FieldError> {
        self.0.errors
    }

    pub fn malformed(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "Yêu cầu không đúng định dạng",
            detail,
        )
    }

    pub fn unauthorized() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Chưa đăng nhập",
            "Vui lòng đăng nhập (phiên làm việc không có, đã hết hạn hoặc đã bị thu hồi).",
        );
        e.0.bearer_challenge = true;
        e
    }

    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Đăng nhập không thành công",
            "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang bị khoá tạm thời. Vui lòng thử lại hoặc liên hệ quản trị hệ thống.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Không có quyền",
            "Tài khoản của Ông/Bà không có quyền thực hiện thao tác này.",
        )
    }

    /// A browser posted here from another site's page (CSRF).
    pub fn cross_site() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "Yêu cầu từ trang web khác",
            "Trình duyệt cho biết yêu cầu này được gửi từ một trang web khác nên không được chấp nhận. Vui lòng gửi tại trang của cơ quan; cổng thông tin tích hợp cần dùng khoá API.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Không tìm thấy",
            "Không tìm thấy nội dung yêu cầu.",
        )
    }

    /// No published Q&A item with this code: the same for an unknown code
    /// and an unpublished item (no enumeration).
    pub fn qa_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "qa_not_found",
            "Không tìm thấy",
            "Không có câu hỏi – trả lời công khai với mã số này.",
        )
    }

    pub fn method_not_allowed(allow: String) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Phương thức không được hỗ trợ",
            "Địa chỉ này không hỗ trợ phương thức HTTP đã dùng.",
        );
        e.0.allow = Some(allow);
        e
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Định dạng dữ liệu không được hỗ trợ",
            "Vui lòng gửi dữ liệu dạng application/json, application/x-www-form-urlencoded hoặc multipart/form-data.",
        )
    }

    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "Gửi dữ liệu quá lâu",
            "Dữ liệu gửi lên bị ngắt quãng quá lâu nên yêu cầu đã bị huỷ. Vui lòng gửi lại.",
        )
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Dữ liệu gửi lên quá lớn",
            "Dung lượng dữ liệu gửi lên vượt quá giới hạn cho phép.",
        )
    }

    /// Seconds to wait, for errors that say so (429, 503).
    pub fn retry_after(&self) -> Option<u64> {
        self.0.retry_after
    }

    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Quá nhiều yêu cầu",
            "Ông/Bà đã gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng thử lại sau ít phút.",
        );
        e.0.retry_after = Some(retry_after_seconds.max(1));
        e
    }

    pub fn unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Hệ thống tạm thời gián đoạn",
            "Hệ thống đang tạm thời gián đoạn; phản ánh, kiến nghị chưa được ghi nhận. Vui lòng gửi lại sau ít phút.",
        );
        e.0.retry_after = Some(5);
        e
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Lỗi hệ thống",
            "Đã có lỗi ngoài ý muốn. Vui lòng thử lại sau; nếu lỗi lặp lại, xin cung cấp mã yêu cầu (request_id) cho bộ phận hỗ trợ.",
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let p = &self.0;
        let body = ProblemBody {
            problem_type: format!("urn:pakn:problem:{}", p.code),
            title: p.title,
            status: p.status.as_u16(),
            code: p.code,
            detail: &p.detail,
            request_id: REQUEST_ID.try_with(Clone::clone).ok(),
            errors: &p.errors,
            current_state: p.current.as_ref().map(|(s, _)| s.as_str()),
            current_version: p.current.as_ref().map(|(_, v)| *v),
            draft: p.draft.as_ref(),
        };
        let mut response = HttpResponse::build(p.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(seconds) = p.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if p.bearer_challenge {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"pakn\""),
            ));
        }
        if let Some(allow) = &p.allow {
            response.insert_header((header::ALLOW, allow.clone()));
        }
        response.body(serde_json::to_vec(&body).unwrap_or_default())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::unavailable()
            }
            other => {
                tracing::error!(error = %other, error.debug = ?other, "storage failure");
                ApiError::internal()
            }
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(err: IntakeError) -> Self {
        match err {
            IntakeError::Invalid(errors) => ApiError::submission_invalid(errors),
            IntakeError::Forbidden => ApiError::forbidden(),
            IntakeError::IdempotencyKeyInvalid => ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_invalid",
                "Idempotency-Key không hợp lệ",
                "Tiêu đề Idempotency-Key phải gồm 16–255 ký tự ASCII nhìn thấy được; hãy dùng một giá trị ngẫu nhiên cho mỗi lần gửi (ví dụ một UUID).",
            ),
            IntakeError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency-Key đã được dùng",
                "Idempotency-Key này đã được dùng cho một phản ánh, kiến nghị có nội dung khác.",
            ),
            IntakeError::NoReceivingOffice(province) => {
                tracing::error!(%province, "no receiving office in the directory; load the directory (pakn demo-data) or fix province.code");
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_configured",
                    "Hệ thống chưa sẵn sàng",
                    "Hệ thống chưa được cấu hình cơ quan tiếp nhận. Vui lòng liên hệ quản trị hệ thống.",
                );
                e.0.retry_after = Some(60);
                e
            }
            IntakeError::Store(e) => e.into(),
            IntakeError::Internal(m) => {
                tracing::error!(error = %m, "intake failure");
                ApiError::internal()
            }
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(err: LookupError) -> Self {
        match err {
            LookupError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "feedback_not_found",
                "Không tìm thấy phản ánh, kiến nghị",
                "Không tìm thấy phản ánh, kiến nghị với mã số và mã tra cứu đã nhập. Vui lòng kiểm tra lại.",
            ),
            LookupError::Store(e) => e.into(),
        }
    }
}

impl From<crate::services::auth::AuthError> for ApiError {
    fn from(err: crate::services::auth::AuthError) -> Self {
        use crate::services::auth::AuthError;
        match err {
            AuthError::InvalidCredentials => ApiError::invalid_credentials(),
            AuthError::Unauthenticated => ApiError::unauthorized(),
            AuthError::Invalid(m) => {
                tracing::debug!(error = %m, "invalid staff request");
                ApiError::malformed("Yêu cầu không hợp lệ.")
            }
            AuthError::Store(e) => e.into(),
            AuthError::Busy => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "Hệ thống đang bận",
                    "Có quá nhiều lượt đăng nhập cùng lúc. Vui lòng thử lại sau ít giây.",
                );
                e.0.retry_after = Some(5);
                e
            }
            AuthError::Internal(m) => {
                tracing::error!(error = %m, "authentication failed internally");
                ApiError::internal()
            }
        }
    }
}

impl From<crate::services::calendar::CalendarError> for ApiError {
    fn from(err: crate::services::calendar::CalendarError) -> Self {
        use crate::services::calendar::CalendarError;
        match err {
            CalendarError::Invalid(errors) => {
                let mut e = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "calendar_day_invalid",
                    "Ngày không hợp lệ",
                    "Không thể cập nhật lịch: ngày làm việc bù phải là thứ Bảy hoặc Chủ nhật, ngày nghỉ phải là ngày trong tuần, cần nêu tên và văn bản căn cứ.",
                );
                e.0.errors = errors
                    .iter()
                    .map(|m| {
                        FieldError::new("day", crate::domain::calendar::schedule_file::rule_code(m))
                    })
                    .collect();
                e
            }
            CalendarError::Store(e) => e.into(),
        }
    }
}

impl From<crate::services::workflow::WorkflowError> for ApiError {
    fn from(err: crate::services::workflow::WorkflowError) -> Self {
        use crate::services::workflow::WorkflowError;
        match err {
            WorkflowError::NotFound => ApiError::not_found(),
            WorkflowError::Forbidden => ApiError::forbidden(),
            WorkflowError::SeparationOfDuties => ApiError::new(
                StatusCode::FORBIDDEN,
                "four_eyes",
                "Người soạn không tự duyệt",
                "Theo quy tắc bốn mắt của đơn vị, người soạn dự thảo trả lời không được duyệt chính trả lời đó. Đề nghị cán bộ khác duyệt.",
            ),
            WorkflowError::InvalidTransition { state, version } => {
                let mut e = ApiError::new(
                    StatusCode::CONFLICT,
                    "invalid_transition",
                    "Thao tác không phù hợp với trạng thái",
                    "Thao tác này không thực hiện được ở trạng thái hiện tại của phản ánh, kiến nghị.",
                );
                e.0.current = Some((state, version));
                e
            }
            WorkflowError::VersionConflict { state, version, .. } => {
                let mut e = ApiError::new(
                    StatusCode::CONFLICT,
                    "version_conflict",
                    "Dữ liệu đã thay đổi",
                    "Phản ánh, kiến nghị vừa được người khác cập nhật. Vui lòng tải lại và thực hiện lại thao tác nếu vẫn cần.",
                );
                e.0.current = Some((state, version));
                e
            }
            WorkflowError::Invalid(errors) => {
                let mut e = ApiError::validation(errors);
                e.0.detail =
                    "Thông tin của thao tác chưa hợp lệ. Vui lòng kiểm tra các trường được nêu."
                        .into();
                e
            }
            WorkflowError::Store(e) => e.into(),
        }
    }
}

impl From<crate::services::answers::DraftError> for ApiError {
    fn from(err: crate::services::answers::DraftError) -> Self {
        use crate::services::answers::DraftError;
        match err {
            DraftError::Staff(e) => e.into(),
            DraftError::Conflict(theirs) => {
                let mut e = ApiError::new(
                    StatusCode::CONFLICT,
                    "draft_conflict",
                    "Dự thảo đã được lưu bởi người khác",
                    format!(
                        "{} đã lưu một bản khác của dự thảo lúc {}. Bản của Ông/Bà chưa được lưu; xem bản đó, hoặc lưu đè (overwrite).",
                        theirs.saved_by,
                        theirs.saved_at.datetime_vi()
                    ),
                );
                e.0.draft = serde_json::to_value(&theirs).ok();
                e
            }
        }
    }
}

impl From<crate::services::staff_items::StaffError> for ApiError {
    fn from(err: crate::services::staff_items::StaffError) -> Self {
        use crate::services::staff_items::StaffError;
        match err {
            StaffError::NotFound => ApiError::not_found(),
            StaffError::Forbidden => ApiError::forbidden(),
            StaffError::Invalid(errors) => ApiError::validation(errors),
            StaffError::Workflow(e) => e.into(),
            StaffError::Store(e) => e.into(),
        }
    }
}
