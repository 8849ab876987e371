//! The six-monthly report's content as tables, written once
//! and rendered twice: as the HTML page an official prints or saves as
//! PDF, and as an XLSX workbook; and the item export as CSV and XLSX.

use std::collections::BTreeMap;

use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};

use crate::domain::feedback::{Channel, ContentCategory, FeedbackKind, FeedbackState};
use crate::domain::reporting::{Statistics, Timeliness, UNROUTED, decimal_vi, percent};
use crate::domain::time::vietnam_datetime;
use crate::store::reports::ExportRow;

/// A cell: text, a count, or a figure with one decimal (none: "—").
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(u64),
    Decimal(Option<f64>),
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Text(t) => f.write_str(t),
            Cell::Count(n) => write!(f, "{}", group_thousands(*n)),
            Cell::Decimal(Some(v)) => f.write_str(&decimal_vi(*v)),
            Cell::Decimal(None) => f.write_str("—"),
        }
    }
}

/// `12.345` — Vietnamese groups thousands with a dot.
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

pub struct Table {
    pub caption: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

pub struct Section {
    pub heading: String,
    pub tables: Vec<Table>,
}

fn share_rows(
    map: &BTreeMap<String, u64>,
    total: u64,
    label: impl Fn(&str) -> String,
) -> Vec<Vec<Cell>> {
    let mut rows: Vec<(&String, &u64)> = map.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    rows.into_iter()
        .map(|(code, n)| {
            vec![
                text(label(code)),
                Cell::Count(*n),
                Cell::Decimal(percent(*n, total)),
            ]
        })
        .collect()
}

/// The office's items that QĐ 31/2021/QĐ-TTg Art. 43(2) has it enter
/// into the national PAKN system, and how many carry their national code.
pub fn national_section(in_scope: u64, recorded: u64) -> Section {
    let row = |label: &str, n: u64| {
        vec![
            text(label),
            Cell::Count(n),
            Cell::Decimal(percent(n, in_scope)),
        ]
    };
    Section {
        heading: "Cập nhật lên Hệ thống thông tin PAKN quốc gia".into(),
        tables: vec![Table {
            caption: "Phản ánh, kiến nghị nhận qua thư, điện thoại, thư điện tử (Điều 43 khoản 2 Quyết định 31/2021/QĐ-TTg)".into(),
            head: vec!["Nội dung".into(), "Số lượng".into(), "Tỷ lệ (%)".into()],
            rows: vec![
                row("Tiếp nhận trong kỳ", in_scope),
                row("Đã cập nhật, có mã PAKN quốc gia", recorded),
                row("Chưa cập nhật", in_scope - recorded),
            ],
        }],
    }
}

fn channel_label(code: &str) -> String {
    Channel::parse(code)
        .map(|c| c.label_vi().to_string())
        .unwrap_or_else(|| code.to_string())
}

fn category_label(code: &str) -> String {
    ContentCategory::parse(code)
        .map(|c| c.label_vi().to_string())
        .unwrap_or_else(|| "Chưa phân loại".to_string())
}

fn kind_label(code: &str) -> String {
    FeedbackKind::parse(code)
        .map(|k| k.label_vi().to_string())
        .unwrap_or_else(|| code.to_string())
}

/// How a report names the agency behind an `answered_by_agency` key.
pub fn agency_label(code: &str, agency_name: &dyn Fn(&str) -> String) -> String {
    if code == UNROUTED {
        "Văn phòng xử lý trực tiếp".to_string()
    } else {
        agency_name(code)
    }
}

/// The report's sections from the figures; `agency_name` and
/// `reason_label` turn codes into the names readers know.
pub fn sections(
    s: &Statistics,
    agency_name: &dyn Fn(&str) -> String,
    reason_label: &dyn Fn(&str) -> String,
) -> Vec<Section> {
    let share_head = || {
        vec![
            "Nội dung".to_string(),
            "Số lượng".to_string(),
            "Tỷ lệ (%)".to_string(),
        ]
    };
    let mut received = vec![Table {
        caption: "Tiếp nhận theo kênh".into(),
        head: share_head(),
        rows: share_rows(&s.received_by_channel, s.received_total, channel_label),
    }];
    received.push(Table {
        caption: "Tiếp nhận theo loại".into(),
        head: share_head(),
        rows: share_rows(&s.received_by_kind, s.received_total, kind_label),
    });
    received.push(Table {
        caption: "Tiếp nhận theo nội dung (Điều 4, Điều 5 Nghị định 20/2008/NĐ-CP)".into(),
        head: share_head(),
        rows: share_rows(
            &s.received_by_content_category,
            s.received_total,
            category_label,
        ),
    });
    for t in &mut received {
        t.rows.push(vec![
            text("Tổng cộng"),
            Cell::Count(s.received_total),
            Cell::Decimal(percent(s.received_total, s.received_total)),
        ]);
    }

    let mut outcome = vec![vec![
        text("Không tiếp nhận"),
        Cell::Count(s.not_accepted_total),
    ]];
    for (code, n) in &s.not_accepted_by_reason {
        outcome.push(vec![
            text(format!("  – {}", reason_label(code))),
            Cell::Count(*n),
        ]);
    }
    outcome.extend([
        vec![
            text("Chuyển đến cơ quan xử lý"),
            Cell::Count(s.forwarded_in),
        ],
        vec![
            text("Cơ quan trả lại, Văn phòng thu hồi để chuyển lại"),
            Cell::Count(s.forwarded_out),
        ],
        vec![text("Đã trả lời"), Cell::Count(s.answered_total)],
        vec![text("  – Đúng hạn"), Cell::Count(s.answered_on_time)],
        vec![
            text("  – Trong thời hạn gia hạn"),
            Cell::Count(s.answered_within_extension),
        ],
        vec![text("  – Trễ hạn"), Cell::Count(s.answered_late)],
        vec![
            text("Đang xử lý, trong hạn (tại thời điểm lập báo cáo)"),
            Cell::Count(s.open_within_deadline),
        ],
        vec![
            text("Đang xử lý, quá hạn (tại thời điểm lập báo cáo)"),
            Cell::Count(s.open_past_deadline),
        ],
    ]);
    let timing = vec![
        vec![
            text("Thời gian xử lý (ngày làm việc, từ tiếp nhận đến trả lời)"),
            Cell::Count(s.handling_working_days.count),
            Cell::Decimal(s.handling_working_days.median),
            Cell::Decimal(s.handling_working_days.p90),
        ],
        vec![
            text("Thời gian từ khi nhận đến khi nhập vào hệ thống (giờ; điện thoại, thư)"),
            Cell::Count(s.entry_delay_hours.count),
            Cell::Decimal(s.entry_delay_hours.median),
            Cell::Decimal(s.entry_delay_hours.p90),
        ],
    ];

    let mut codes: Vec<&String> = s
        .answered_by_agency
        .keys()
        .chain(s.forwarded_by_agency.keys())
        .collect();
    codes.sort();
    codes.dedup();
    let by_agency = codes
        .into_iter()
        .map(|code| {
            let a = s.answered_by_agency.get(code).copied().unwrap_or_default();
            let f = s.forwarded_by_agency.get(code).copied().unwrap_or_default();
            vec![
                text(agency_label(code, agency_name)),
                Cell::Count(f.forwarded_in),
                Cell::Count(f.forwarded_out),
                Cell::Count(a.total),
                Cell::Count(a.on_time),
                Cell::Count(a.within_extension),
                Cell::Count(a.late),
                Cell::Decimal(a.on_time_percent()),
            ]
        })
        .collect();

    let mut published = vec![
        vec![text("Câu trả lời đã công khai"), Cell::Count(s.published)],
        vec![text("Lượt đánh giá kết quả trả lời"), Cell::Count(s.rated)],
    ];
    for score in (1..=5).rev() {
        published.push(vec![
            text(format!("  – {score} điểm")),
            Cell::Count(
                s.rating_by_score
                    .get(&score.to_string())
                    .copied()
                    .unwrap_or(0),
            ),
        ]);
    }

    vec![
        Section {
            heading: "I. TÌNH HÌNH TIẾP NHẬN".into(),
            tables: received,
        },
        Section {
            heading: "II. KẾT QUẢ XỬ LÝ".into(),
            tables: vec![
                Table {
                    caption: "Kết quả xử lý".into(),
                    head: vec!["Nội dung".into(), "Số lượng".into()],
                    rows: outcome,
                },
                Table {
                    caption: "Thời gian xử lý".into(),
                    head: vec![
                        "Nội dung".into(),
                        "Số trường hợp".into(),
                        "Trung vị".into(),
                        "90% trong vòng".into(),
                    ],
                    rows: timing,
                },
            ],
        },
        Section {
            heading: "III. KẾT QUẢ THEO CƠ QUAN XỬ LÝ".into(),
            tables: vec![Table {
                caption: "Theo cơ quan xử lý".into(),
                head: [
                    "Cơ quan",
                    "Được chuyển đến",
                    "Trả lại",
                    "Đã trả lời",
                    "Đúng hạn",
                    "Trong gia hạn",
                    "Trễ hạn",
                    "Tỷ lệ đúng hạn (%)",
                ]
                .map(String::from)
                .to_vec(),
                rows: by_agency,
            }],
        },
        Section {
            heading: "IV. CÔNG KHAI VÀ ĐÁNH GIÁ CỦA NGƯỜI DÂN".into(),
            tables: vec![Table {
                caption: "Công khai và đánh giá".into(),
                head: vec!["Nội dung".into(), "Số lượng".into()],
                rows: published,
            }],
        },
    ]
}

/// What heads the document: who reports, to whom, when.
pub struct DocumentHead {
    pub parent_agency: String,
    pub agency: String,
    pub place_and_date: String,
    pub subject: String,
    pub period_line: String,
}

/// The report as a workbook: one sheet with the head, the tables and
/// the assessment, in the order of the printed report.
pub fn report_xlsx(
    head: &DocumentHead,
    sections: &[Section],
    narrative: &[String],
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let centre = Format::new().set_bold().set_align(FormatAlign::Center);
    let sheet = workbook.add_worksheet();
    sheet.set_name("Báo cáo")?;
    sheet.set_column_width(0, 70)?;
    for col in 1..8 {
        sheet.set_column_width(col, 16)?;
    }
    sheet.write_string_with_format(0, 0, head.parent_agency.to_uppercase(), &bold)?;
    sheet.write_string_with_format(0, 3, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &bold)?;
    sheet.write_string_with_format(1, 0, head.agency.to_uppercase(), &bold)?;
    sheet.write_string_with_format(1, 3, "Độc lập - Tự do - Hạnh phúc", &bold)?;
    sheet.write_string(2, 3, &head.place_and_date)?;
    sheet.write_string_with_format(4, 0, "BÁO CÁO", &centre)?;
    sheet.write_string_with_format(5, 0, &head.subject, &bold)?;
    sheet.write_string(6, 0, &head.period_line)?;
    let mut row: u32 = 8;
    for section in sections {
        sheet.write_string_with_format(row, 0, &section.heading, &bold)?;
        row += 1;
        for table in &section.tables {
            sheet.write_string_with_format(row, 0, &table.caption, &bold)?;
            row += 1;
            for (col, h) in table.head.iter().enumerate() {
                sheet.write_string_with_format(row, col as u16, h, &bold)?;
            }
            row += 1;
            for cells in &table.rows {
                for (col, cell) in cells.iter().enumerate() {
                    let col = col as u16;
                    match cell {
                        Cell::Text(t) => sheet.write_string(row, col, t)?,
                        Cell::Count(n) => sheet.write_number(row, col, *n as f64)?,
                        Cell::Decimal(Some(v)) => sheet.write_number(row, col, *v)?,
                        Cell::Decimal(None) => sheet.write_string(row, col, "—")?,
                    };
                }
                row += 1;
            }
            row += 1;
        }
    }
    sheet.write_string_with_format(row, 0, "V. NHẬN XÉT, ĐÁNH GIÁ", &bold)?;
    row += 1;
    for paragraph in narrative {
        sheet.write_string(row, 0, paragraph)?;
        row += 1;
    }
    workbook.save_to_buffer()
}

/// The export's columns. Never the submitter: name, address, phone and
/// e-mail stay in the service (ND 13/2023 on personal data: a
/// spreadsheet is copied and mailed beyond anyone's control).
pub const EXPORT_HEAD: [&str; 16] = [
    "Mã số",
    "Ngày tiếp nhận",
    "Kênh",
    "Loại",
    "Nội dung (phân loại)",
    "Lĩnh vực",
    "Cơ quan xử lý",
    "Trạng thái",
    "Tiêu đề",
    "Hạn trả lời ban đầu",
    "Hạn trả lời (sau gia hạn)",
    "Ngày trả lời",
    "Tiến độ",
    "Lý do không tiếp nhận",
    "Đã công khai",
    "Điểm đánh giá",
];

/// One export row as cells, in [`EXPORT_HEAD`] order.
pub fn export_cells(
    row: &ExportRow,
    field_name: &dyn Fn(Option<uuid::Uuid>) -> String,
    agency_name: &dyn Fn(Option<uuid::Uuid>) -> String,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Cell> {
    let when = |d: Option<chrono::DateTime<chrono::Utc>>| {
        text(
            d.map(|d| vietnam_datetime(d).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
        )
    };
    let state = FeedbackState::parse(&row.state);
    let timeliness =
        Timeliness::of_item(state, row.answered_at, row.original_due_at, row.due_at, now);
    vec![
        text(&row.tracking_code),
        when(Some(row.received_at)),
        text(channel_label(&row.channel)),
        text(kind_label(&row.kind)),
        text(
            row.content_category
                .as_deref()
                .map(category_label)
                .unwrap_or_else(|| "Chưa phân loại".into()),
        ),
        text(field_name(row.field_id)),
        text(agency_name(row.handling_agency_id)),
        text(state.map(|s| s.label_vi()).unwrap_or(row.state.as_str())),
        text(&row.title),
        when(row.original_due_at.or(row.due_at)),
        when(row.due_at),
        when(row.answered_at),
        text(timeliness.label_vi()),
        text(row.rejection_code.clone().unwrap_or_default()),
        text(if row.published_at.is_some() {
            "Có"
        } else {
            ""
        }),
        match row.rating_score {
            Some(score) => Cell::Count(u64::try_from(score).unwrap_or(0)),
            None => text(""),
        },
    ]
}

/// A spreadsheet program runs a cell that starts with `=`, `+`, `-` or
/// `@` as a formula: text a citizen wrote must stay text (OWASP CSV
/// injection).
pub(super) fn defuse(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// CSV in UTF-8 with a byte-order mark, which spreadsheet programs need
/// to read Vietnamese correctly.
pub fn export_csv(rows: &[Vec<Cell>]) -> Result<Vec<u8>, csv::Error> {
    table_csv(&EXPORT_HEAD, rows)
}

/// Any table as CSV: UTF-8 with a byte-order mark, text defused.
pub fn table_csv(head: &[&str], rows: &[Vec<Cell>]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record(head)?;
    for cells in rows {
        out.write_record(cells.iter().map(|c| match c {
            Cell::Text(t) => defuse(t),
            Cell::Count(n) => n.to_string(),
            Cell::Decimal(Some(v)) => v.to_string(),
            Cell::Decimal(None) => String::new(),
        }))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// The same rows as a workbook, with a filter on the header row.
pub fn export_xlsx(rows: &[Vec<Cell>]) -> Result<Vec<u8>, XlsxError> {
    table_xlsx("Phản ánh, kiến nghị", &EXPORT_HEAD, rows, 8)
}

/// Any table as a one-sheet workbook: a bold header with a filter, text
/// cells never formulas, the column `wide` wider.
pub fn table_xlsx(
    sheet_name: &str,
    head: &[&str],
    rows: &[Vec<Cell>],
    wide: usize,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name)?;
    for (col, h) in head.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *h, &bold)?;
        sheet.set_column_width(col as u16, if col == wide { 50 } else { 18 })?;
    }
    for (r, cells) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (col, cell) in cells.iter().enumerate() {
            let col = col as u16;
            match cell {
                // Written as text cells: never a formula, whatever it says.
                Cell::Text(t) => sheet.write_string(r, col, t)?,
                Cell::Count(n) => sheet.write_number(r, col, *n as f64)?,
                Cell::Decimal(Some(v)) => sheet.write_number(r, col, *v)?,
                Cell::Decimal(None) => sheet,
            };
        }
    }
    sheet.autofilter(0, 0, rows.len() as u32, head.len() as u16 - 1)?;
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

/// The channel's publicity for the six-monthly report: the sources
/// active in the period and what they brought, and the items by channel.
pub fn publicity_section(r: &crate::services::outreach::SourcesReport) -> Section {
    let head = || {
        vec![
            "Nguồn".into(),
            "Số phản ánh, kiến nghị".into(),
            "Được tiếp nhận".into(),
            "Không tiếp nhận".into(),
            "Tỷ lệ được tiếp nhận (%)".into(),
        ]
    };
    let row = |label: String, o: &crate::services::outreach::Outcomes| {
        vec![
            text(label),
            Cell::Count(o.items),
            Cell::Count(o.accepted),
            Cell::Count(o.not_accepted),
            Cell::Decimal(o.accepted_share()),
        ]
    };
    let active: Vec<_> = r
        .sources
        .iter()
        .filter(|s| s.retired_at.is_none() || s.outcomes.items > 0)
        .collect();
    let mut sources: Vec<Vec<Cell>> = active
        .iter()
        .map(|s| row(format!("{} ({})", s.name, s.kind_label), &s.outcomes))
        .collect();
    sources.push(row("Đường dẫn không rõ nguồn".into(), &r.unknown));
    sources.push(row(
        "Cổng thông tin, không qua nguồn nào".into(),
        &r.web_form_direct,
    ));
    let channels = r
        .channels
        .iter()
        .map(|c| row(c.label.to_string(), &c.outcomes))
        .collect();
    Section {
        heading: "Công tác tuyên truyền về kênh tiếp nhận phản ánh, kiến nghị".into(),
        tables: vec![
            Table {
                caption: format!(
                    "Nguồn tuyên truyền (áp phích, tờ gấp, báo, cổng thông tin): {} nguồn đang dùng",
                    active.iter().filter(|s| s.retired_at.is_none()).count()
                ),
                head: head(),
                rows: sources,
            },
            Table {
                caption: "Phản ánh, kiến nghị theo kênh tiếp nhận".into(),
                head: {
                    let mut h = head();
                    h[0] = "Kênh".into();
                    h
                },
                rows: channels,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_thousands_and_decimals_use_a_comma() {
        assert_eq!(Cell::Count(1234567).to_string(), "1.234.567");
        assert_eq!(Cell::Count(999).to_string(), "999");
        assert_eq!(Cell::Decimal(Some(66.7)).to_string(), "66,7");
        assert_eq!(Cell::Decimal(None).to_string(), "—");
    }

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_kept_as_text() {
        let mut row = vec![text(""); EXPORT_HEAD.len()];
        row[0] = text("=HYPERLINK(\"http://x\")");
        row[1] = text("-1+1");
        row[8] = text("Bình thường");
        let csv = export_csv(&[row]).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
        assert!(csv.contains(",'-1+1,"), "{csv}");
        assert!(csv.contains("Bình thường"));
    }
}
