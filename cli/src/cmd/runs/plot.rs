//! `stepstone runs plot`: memory over time as an SVG (plotters, SVG backend).
//!
//! Draws the report's `timeline` (tracked and RSS bytes, in MiB, against seconds), the budget as
//! a horizontal line, and the `events` as markers on the tracked line: spills (triangles),
//! reloads (circles) and checkpoints (crosses), with a legend. Only draws; the caller picks the
//! report and reports success.

use std::path::Path;

use anyhow::{Context, anyhow};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use stepstone::memory::human_bytes;
use stepstone::report::RunReport;

/// Colour of the budget line (tests look for it).
pub(crate) const BUDGET_RGB: RGBColor = RGBColor(214, 39, 40);
const TRACKED_RGB: RGBColor = RGBColor(31, 119, 180);
const RSS_RGB: RGBColor = RGBColor(44, 160, 44);
const SPILL_RGB: RGBColor = RGBColor(148, 103, 189);
const RELOAD_RGB: RGBColor = RGBColor(140, 86, 75);
const CHECKPOINT_RGB: RGBColor = RGBColor(0, 0, 0);

const MIB: f64 = 1024.0 * 1024.0;

/// Render the SVG and write it to `out`.
pub(crate) fn write_svg(report: &RunReport, out: &Path) -> anyhow::Result<()> {
    let svg = render(report).map_err(|e| anyhow!("drawing the memory plot failed: {e}"))?;
    std::fs::write(out, svg).with_context(|| {
        format!(
            "cannot write {}; choose another --out path (its folder must exist and be writable)",
            out.display()
        )
    })
}

/// The tracked MiB at time `t`, interpolated between samples like the drawn line.
fn tracked_at(report: &RunReport, t: f64) -> f64 {
    let samples = &report.timeline;
    let after = samples.iter().position(|s| s.t >= t);
    match after {
        None => samples.last().map_or(0.0, |s| mib(s.tracked_bytes)),
        Some(0) => samples.first().map_or(0.0, |s| mib(s.tracked_bytes)),
        Some(i) => {
            let (a, b) = (&samples[i - 1], &samples[i]);
            let span = b.t - a.t;
            let f = if span > 0.0 { (t - a.t) / span } else { 1.0 };
            mib(a.tracked_bytes) + f * (mib(b.tracked_bytes) - mib(a.tracked_bytes))
        }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB
}

/// Event markers of one kind as (seconds, MiB) points.
fn markers(report: &RunReport, kind: &str) -> Vec<(f64, f64)> {
    report
        .events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| (e.t, tracked_at(report, e.t)))
        .collect()
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Tracked and RSS memory, and the budget, with their legend entries.
fn draw_lines(chart: &mut Chart<'_, '_>, report: &RunReport, x_max: f64) -> DrawResult {
    let line = |pick: fn(&stepstone::memory::MemorySample) -> u64| -> Vec<(f64, f64)> {
        report
            .timeline
            .iter()
            .map(|s| (s.t, mib(pick(s))))
            .collect()
    };
    chart
        .draw_series(LineSeries::new(
            line(|s| s.rss_bytes),
            RSS_RGB.stroke_width(2),
        ))?
        .label(format!("RSS (peak {})", human_bytes(report.rss_peak_bytes)))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RSS_RGB.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            line(|s| s.tracked_bytes),
            TRACKED_RGB.stroke_width(2),
        ))?
        .label(format!(
            "tracked (peak {})",
            human_bytes(report.tracked_peak_bytes)
        ))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], TRACKED_RGB.stroke_width(2)));
    let budget = mib(report.budget_bytes);
    chart
        .draw_series(LineSeries::new(
            vec![(0.0, budget), (x_max, budget)],
            BUDGET_RGB.stroke_width(2),
        ))?
        .label(format!("budget ({})", human_bytes(report.budget_bytes)))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BUDGET_RGB.stroke_width(2)));

    Ok(())
}

/// Spill, reload and checkpoint markers, with their legend entries.
fn draw_markers(chart: &mut Chart<'_, '_>, report: &RunReport) -> DrawResult {
    let spills = markers(report, "spill");
    chart
        .draw_series(
            spills
                .iter()
                .map(|p| TriangleMarker::new(*p, 6, SPILL_RGB.filled())),
        )?
        .label(format!("spill ({})", spills.len()))
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, SPILL_RGB.filled()));
    let reloads = markers(report, "reload");
    chart
        .draw_series(
            reloads
                .iter()
                .map(|p| Circle::new(*p, 4, RELOAD_RGB.filled())),
        )?
        .label(format!("reload ({})", reloads.len()))
        .legend(|(x, y)| Circle::new((x + 10, y), 4, RELOAD_RGB.filled()));
    let checkpoints = markers(report, "checkpoint");
    chart
        .draw_series(
            checkpoints
                .iter()
                .map(|p| Cross::new(*p, 6, CHECKPOINT_RGB.stroke_width(2))),
        )?
        .label(format!("checkpoint ({})", checkpoints.len()))
        .legend(|(x, y)| Cross::new((x + 10, y), 6, CHECKPOINT_RGB.stroke_width(2)));

    Ok(())
}

fn render(report: &RunReport) -> Result<String, Box<dyn std::error::Error>> {
    let x_max = report
        .timeline
        .iter()
        .map(|s| s.t)
        .chain(report.events.iter().map(|e| e.t))
        .fold(report.seconds, f64::max)
        .max(1e-3);
    let y_max = mib(report
        .budget_bytes
        .max(report.tracked_peak_bytes)
        .max(report.rss_peak_bytes))
    .max(1e-3)
        * 1.12;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 600)).into_drawing_area();
        root.fill(&WHITE)?;
        let caption = format!(
            "{} — run {} ({}, budget {})",
            report.pipeline,
            report.run_id,
            if report.error.is_some() {
                "failed"
            } else {
                "completed"
            },
            human_bytes(report.budget_bytes)
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("memory (MiB)")
            .draw()?;

        draw_lines(&mut chart, report, x_max)?;
        draw_markers(&mut chart, report)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}
