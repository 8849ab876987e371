//! Charts for the staff dashboard, drawn on the server as SVG:
//! no JavaScript bundle, nothing fetched, readable when printed. Each chart
//! carries a title and a description for screen readers, and the page
//! shows the same numbers in a table beside it. Colours are told apart by
//! people with the common colour-vision deficiencies (Okabe–Ito palette),
//! and every bar is labelled with its number.

use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 52.0;

/// Okabe–Ito: distinguishable with deuteranopia and protanopia.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// One stacked series: its name, colour and a value per category.
pub struct Series {
    pub label: String,
    pub colour: &'static str,
    pub values: Vec<u64>,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The axis of a count: a whole step (1, 2, 5 × 10ⁿ) giving at most five
/// intervals, and the top (a multiple of the step at or above `max`).
/// Counts are whole, so every tick is a whole number.
fn count_scale(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let mut magnitude = 1u64;
    loop {
        for m in [1u64, 2, 5] {
            let step = m.saturating_mul(magnitude);
            if max.div_ceil(step) <= 5 {
                return (step, max.div_ceil(step) * step);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

fn open(id: &str, title: &str, desc: &str, height: f64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-t {id}-d" font-family="sans-serif" font-size="12"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        escape(title),
        escape(desc)
    )
}

/// Columns per category, each a stack of the series (one series: plain
/// columns). `id` must be unique on the page.
pub fn stacked_columns(
    id: &str,
    title: &str,
    desc: &str,
    categories: &[String],
    series: &[Series],
) -> String {
    let legend_rows = if series.len() > 1 {
        series.len().div_ceil(3) as f64
    } else {
        0.0
    };
    let height = HEIGHT + legend_rows * 18.0;
    let mut svg = open(id, title, desc, height);
    let totals: Vec<u64> = (0..categories.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let (step, top) = count_scale(totals.iter().copied().max().unwrap_or(0));
    let max = top as f64;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let plot_w = WIDTH - LEFT - RIGHT;
    axis(&mut svg, step, top, plot_h);
    let slot = plot_w / categories.len().max(1) as f64;
    let bar = (slot * 0.7).min(48.0);
    for (i, category) in categories.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = TOP + plot_h;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let h = plot_h * v as f64 / max;
            y -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"><title>{}: {v}</title></rect>"#,
                s.colour,
                escape(&format!("{category} — {}", s.label))
            );
        }
        let total = totals[i];
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#1a1a1a">{total}</text>"##,
            x + bar / 2.0,
            y - 4.0
        );
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#4a4a4a">{}</text>"##,
            x + bar / 2.0,
            TOP + plot_h + 16.0,
            escape(category)
        );
    }
    if series.len() > 1 {
        for (n, s) in series.iter().enumerate() {
            let (col, row) = (n % 3, n / 3);
            let x = LEFT + col as f64 * (plot_w / 3.0);
            let y = HEIGHT - 14.0 + row as f64 * 18.0;
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{y:.1}" fill="#1a1a1a">{}</text>"##,
                y - 10.0,
                s.colour,
                x + 16.0,
                escape(&s.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn axis(svg: &mut String, step: u64, top: u64, plot_h: f64) {
    for i in 0..=top / step {
        let value = i * step;
        let y = TOP + plot_h - plot_h * value as f64 / top as f64;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#d0d7de"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#4a4a4a">{value}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
        );
    }
}

/// One horizontal bar per row, for shares in per cent: label, value
/// (0–100) and the text written after the bar.
pub fn percent_bars(id: &str, title: &str, desc: &str, rows: &[(String, f64, String)]) -> String {
    let row_h = 26.0;
    let label_w = 230.0;
    let height = TOP + rows.len().max(1) as f64 * row_h + 24.0;
    let mut svg = open(id, title, desc, height);
    let plot_w = WIDTH - label_w - 150.0;
    for tick in [0.0, 50.0, 100.0] {
        let x = label_w + plot_w * tick / 100.0;
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}" stroke="#d0d7de"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#4a4a4a">{tick:.0}%</text>"##,
            height - 20.0,
            height - 6.0
        );
    }
    if rows.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{label_w}" y="{:.1}" fill="#4a4a4a">Chưa có số liệu trong kỳ.</text>"##,
            TOP + 16.0
        );
    }
    for (i, (label, value, text)) in rows.iter().enumerate() {
        let y = TOP + i as f64 * row_h;
        let w = plot_w * value.clamp(0.0, 100.0) / 100.0;
        let label: String = label.chars().take(34).collect();
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#1a1a1a">{}</text><rect x="{label_w}" y="{:.1}" width="{w:.1}" height="16" fill="{}"/><text x="{:.1}" y="{:.1}" fill="#1a1a1a">{}</text>"##,
            label_w - 8.0,
            y + 13.0,
            escape(&label),
            y + 1.0,
            PALETTE[2],
            label_w + w + 6.0,
            y + 13.0,
            escape(text)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_every_bar_names_its_number() {
        let svg = stacked_columns(
            "c",
            "Tiếp nhận <theo> tuần",
            "d",
            &["T1".into(), "T2".into()],
            &[
                Series {
                    label: "Web & \"thư\"".into(),
                    colour: PALETTE[0],
                    values: vec![3, 0],
                },
                Series {
                    label: "Điện thoại".into(),
                    colour: PALETTE[1],
                    values: vec![2, 7],
                },
            ],
        );
        assert!(svg.contains("Tiếp nhận &lt;theo&gt; tuần"));
        assert!(svg.contains("Web &amp; &quot;thư&quot;"));
        assert!(!svg.contains("<theo>"));
        // Column totals 5 and 7 on the bars; axis up to 8 in steps of 2.
        assert!(svg.contains(">5</text>") && svg.contains(">7</text>"));
        assert!(svg.contains(">8</text>") && svg.contains(">6</text>"));
        // A zero value draws no empty rectangle.
        assert_eq!(svg.matches("<rect").count(), 3 + 2);
    }

    #[test]
    fn count_axes_have_whole_round_ticks() {
        assert_eq!(count_scale(0), (1, 1));
        assert_eq!(count_scale(1), (1, 1));
        assert_eq!(count_scale(3), (1, 3));
        assert_eq!(count_scale(7), (2, 8));
        assert_eq!(count_scale(13), (5, 15));
        assert_eq!(count_scale(420), (100, 500));
        assert_eq!(count_scale(1000), (200, 1000));
        // A chart of one item labels 0 and 1, never 0.2 or 0.5.
        let svg = stacked_columns(
            "c",
            "Số phản ánh",
            "Một phản ánh",
            &["T1".to_string()],
            &[Series {
                label: "Phản ánh".into(),
                colour: PALETTE[0],
                values: vec![1],
            }],
        );
        let labels: Vec<&str> = svg
            .split(r##"fill="#4a4a4a">"##)
            .skip(1)
            .map(|t| t.split('<').next().unwrap_or(""))
            .collect();
        assert!(labels.iter().all(|l| !l.contains('.')), "{labels:?}");
    }

    #[test]
    fn percent_bars_stay_within_the_plot() {
        let svg = percent_bars(
            "p",
            "t",
            "d",
            &[("Sở <Xây dựng>".into(), 150.0, "3/2".into())],
        );
        assert!(svg.contains("Sở &lt;Xây dựng&gt;"));
        assert!(svg.contains(r#"width="340.0""#), "{svg}");
    }
}
