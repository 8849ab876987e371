//! The Vietnamese wording of every notice the service queues (the outbox
//! keeps kind + payload; delivery renders them with these
//! templates so wording can improve without touching queued notices).
//! Payloads carry tracking codes and dates, never personal data.

use serde_json::Value;

use super::office::Office;

/// A staff member's daily digest: counts per kind of work, then the most
/// urgent items (codes, titles already stripped of personal data,
/// deadlines), and the link to "Việc của tôi".
fn digest(payload: &Value) -> Rendered {
    let total = payload.get("total").and_then(Value::as_i64).unwrap_or(0);
    let mut body = format!(
        "Ngày {}, có {total} việc đang chờ Ông/Bà hoặc cơ quan của Ông/Bà.",
        field(payload, "date")
    );
    let empty = Vec::new();
    let sections = payload
        .get("sections")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for s in sections {
        body.push_str(&format!(
            "\n\n{} ({}):",
            field(s, "label"),
            s.get("count").and_then(Value::as_i64).unwrap_or(0)
        ));
        for i in s.get("items").and_then(Value::as_array).unwrap_or(&empty) {
            let due = field(i, "due");
            let overdue = i.get("overdue").and_then(Value::as_bool) == Some(true);
            body.push_str(&format!(
                "\n- {} {}{}",
                field(i, "tracking_code"),
                field(i, "title"),
                match (due.is_empty(), overdue) {
                    (true, _) => String::new(),
                    (false, true) => format!(" (quá hạn {due})"),
                    (false, false) => format!(" (hạn {due})"),
                }
            ));
        }
    }
    body.push_str(&format!(
        "\n\nXem và xử lý: {}\n\nÔng/Bà có thể tắt thư tổng hợp hằng ngày trong trang Hồ sơ cá nhân.",
        field(payload, "link")
    ));
    Rendered {
        subject: format!(
            "Việc chờ xử lý ngày {}: {total} việc",
            field(payload, "date")
        ),
        body,
    }
}

/// Subject and body of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

fn field<'a>(payload: &'a Value, name: &str) -> &'a str {
    payload.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Renders `kind` with `payload`; `None` for a kind without a template
/// (a bug: every kind the service queues has one, a test checks).
pub fn render(kind: &str, payload: &Value, office: &Office) -> Option<Rendered> {
    if kind == "staff_daily_digest" {
        return Some(digest(payload));
    }
    let code = field(payload, "tracking_code");
    let (subject, body) = match kind {
        // ND 92/2017: the receiving agency confirms receipt.
        "citizen_acknowledgement" => (
            format!("Đã tiếp nhận phản ánh, kiến nghị {code}"),
            format!(
                "Phản ánh, kiến nghị của Ông/Bà đã được tiếp nhận với mã số {code}. Ông/Bà theo dõi tiến độ và kết quả bằng mã số này và mã tra cứu đã được cấp khi gửi."
            ),
        ),
        // The answer to an e-mail (ND 92/2017: confirm receipt). Sent at
        // most once per sender per window, never to automatic addresses.
        "citizen_email_acknowledgement" => (
            format!("Đã tiếp nhận phản ánh, kiến nghị {code}"),
            format!(
                "Thư của Ông/Bà đã được tiếp nhận là phản ánh, kiến nghị mã số {code} theo Nghị định 20/2008/NĐ-CP.\n\nKết quả xử lý sẽ được gửi đến địa chỉ thư điện tử này. Để bổ sung thông tin, Ông/Bà trả lời thư này và giữ nguyên mã số trong tiêu đề.\n\nĐây là thư trả lời tự động."
            ),
        ),
        "citizen_request_info" => (
            format!("Đề nghị bổ sung thông tin cho phản ánh, kiến nghị {code}"),
            format!(
                "Cơ quan tiếp nhận đề nghị Ông/Bà bổ sung thông tin cho phản ánh, kiến nghị mã số {code}:\n\n{}\n\n{} Thời hạn xử lý tạm dừng cho đến khi nhận được thông tin bổ sung.",
                field(payload, "message"),
                // An e-mail's sender has no lookup token: they answer the mail.
                if payload.get("reply_by_mail").and_then(Value::as_bool) == Some(true) {
                    "Ông/Bà bổ sung bằng cách trả lời thư này."
                } else {
                    "Ông/Bà có thể bổ sung bằng mã tra cứu đã được cấp."
                }
            ),
        ),
        "citizen_not_accepted" => (
            format!("Phản ánh, kiến nghị {code} không được tiếp nhận"),
            format!(
                "Phản ánh, kiến nghị mã số {code} không được tiếp nhận (lý do {}).\n\n{}",
                field(payload, "reason_code"),
                field(payload, "message")
            ),
        ),
        "citizen_forwarded" => (
            format!("Phản ánh, kiến nghị {code} đã được chuyển cơ quan có thẩm quyền"),
            format!(
                "Phản ánh, kiến nghị mã số {code} đã được chuyển đến cơ quan có thẩm quyền (mã cơ quan {}) để xem xét, xử lý.",
                field(payload, "agency_code")
            ),
        ),
        // The answer itself when delivery added it (the citizen's own data,
        // to their own address; `mail.answer_text_in_mail`), and where to
        // read it with the lookup token.
        "citizen_answered" => {
            let mut body = if field(payload, "answered_in").is_empty() {
                format!("Phản ánh, kiến nghị mã số {code} đã có kết quả trả lời.")
            } else {
                format!(
                    "Phản ánh, kiến nghị mã số {code} có cùng nội dung với phản ánh, kiến nghị {} và đã được trả lời chung.",
                    field(payload, "answered_in")
                )
            };
            match field(payload, "answer") {
                "" => body.push_str(
                    " Ông/Bà xem nội dung trả lời bằng mã số và mã tra cứu đã được cấp.",
                ),
                answer => body.push_str(&format!(
                    "\n\nNội dung trả lời:\n\n{answer}\n\nVăn bản kèm theo (nếu có) và đánh giá kết quả trả lời: tại trang Tra cứu, bằng mã số và mã tra cứu đã được cấp."
                )),
            }
            (
                format!("Đã có kết quả trả lời phản ánh, kiến nghị {code}"),
                body + &lookup_line(payload),
            )
        }
        "citizen_token_recovery" => (
            format!("Cấp lại mã tra cứu phản ánh, kiến nghị {code}"),
            format!(
                "Có yêu cầu cấp lại mã tra cứu cho phản ánh, kiến nghị mã số {code} gửi tới địa chỉ thư điện tử này.\n\nĐể nhận mã tra cứu mới, mở đường dẫn sau (dùng được một lần, trong {} phút):\n{}\n\nMã tra cứu cũ sẽ không dùng được nữa. Nếu Ông/Bà không yêu cầu, hãy bỏ qua thư này: mã tra cứu hiện tại vẫn giữ nguyên.",
                payload.get("minutes").and_then(Value::as_i64).unwrap_or(0),
                field(payload, "link")
            ),
        ),
        "citizen_token_issue" => (
            format!("Mã tra cứu phản ánh, kiến nghị {code}"),
            format!(
                "Phản ánh, kiến nghị của Ông/Bà đã được tiếp nhận qua ứng dụng của đơn vị phối hợp, mã số {code}.\n\nĐể nhận mã tra cứu (dùng để xem tình trạng xử lý và kết quả trả lời), mở đường dẫn sau (dùng được một lần, trong {} giờ):\n{}\n\nNếu đường dẫn hết hạn, Ông/Bà có thể yêu cầu đường dẫn mới tại trang Tra cứu, mục \"Tôi không còn mã tra cứu\".",
                payload.get("hours").and_then(Value::as_i64).unwrap_or(0),
                field(payload, "link")
            ),
        ),
        "citizen_message" => (
            format!("Trao đổi về phản ánh, kiến nghị {code}"),
            format!(
                "{}\n\n(Về phản ánh, kiến nghị mã số {code}. Ông/Bà có thể trả lời thư này.)",
                field(payload, "text")
            ),
        ),
        "citizen_published" => (
            format!("Phản ánh, kiến nghị {code} và trả lời đã được công khai"),
            format!(
                "Phản ánh, kiến nghị mã số {code} và nội dung trả lời đã được đăng công khai trên Cổng thông tin, sau khi lược bỏ thông tin cá nhân của Ông/Bà."
            ),
        ),
        "citizen_merged" => (
            format!("Phản ánh, kiến nghị {code} được xử lý chung"),
            format!(
                "Phản ánh, kiến nghị mã số {code} có cùng nội dung với phản ánh, kiến nghị {} và sẽ được xử lý, trả lời chung. Ông/Bà tiếp tục theo dõi bằng mã số và mã tra cứu của mình.",
                field(payload, "into")
            ),
        ),
        "agency_forwarded" => (
            format!("Chuyển xử lý phản ánh, kiến nghị {code}"),
            format!(
                "{} chuyển phản ánh, kiến nghị mã số {code} để quý cơ quan xem xét, xử lý theo thẩm quyền.{}",
                office.name,
                note_line(payload)
            ),
        ),
        "agency_answer_sent_back" => (
            format!("Đề nghị hoàn thiện dự thảo trả lời {code}"),
            format!(
                "Dự thảo trả lời phản ánh, kiến nghị mã số {code} chưa được duyệt.{}",
                note_line(payload)
            ),
        ),
        // DOMAIN §6.3: the lead agency asks others to contribute.
        "agency_coordination_requested" => (
            format!("Đề nghị phối hợp xử lý phản ánh, kiến nghị {code}"),
            format!(
                "Cơ quan chủ trì xử lý (mã cơ quan {}) đề nghị quý cơ quan phối hợp, cho ý kiến về phản ánh, kiến nghị mã số {code} trước {}.{}",
                field(payload, "lead_agency_code"),
                field(payload, "due_at"),
                note_line(payload)
            ),
        ),
        "agency_coordination_withdrawn" => (
            format!("Không còn đề nghị phối hợp: {code}"),
            format!(
                "Cơ quan chủ trì không còn đề nghị quý cơ quan phối hợp xử lý phản ánh, kiến nghị mã số {code}.{}",
                note_line(payload)
            ),
        ),
        "agency_coordination_contributed" => (
            format!("Đã có ý kiến phối hợp: {code}"),
            format!(
                "Cơ quan phối hợp (mã cơ quan {}) đã gửi ý kiến về phản ánh, kiến nghị mã số {code}.",
                field(payload, "agency_code")
            ),
        ),
        "agency_recalled" => (
            format!("Thu hồi phản ánh, kiến nghị {code}"),
            format!(
                "{} thu hồi phản ánh, kiến nghị mã số {code} đã chuyển quý cơ quan để chuyển xử lý lại.{}",
                office.name,
                note_line(payload)
            ),
        ),
        "control_office_returned" => (
            format!("Phản ánh, kiến nghị {code} bị trả lại"),
            format!(
                "Cơ quan được chuyển đã trả lại phản ánh, kiến nghị mã số {code} (lần {}).{}",
                payload.get("bounces").and_then(Value::as_i64).unwrap_or(0),
                note_line(payload)
            ),
        ),
        "control_office_supplemented" => (
            format!("Người gửi đã bổ sung thông tin cho {code}"),
            format!(
                "Người gửi đã bổ sung thông tin cho phản ánh, kiến nghị mã số {code}; thời hạn xử lý tiếp tục được tính."
            ),
        ),
        "control_office_mail_reply" => (
            format!("Thư trả lời mới của người gửi {code}"),
            format!(
                "Người gửi phản ánh, kiến nghị mã số {code} vừa gửi thư trả lời. Nội dung xem trong mục thư của phản ánh, kiến nghị."
            ),
        ),
        "control_office_low_rating" => (
            format!("Người gửi chưa hài lòng với trả lời {code}"),
            format!(
                "Người gửi đánh giá {} / 5 đối với trả lời phản ánh, kiến nghị mã số {code}; đề nghị xem xét lại.",
                payload.get("score").and_then(Value::as_i64).unwrap_or(0)
            ),
        ),
        // The clarification period ran out on a request that never
        // reached the citizen: nothing expires by itself, staff decide.
        "control_office_clarification_undelivered" => (
            format!("Đề nghị bổ sung chưa đến được người gửi: {code}"),
            format!(
                "Đã hết thời hạn bổ sung thông tin cho phản ánh, kiến nghị mã số {code}, nhưng đề nghị bổ sung chưa đến được người gửi (không có địa chỉ thư điện tử, thư bị trả lại hoặc chưa gửi được). Phản ánh, kiến nghị không tự động bị từ chối; đề nghị liên hệ người gửi hoặc quyết định từ chối theo lý do R07."
            ),
        ),
        "deadline_near_due" => (
            format!("Sắp đến hạn: {} – {code}", field(payload, "deadline_label")),
            format!(
                "Phản ánh, kiến nghị mã số {code} sắp đến hạn {} ({}).",
                field(payload, "deadline_label").to_lowercase(),
                field(payload, "due_at")
            ),
        ),
        "deadline_overdue" | "deadline_overdue_escalation" => (
            format!("Quá hạn: {} – {code}", field(payload, "deadline_label")),
            format!(
                "Phản ánh, kiến nghị mã số {code} đã quá hạn {} (hạn {}).",
                field(payload, "deadline_label").to_lowercase(),
                field(payload, "due_at")
            ),
        ),
        "deadline_overdue_update" | "deadline_overdue_update_escalation" => (
            format!("Cập nhật tiến độ: {code} vẫn quá hạn"),
            format!(
                "Phản ánh, kiến nghị mã số {code} vẫn quá hạn {} (hạn {}); đề nghị cập nhật tình hình xử lý (07 ngày một lần).",
                field(payload, "deadline_label").to_lowercase(),
                field(payload, "due_at")
            ),
        ),
        _ => return None,
    };
    Some(Rendered { subject, body })
}

fn lookup_line(payload: &Value) -> String {
    match field(payload, "lookup_url") {
        "" => String::new(),
        url => format!("\n\nTrang Tra cứu: {url}"),
    }
}

fn note_line(payload: &Value) -> String {
    match field(payload, "note") {
        "" => String::new(),
        note => format!("\n\nGhi chú: {note}"),
    }
}

/// Every kind the service queues (checked by a test against `render`).
pub const KINDS: [&str; 27] = [
    "citizen_acknowledgement",
    "citizen_token_recovery",
    "citizen_token_issue",
    "citizen_email_acknowledgement",
    "citizen_request_info",
    "citizen_not_accepted",
    "citizen_forwarded",
    "citizen_answered",
    "citizen_merged",
    "citizen_published",
    "citizen_message",
    "agency_forwarded",
    "agency_answer_sent_back",
    "agency_recalled",
    "agency_coordination_requested",
    "agency_coordination_withdrawn",
    "agency_coordination_contributed",
    "control_office_returned",
    "control_office_supplemented",
    "control_office_low_rating",
    "control_office_mail_reply",
    "control_office_clarification_undelivered",
    "deadline_near_due",
    "deadline_overdue",
    "deadline_overdue_escalation",
    "deadline_overdue_update",
    "deadline_overdue_update_escalation",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::office::ProvinceKind;

    fn office() -> Office {
        Office {
            province_code: "51".into(),
            kind: ProvinceKind::Tinh,
            province_name: "Quảng Ngãi".into(),
            name: "Văn phòng Ủy ban nhân dân tỉnh Quảng Ngãi".into(),
            hotline: String::new(),
            postal_address: String::new(),
            email: String::new(),
            opening_hours: String::new(),
            emblem_url: String::new(),
        }
    }

    #[test]
    fn agencies_read_the_office_by_its_name_and_citizens_get_the_answer_itself() {
        let forwarded = render(
            "agency_forwarded",
            &serde_json::json!({"tracking_code": "PAKN.51.20261122.0001"}),
            &office(),
        )
        .unwrap();
        assert!(
            forwarded
                .body
                .starts_with("Văn phòng Ủy ban nhân dân tỉnh Quảng Ngãi chuyển"),
            "{}",
            forwarded.body
        );
        let with_text = render(
            "citizen_answered",
            &serde_json::json!({
                "tracking_code": "PAKN.51.20261122.0001",
                "answer": "Sở Xây dựng trả lời: hồ sơ chỉ nộp một bản sao.",
                "lookup_url": "https://pakn.example/tra-cuu?ma=PAKN.51.20261122.0001",
            }),
            &office(),
        )
        .unwrap();
        assert!(
            with_text
                .body
                .contains("Sở Xây dựng trả lời: hồ sơ chỉ nộp một bản sao.")
        );
        assert!(
            with_text
                .body
                .contains("https://pakn.example/tra-cuu?ma=PAKN.51.20261122.0001")
        );
        let link_only = render(
            "citizen_answered",
            &serde_json::json!({"tracking_code": "PAKN.51.20261122.0001"}),
            &office(),
        )
        .unwrap();
        assert!(link_only.body.contains("bằng mã số và mã tra cứu"));
        assert!(!link_only.body.contains("Nội dung trả lời"));
    }

    #[test]
    fn every_kind_renders_in_vietnamese_with_its_tracking_code() {
        let payload = serde_json::json!({
            "tracking_code": "PAKN.48.20261122.0001",
            "message": "Đề nghị cung cấp số biên nhận.",
            "reason_code": "R02",
            "agency_code": "48.SXD",
            "into": "PAKN.48.20261120.0007",
            "note": "Thuộc thẩm quyền Sở",
            "bounces": 2,
            "score": 1,
            "deadline_label": "Trả lời",
            "due_at": "2026-12-18T23:59:59+07:00",
        });
        for kind in KINDS {
            let r = render(kind, &payload, &office())
                .unwrap_or_else(|| panic!("{kind} has no template"));
            assert!(r.subject.contains("PAKN.48.20261122.0001"), "{kind}");
            assert!(r.body.contains("PAKN.48.20261122.0001"), "{kind}");
        }
        assert!(render("unknown", &payload, &office()).is_none());
    }

    #[test]
    fn a_digest_lists_counts_codes_titles_and_deadlines() {
        let payload = serde_json::json!({
            "date": "03/12/2026",
            "total": 3,
            "sections": [
                {"label": "Chờ duyệt trả lời", "count": 2, "items": [
                    {"tracking_code": "PAKN.48.20261122.0001", "title": "Cấp phép xây dựng", "due": "10/12/2026", "overdue": false},
                    {"tracking_code": "PAKN.48.20261122.0002", "title": "Đất đai", "due": "01/12/2026", "overdue": true},
                ]},
                {"label": "Cơ quan khác đề nghị phối hợp, chờ ý kiến", "count": 1, "items": [
                    {"tracking_code": "PAKN.48.20261122.0003", "title": "Thuế", "due": "", "overdue": false},
                ]},
            ],
            "link": "https://pakn.example/nhan-vien/viec-cua-toi",
        });
        let r = render("staff_daily_digest", &payload, &office()).unwrap();
        assert_eq!(r.subject, "Việc chờ xử lý ngày 03/12/2026: 3 việc");
        assert!(r.body.contains("Chờ duyệt trả lời (2):"), "{}", r.body);
        assert!(
            r.body
                .contains("- PAKN.48.20261122.0001 Cấp phép xây dựng (hạn 10/12/2026)")
        );
        assert!(
            r.body
                .contains("- PAKN.48.20261122.0002 Đất đai (quá hạn 01/12/2026)")
        );
        assert!(r.body.contains("- PAKN.48.20261122.0003 Thuế\n"));
        assert!(
            r.body
                .contains("https://pakn.example/nhan-vien/viec-cua-toi")
        );
    }

    #[test]
    fn every_kind_the_code_queues_has_a_template() {
        let sources = [
            include_str!("../services/workflow/mod.rs"),
            include_str!("../services/workflow/plans.rs"),
            include_str!("../services/deadlines.rs"),
            include_str!("../store/feedback.rs"),
            include_str!("../services/intake.rs"),
            include_str!("../services/mail_intake.rs"),
        ];
        for source in sources {
            for (i, _) in source
                .match_indices("\"citizen_")
                .chain(source.match_indices("\"agency_"))
                .chain(source.match_indices("\"control_office_"))
            {
                let kind: String = source[i + 1..].chars().take_while(|c| *c != '"').collect();
                // Audiences, columns and payload fields share the prefixes.
                if kind == "control_office"
                    || kind == "citizen_status"
                    || kind.ends_with("_id")
                    || kind.ends_with("_code")
                {
                    continue;
                }
                assert!(
                    KINDS.contains(&kind.as_str()),
                    "{kind} is queued but has no template"
                );
            }
        }
    }
}
