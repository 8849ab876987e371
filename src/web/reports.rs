//! The supervisor's pages: the dashboard, the six-monthly
//! report as a document to sign (HTML to print or save as PDF, and XLSX),
//! and the items behind the figures as CSV and XLSX. Signed-in staff with
//! `read_statistics`, each within their scope: an agency's lead sees their
//! agency only.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Datelike, Duration, NaiveDate, Utc};

use super::AppState;
use super::charts::{self, PALETTE, Series};
use super::html::{StaffPage, private_page};
use super::problem::ApiError;
use super::report_doc::{self, Cell, DocumentHead, Section};
use super::staff_pages::staff_error;
use super::stats::{Figures, StatsQuery, figures, resolve};
use crate::domain::feedback::{Channel, FieldError};
use crate::domain::ids::AgencyId;
use crate::domain::reporting::{ReportPeriod, decimal_vi, narrative, working_days_between};
use crate::domain::staff::{ItemScope, Permission};
use crate::domain::time::{vietnam_date, vietnam_instant};
use crate::store::directory_cache::DirectorySnapshot;

/// Resolves the request for a signed-in reader: the period (the current
/// six months when none is named) and the scope they may see.
async fn read(
    staff: &StaffPage,
    query: &StatsQuery,
    state: &AppState,
) -> Result<(Figures, std::sync::Arc<DirectorySnapshot>), ApiError> {
    let actor = staff.require(Permission::ReadStatistics)?;
    let directory = state.store.directory_snapshot().await?;
    let current = ReportPeriod::half_containing(
        vietnam_date(Utc::now()),
        state.settings.reporting.cutoff_day,
    );
    let (period, scope) = resolve(query, actor.item_scope(), &directory, Some(current))?;
    let f = figures(state, &directory, period, scope).await?;
    Ok((f, directory))
}

/// The query string that names the same period and scope (for links).
fn query_string(f: &Figures) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    match f.period.code() {
        Some(code) => params.push(("period", code)),
        None => {
            params.push(("from", f.dates.from.to_string()));
            params.push(("to", f.dates.to.to_string()));
        }
    }
    if let Some(a) = &f.agency_code {
        params.push(("agency", a.clone()));
    }
    if let Some(field) = &f.field_code {
        params.push(("field", field.clone()));
    }
    serde_urlencoded::to_string(params).unwrap_or_default()
}

/// The report's sections, and for the whole office two more: the items
/// re-keyed into the national PAKN system, and the channel's publicity.
async fn sections_of(
    state: &AppState,
    f: &Figures,
    directory: &DirectorySnapshot,
) -> Result<Vec<Section>, ApiError> {
    let mut sections = report_sections(state, f, directory);
    if f.agency_code.is_none() && f.field_code.is_none() {
        let c = crate::services::national::counts(state, f.dates).await?;
        sections.push(report_doc::national_section(c.in_scope, c.recorded));
        let publicity = crate::services::outreach::publicity(state, f.dates).await?;
        sections.push(report_doc::publicity_section(&publicity));
    }
    Ok(sections)
}

fn report_sections(state: &AppState, f: &Figures, directory: &DirectorySnapshot) -> Vec<Section> {
    report_doc::sections(
        &f.statistics,
        &|code| directory.agency_name_by_code(code),
        &|code| {
            state
                .rejection_reasons
                .get(code)
                .map(|r| format!("{} ({code})", r.label))
                .unwrap_or_else(|| code.to_string())
        },
    )
}

/// The document's head: the reporting agency (the scope's agency, else
/// the province's receiving office) under its parent, and the place and
/// date as a Vietnamese administrative document writes them (ND 30/2020).
async fn document_head(
    state: &AppState,
    f: &Figures,
    directory: &DirectorySnapshot,
) -> Result<DocumentHead, ApiError> {
    let office = match f.scope.agency_id {
        Some(id) => Some(AgencyId::from_uuid(id)),
        None => directory
            .receiving_offices
            .get(&state.settings.province.code)
            .copied(),
    };
    let agency = match office {
        Some(id) => state.store.find_agency_by_id(id).await?,
        None => None,
    };
    let parent = match agency.as_ref().and_then(|a| a.parent_code.clone()) {
        Some(code) => state.store.find_agency_by_code(&code).await?,
        None => None,
    };
    // ND 30/2020: the place is the province's name without its kind.
    let place = state.settings.office().province_name;
    let today = vietnam_date(Utc::now());
    let scope_note = match &f.field_code {
        Some(code) => {
            let id = directory.fields.get(code).map(|id| id.as_uuid());
            format!(" (lĩnh vực {})", directory.field_name(id).unwrap_or(code))
        }
        None => String::new(),
    };
    Ok(DocumentHead {
        parent_agency: parent.map(|p| p.name).unwrap_or_default(),
        agency: agency.map(|a| a.name).unwrap_or_default(),
        place_and_date: format!(
            "{place}, ngày {:02} tháng {:02} năm {}",
            today.day(),
            today.month(),
            today.year()
        ),
        subject: format!(
            "Kết quả tiếp nhận, xử lý phản ánh, kiến nghị về quy định hành chính {}{scope_note}",
            f.period.label_vi().to_lowercase()
        ),
        period_line: format!(
            "(Số liệu từ ngày {} đến ngày {})",
            f.dates.from.format("%d/%m/%Y"),
            f.dates.to.format("%d/%m/%Y")
        ),
    })
}

#[derive(Template)]
#[template(path = "staff_report.html", config = "config/askama.toml")]
struct ReportPage {
    site_name: String,
    /// What follows the number on the "Số:" line ("/BC-VP").
    document_number: String,
    recipients: Vec<String>,
    signatory_title: String,
    signatory_name: String,
    head: DocumentHead,
    sections: Vec<Section>,
    narrative: Vec<String>,
    query: String,
}

/// `GET /nhan-vien/bao-cao`
pub async fn report_page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<StatsQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = async {
        let (f, directory) = read(&staff, &query, &state).await?;
        let reporting = &state.settings.reporting;
        let province = state.settings.office().province();
        let page = ReportPage {
            site_name: state.settings.office().name,
            document_number: reporting.document_number.clone(),
            recipients: reporting
                .recipients
                .iter()
                .map(|r| r.replace("{province}", &province))
                .collect(),
            signatory_title: reporting.signatory_title.clone(),
            signatory_name: reporting.signatory_name.clone(),
            head: document_head(&state, &f, &directory).await?,
            sections: sections_of(&state, &f, &directory).await?,
            narrative: narrative(&f.statistics),
            query: query_string(&f),
        };
        private_page(StatusCode::OK, &page)
    };
    page.await.unwrap_or_else(|e| staff_error(&req, &state, e))
}

/// A file to save, never cached.
pub(super) fn download(content_type: &'static str, name: String, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store, private"))
        .body(body)
}

pub(super) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file name of ASCII letters, digits and dashes only.
fn file_stem(prefix: &str, f: &Figures) -> String {
    let period = f
        .period
        .code()
        .unwrap_or_else(|| format!("{}_{}", f.dates.from, f.dates.to));
    let mut stem = format!("{prefix}-{period}");
    if let Some(a) = &f.agency_code {
        stem.push('-');
        stem.push_str(a);
    }
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn file_failed(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "report file not written");
    ApiError::internal()
}

/// `GET /nhan-vien/bao-cao.xlsx`
pub async fn report_xlsx(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<StatsQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let file = async {
        let (f, directory) = read(&staff, &query, &state).await?;
        let head = document_head(&state, &f, &directory).await?;
        let body = report_doc::report_xlsx(
            &head,
            &sections_of(&state, &f, &directory).await?,
            &narrative(&f.statistics),
        )
        .map_err(file_failed)?;
        Ok::<_, ApiError>(download(
            XLSX,
            format!("{}.xlsx", file_stem("bao-cao", &f)),
            body,
        ))
    };
    file.await.unwrap_or_else(|e| staff_error(&req, &state, e))
}

/// The items behind the figures, as cells.
async fn export_rows(
    staff: &StaffPage,
    query: &StatsQuery,
    state: &AppState,
) -> Result<(Figures, Vec<Vec<Cell>>), ApiError> {
    let (f, directory) = read(staff, query, state).await?;
    let (from, to) = f.dates.instants();
    let limit = state.settings.reporting.export_max_rows;
    let (rows, more) = state
        .store
        .export_rows(f.scope.clone(), from, to, limit)
        .await?;
    if more {
        return Err(ApiError::invalid_query(vec![FieldError::new(
            "period",
            "too_many_items",
        )]));
    }
    let now = Utc::now();
    let field_name = |id| directory.field_name(id).unwrap_or_default().to_string();
    let agency = |id| directory.agency_name(id).unwrap_or_default().to_string();
    let cells = rows
        .iter()
        .map(|r| report_doc::export_cells(r, &field_name, &agency, now))
        .collect();
    Ok((f, cells))
}

/// The export's two forms.
#[derive(Clone, Copy)]
enum ExportFormat {
    Csv,
    Xlsx,
}

async fn export(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<StatsQuery>,
    state: web::Data<AppState>,
    format: ExportFormat,
) -> HttpResponse {
    let file = async {
        let (f, cells) = export_rows(&staff, &query, &state).await?;
        let stem = file_stem("phan-anh-kien-nghi", &f);
        Ok::<_, ApiError>(match format {
            ExportFormat::Csv => download(
                "text/csv; charset=utf-8",
                format!("{stem}.csv"),
                report_doc::export_csv(&cells).map_err(file_failed)?,
            ),
            ExportFormat::Xlsx => download(
                XLSX,
                format!("{stem}.xlsx"),
                report_doc::export_xlsx(&cells).map_err(file_failed)?,
            ),
        })
    };
    file.await.unwrap_or_else(|e| staff_error(&req, &state, e))
}

/// `GET /nhan-vien/du-lieu.csv`
pub async fn export_csv(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<StatsQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    export(req, staff, query, state, ExportFormat::Csv).await
}

/// `GET /nhan-vien/du-lieu.xlsx`
pub async fn export_xlsx(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<StatsQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    export(req, staff, query, state, ExportFormat::Xlsx).await
}

struct Choice {
    code: String,
    name: String,
    selected: bool,
}

/// A chart with the same numbers as a table beside it.
struct Chart {
    heading: &'static str,
    svg: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "staff_dashboard.html", config = "config/askama.toml")]
struct DashboardPage {
    site_name: String,
    office: crate::domain::office::Office,
    /// Next year has no official schedule of days off yet (from October).
    calendar_warning: Option<String>,
    staff_name: String,
    role_label: &'static str,
    period_label: String,
    period_dates: String,
    periods: Vec<Choice>,
    agencies: Vec<Choice>,
    agency_fixed: Option<String>,
    cards: Vec<(&'static str, String)>,
    /// The sources page for the period, for who may read it.
    sources_href: Option<String>,
    charts: Vec<Chart>,
    narrative: Vec<String>,
    query: String,
}

const WEEKS: i64 = 12;
const MONTHS: u32 = 12;

/// `GET /nhan-vien/thong-ke`
pub async fn dashboard(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<StatsQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = async {
        let (f, directory) = read(&staff, &query, &state).await?;
        let now = Utc::now();
        let today = vietnam_date(now);
        let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        let first_week = this_monday - Duration::weeks(WEEKS - 1);
        let this_month = today.with_day(1).unwrap_or(today);
        let first_month = this_month
            .checked_sub_months(chrono::Months::new(MONTHS - 1))
            .unwrap_or(this_month);
        let series = state
            .store
            .dashboard_series(
                f.scope.clone(),
                vietnam_instant(first_week, chrono::NaiveTime::MIN),
                vietnam_instant(first_month, chrono::NaiveTime::MIN),
                now,
            )
            .await?;
        let calendar = state.calendar.current();
        let s = &f.statistics;
        let charts = vec![
            weekly_chart(first_week, &series.received),
            on_time_chart(s, &directory),
            overdue_chart(&series.overdue_since, today, |d| {
                calendar.calendar.is_working_day(d)
            }),
            monthly_chart(first_month, &series.published),
        ];
        let cutoff = state.settings.reporting.cutoff_day;
        let current = ReportPeriod::half_containing(today, cutoff);
        let mut periods: Vec<ReportPeriod> = Vec::new();
        let mut p = current;
        for _ in 0..4 {
            periods.push(p);
            p = ReportPeriod::half_containing(p.dates(cutoff).from - Duration::days(1), cutoff);
        }
        let year = today.year();
        periods.extend((1..=4u8).map(|quarter| ReportPeriod::Quarter { year, quarter }));
        periods.push(ReportPeriod::Year { year });
        periods.push(ReportPeriod::Year { year: year - 1 });
        let actor = &staff.actor;
        let agency_fixed = match actor.item_scope() {
            ItemScope::OwnAgency(_) => f
                .agency_code
                .as_deref()
                .map(|c| directory.agency_name_by_code(c)),
            _ => None,
        };
        let mut agencies: Vec<Choice> = directory
            .agency_names
            .values()
            .map(|(code, name)| Choice {
                selected: f.agency_code.as_deref() == Some(code.as_str()),
                code: code.clone(),
                name: name.clone(),
            })
            .collect();
        agencies.sort_by(|a, b| a.name.cmp(&b.name));
        let on_time = crate::domain::reporting::percent(s.answered_on_time, s.answered_total);
        // The channel's publicity, for the whole office.
        let publicity = if f.agency_code.is_none() && f.field_code.is_none() {
            let r = crate::services::outreach::publicity(&state, f.dates).await?;
            let brought: u64 = r.sources.iter().map(|s| s.outcomes.items).sum();
            Some(brought)
        } else {
            None
        };
        let sources_href = actor
            .may(crate::domain::staff::Permission::ManageSources)
            .then(|| {
                format!(
                    "/nhan-vien/nguon?{}",
                    serde_urlencoded::to_string([
                        ("from", f.dates.from.to_string()),
                        ("to", f.dates.to.to_string()),
                    ])
                    .unwrap_or_default()
                )
            });
        let mut cards = vec![
            ("Tiếp nhận", Cell::Count(s.received_total).to_string()),
            ("Đã trả lời", Cell::Count(s.answered_total).to_string()),
            (
                "Trả lời đúng hạn",
                on_time
                    .map(|v| format!("{}%", decimal_vi(v)))
                    .unwrap_or_else(|| "—".into()),
            ),
            (
                "Đang xử lý, quá hạn",
                Cell::Count(s.open_past_deadline).to_string(),
            ),
            (
                "Thời gian xử lý trung vị",
                s.handling_working_days
                    .median
                    .map(|m| format!("{} ngày làm việc", decimal_vi(m)))
                    .unwrap_or_else(|| "—".into()),
            ),
            ("Đã công khai", Cell::Count(s.published).to_string()),
        ];
        if let Some(brought) = publicity {
            cards.push((
                "Qua áp phích, tờ gấp (mã QR)",
                Cell::Count(brought).to_string(),
            ));
        }
        let page = DashboardPage {
            site_name: state.settings.office().name,
            office: state.settings.office(),
            calendar_warning: state.calendar.next_year_warning(Utc::now()),
            staff_name: actor.display_name.clone(),
            role_label: actor.role.label_vi(),
            period_label: f.period.label_vi(),
            period_dates: format!(
                "{} – {}",
                f.dates.from.format("%d/%m/%Y"),
                f.dates.to.format("%d/%m/%Y")
            ),
            periods: periods
                .into_iter()
                .filter_map(|p| {
                    p.code().map(|code| Choice {
                        selected: f.period.code().as_deref() == Some(code.as_str()),
                        name: p.label_vi(),
                        code,
                    })
                })
                .collect(),
            agencies,
            agency_fixed,
            cards,
            sources_href,
            charts,
            narrative: narrative(s),
            query: query_string(&f),
        };
        private_page(StatusCode::OK, &page)
    };
    page.await.unwrap_or_else(|e| staff_error(&req, &state, e))
}

fn weekly_chart(first_week: NaiveDate, received: &[(chrono::DateTime<Utc>, String)]) -> Chart {
    let weeks: Vec<NaiveDate> = (0..WEEKS)
        .map(|w| first_week + Duration::weeks(w))
        .collect();
    let mut series: Vec<Series> = Vec::new();
    for (n, channel) in Channel::ALL.iter().enumerate() {
        let mut values = vec![0u64; weeks.len()];
        for (at, c) in received {
            if c == channel.as_str() {
                let week = (vietnam_date(*at) - first_week).num_days() / 7;
                if let Some(v) = usize::try_from(week).ok().and_then(|w| values.get_mut(w)) {
                    *v += 1;
                }
            }
        }
        if values.iter().any(|v| *v > 0) {
            series.push(Series {
                label: channel.label_vi().to_string(),
                colour: PALETTE[n % PALETTE.len()],
                values,
            });
        }
    }
    let categories: Vec<String> = weeks
        .iter()
        .map(|w| w.format("%d/%m").to_string())
        .collect();
    let mut head = vec!["Tuần bắt đầu".to_string()];
    head.extend(series.iter().map(|s| s.label.clone()));
    let rows = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut row = vec![w.format("%d/%m/%Y").to_string()];
            row.extend(series.iter().map(|s| s.values[i].to_string()));
            row
        })
        .collect();
    Chart {
        heading: "Phản ánh, kiến nghị tiếp nhận theo tuần và kênh (12 tuần gần nhất)",
        svg: charts::stacked_columns(
            "tuan",
            "Tiếp nhận theo tuần và kênh",
            "Cột chồng: số phản ánh, kiến nghị tiếp nhận mỗi tuần, chia theo kênh.",
            &categories,
            &series,
        ),
        head,
        rows,
    }
}

fn on_time_chart(s: &crate::domain::reporting::Statistics, directory: &DirectorySnapshot) -> Chart {
    let mut agencies: Vec<(String, crate::domain::reporting::AnswerCounts)> = s
        .answered_by_agency
        .iter()
        .map(|(code, a)| {
            let name = report_doc::agency_label(code, &|c| directory.agency_name_by_code(c));
            (name, *a)
        })
        .collect();
    // The slowest first: that is where a supervisor looks.
    agencies.sort_by(|a, b| {
        a.1.on_time_percent()
            .partial_cmp(&b.1.on_time_percent())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.1.total.cmp(&a.1.total))
    });
    agencies.truncate(15);
    let bars: Vec<(String, f64, String)> = agencies
        .iter()
        .map(|(name, a)| {
            let p = a.on_time_percent().unwrap_or(0.0);
            (
                name.clone(),
                p,
                format!("{}% ({}/{})", decimal_vi(p), a.on_time, a.total),
            )
        })
        .collect();
    Chart {
        heading: "Tỷ lệ trả lời đúng hạn theo cơ quan (trong kỳ)",
        svg: charts::percent_bars(
            "dunghan",
            "Tỷ lệ trả lời đúng hạn theo cơ quan",
            "Thanh ngang: phần trăm câu trả lời gửi đúng hạn ban đầu, theo cơ quan xử lý; cơ quan có tỷ lệ thấp nhất ở trên.",
            &bars,
        ),
        head: [
            "Cơ quan",
            "Đã trả lời",
            "Đúng hạn",
            "Trong gia hạn",
            "Trễ hạn",
            "Tỷ lệ đúng hạn",
        ]
        .map(String::from)
        .to_vec(),
        rows: agencies
            .iter()
            .map(|(name, a)| {
                vec![
                    name.clone(),
                    a.total.to_string(),
                    a.on_time.to_string(),
                    a.within_extension.to_string(),
                    a.late.to_string(),
                    a.on_time_percent()
                        .map(|p| format!("{}%", decimal_vi(p)))
                        .unwrap_or_default(),
                ]
            })
            .collect(),
    }
}

/// Overdue open items by how many working days they are past due.
const AGE_BUCKETS: [(&str, u32, u32); 4] = [
    ("1–5 ngày", 0, 5),
    ("6–10 ngày", 6, 10),
    ("11–20 ngày", 11, 20),
    ("Trên 20 ngày", 21, u32::MAX),
];

fn overdue_chart(
    overdue_since: &[chrono::DateTime<Utc>],
    today: NaiveDate,
    is_working_day: impl Fn(NaiveDate) -> bool,
) -> Chart {
    let mut counts = [0u64; AGE_BUCKETS.len()];
    for due in overdue_since {
        let late = working_days_between(vietnam_date(*due), today, &is_working_day);
        if let Some(i) = AGE_BUCKETS
            .iter()
            .position(|(_, lo, hi)| (*lo..=*hi).contains(&late))
        {
            counts[i] += 1;
        }
    }
    let categories: Vec<String> = AGE_BUCKETS.iter().map(|(l, _, _)| l.to_string()).collect();
    Chart {
        heading: "Phản ánh, kiến nghị quá hạn theo số ngày làm việc đã quá (hiện tại)",
        svg: charts::stacked_columns(
            "quahan",
            "Quá hạn theo thời gian quá hạn",
            "Cột: số phản ánh, kiến nghị chưa trả lời đã quá hạn, theo số ngày làm việc đã quá.",
            &categories,
            &[Series {
                label: "Quá hạn".into(),
                colour: PALETTE[5],
                values: counts.to_vec(),
            }],
        ),
        head: vec!["Đã quá hạn".into(), "Số lượng".into()],
        rows: categories
            .iter()
            .zip(counts)
            .map(|(c, n)| vec![c.clone(), n.to_string()])
            .collect(),
    }
}

fn monthly_chart(first_month: NaiveDate, published: &[chrono::DateTime<Utc>]) -> Chart {
    let months: Vec<NaiveDate> = (0..MONTHS)
        .filter_map(|m| first_month.checked_add_months(chrono::Months::new(m)))
        .collect();
    let mut values = vec![0u64; months.len()];
    for at in published {
        let d = vietnam_date(*at);
        if let Some(i) = months
            .iter()
            .position(|m| m.year() == d.year() && m.month() == d.month())
        {
            values[i] += 1;
        }
    }
    let categories: Vec<String> = months
        .iter()
        .map(|m| m.format("%m/%y").to_string())
        .collect();
    Chart {
        heading: "Câu trả lời được công khai theo tháng (12 tháng gần nhất)",
        svg: charts::stacked_columns(
            "congkhai",
            "Công khai theo tháng",
            "Cột: số câu trả lời được công khai trên trang Hỏi – đáp mỗi tháng.",
            &categories,
            &[Series {
                label: "Đã công khai".into(),
                colour: PALETTE[0],
                values: values.clone(),
            }],
        ),
        head: vec!["Tháng".into(), "Số câu trả lời".into()],
        rows: months
            .iter()
            .zip(values)
            .map(|(m, n)| vec![m.format("%m/%Y").to_string(), n.to_string()])
            .collect(),
    }
}
