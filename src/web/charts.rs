//! The progress charts, drawn here as SVG: no script, no library, readable
//! on a phone (they scale to the screen's width) and on paper. Every mark
//! carries its number as text and in `data-` attributes, so the value can
//! be read without guessing from a bar's height (and the tests read them).

use maud::{html, Markup};

/// A point of a line: day (from the chart's start), its date, the value.
pub type Point = (i64, String, u32);
/// A named line.
pub type Series = (String, Vec<Point>);

const W: f64 = 320.0;
const H: f64 = 150.0;
const LEFT: f64 = 28.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 14.0;

/// A bar per label; the value is printed over each bar.
pub fn bars(
    id: &str,
    title: &str,
    labels: &[String],
    values: &[u64],
    highlight: &[bool],
) -> Markup {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = labels.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let bar = (slot * 0.7).max(2.0);
    let plot = H - BOTTOM - TOP;
    html! {
        figure.chart id=(id) {
            figcaption { (title) }
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
                line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W) y2=(H - BOTTOM) {}
                text.tick x="2" y=(TOP + 4.0) { (max as u64) }
                @for (i, (label, v)) in labels.iter().zip(values).enumerate() {
                    @let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
                    @let h = plot * (*v as f64) / max;
                    @let y = H - BOTTOM - h;
                    @let hi = highlight.get(i).copied().unwrap_or(false);
                    rect.bar.goal[hi] x=(fmt(x)) y=(fmt(y)) width=(fmt(bar)) height=(fmt(h))
                        data-label=(label) data-value=(v) {}
                    @if *v > 0 {
                        text.value x=(fmt(x + bar / 2.0)) y=(fmt(y - 2.0)) text-anchor="middle" { (v) }
                    }
                    @if labels.len() <= 8 || i % 2 == 0 {
                        text.tick x=(fmt(x + bar / 2.0)) y=(H - BOTTOM + 12.0) text-anchor="middle" { (short(label)) }
                    }
                }
            }
        }
    }
}

/// The week label's short form for the axis: "W07" from "2025-W07".
fn short(label: &str) -> &str {
    label.rsplit('-').next().unwrap_or(label)
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// One line per series of (day index, value) points over `days` days,
/// each point labelled with its value and date.
pub fn lines(id: &str, title: &str, days: i64, series: &[Series]) -> Markup {
    let max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, _, v)| *v))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let span = days.max(1) as f64;
    let plot = H - BOTTOM - TOP;
    let xy = |d: i64, v: u32| {
        (
            LEFT + (W - LEFT - 8.0) * (d as f64) / span,
            H - BOTTOM - plot * f64::from(v) / max,
        )
    };
    html! {
        figure.chart id=(id) {
            figcaption { (title) }
            @if series.is_empty() {
                p.empty { "—" }
            } @else {
                svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
                    line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W) y2=(H - BOTTOM) {}
                    text.tick x="2" y=(TOP + 4.0) { (max as u64) }
                    @for (k, (name, points)) in series.iter().enumerate() {
                        @let path: Vec<String> = points.iter().map(|(d, _, v)| { let (x, y) = xy(*d, *v); format!("{},{}", fmt(x), fmt(y)) }).collect();
                        polyline class=(format!("series s{}", k % 4)) points=(path.join(" ")) data-series=(name) {}
                        @for (d, date, v) in points {
                            @let (x, y) = xy(*d, *v);
                            circle class=(format!("s{}", k % 4)) cx=(fmt(x)) cy=(fmt(y)) r="2.5"
                                data-series=(name) data-date=(date) data-value=(v) {}
                            text.value x=(fmt(x)) y=(fmt(y - 4.0)) text-anchor="middle" { (v) }
                        }
                    }
                }
                ul.legend {
                    @for (k, (name, points)) in series.iter().enumerate() {
                        li class=(format!("s{}", k % 4)) { (name) ": " (points.last().map(|p| p.2).unwrap_or(0)) }
                    }
                }
            }
        }
    }
}

/// A phase per stretch of days, from its start to the next change (the last
/// to `days`).
pub fn timeline(id: &str, title: &str, days: i64, spans: &[(i64, String, String)]) -> Markup {
    let span = days.max(1) as f64;
    let x = |d: i64| LEFT + (W - LEFT - 8.0) * (d.clamp(0, days) as f64) / span;
    html! {
        figure.chart id=(id) {
            figcaption { (title) }
            @if spans.is_empty() {
                p.empty { "—" }
            } @else {
                svg viewBox=(format!("0 0 {W} 60")) role="img" aria-label=(title) {
                    @for (i, (from, date, phase)) in spans.iter().enumerate() {
                        @let to = spans.get(i + 1).map_or(days, |n| n.0);
                        @let (x0, x1) = (x(*from), x(to));
                        rect class=(format!("phase {phase}")) x=(fmt(x0)) y="8" width=(fmt((x1 - x0).max(1.0))) height="24"
                            data-phase=(phase) data-since=(date) {}
                        text.tick x=(fmt(x0 + 2.0)) y="46" { (phase) }
                        text.tick x=(fmt(x0 + 2.0)) y="57" { (date) }
                    }
                }
            }
        }
    }
}
