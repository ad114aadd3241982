//! The two graphs of Figure 16, as SVG and PNG: our CDFs (solid) over the paper's (dashed,
//! through its published min, deciles, p95, p99 and max). Top: the 150 ms lines, log x.
//! Bottom: the scale lines, linear 0–600 ms. PNG text uses an embedded font (DejaVu Sans,
//! Bitstream Vera licence, `assets/`), so no system fonts are needed.

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::LineResult;
use crate::paper::{self, Graph};

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const SIZE: (u32, u32) = (900, 560);
const COLORS: [RGBColor; 7] = [
    RGBColor(0, 0, 0),
    RGBColor(200, 30, 30),
    RGBColor(30, 90, 200),
    RGBColor(20, 150, 60),
    RGBColor(220, 130, 0),
    RGBColor(140, 40, 170),
    RGBColor(0, 150, 160),
];

/// Which graph, with its axes.
#[derive(Clone, Copy)]
struct Panel {
    graph: Graph,
    name: &'static str,
    title: &'static str,
}

const TOP: Panel = Panel {
    graph: Graph::Randomness,
    name: "fig16-top",
    title: "Figure 16, top: 150 ms minimum, growing randomness",
};
const BOTTOM: Panel = Panel {
    graph: Graph::Scale,
    name: "fig16-bottom",
    title: "Figure 16, bottom: timeouts scaled, randomness = minimum",
};

/// Draws both graphs into `dir` as `fig16-top.{svg,png}` and `fig16-bottom.{svg,png}`. A line
/// goes in the top graph if its minimum is 150 ms, else in the bottom one (150–300 in both).
pub fn draw_all(results: &[LineResult], dir: &Path) -> Result<(), Box<dyn Error>> {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the embedded font is a valid TrueType font"));
    });
    for panel in [TOP, BOTTOM] {
        let chosen: Vec<&LineResult> = results.iter().filter(|r| in_panel(r, panel)).collect();
        if chosen.is_empty() {
            continue;
        }
        let svg = dir.join(format!("{}.svg", panel.name));
        draw(
            SVGBackend::new(&svg, SIZE).into_drawing_area(),
            panel,
            &chosen,
        )?;
        let png = dir.join(format!("{}.png", panel.name));
        draw(
            BitMapBackend::new(&png, SIZE).into_drawing_area(),
            panel,
            &chosen,
        )?;
    }
    Ok(())
}

fn in_panel(result: &LineResult, panel: Panel) -> bool {
    let line = result.line;
    match line.paper().map(|p| p.graph) {
        Some(Graph::Both) => true,
        Some(graph) => graph == panel.graph,
        None => (line.lo_ms == 150) == (panel.graph == Graph::Randomness),
    }
}

/// Our empirical CDF: (time ms, fraction at or below), trials cut off left out.
fn cdf(result: &LineResult) -> Vec<(f64, f64)> {
    let mut times = result.times_ms();
    times.sort_by(f64::total_cmp);
    let n = times.len() as f64;
    let mut points = Vec::new();
    for (k, &t) in times.iter().enumerate().filter(|(_, t)| t.is_finite()) {
        points.push((t, k as f64 / n));
        points.push((t, (k + 1) as f64 / n));
    }
    points
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panel: Panel,
    results: &[&LineResult],
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(panel.title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60);
    let y_desc = "cumulative percent";
    let x_desc = "time without leader (ms)";
    if panel.graph == Graph::Randomness {
        let mut chart = builder.build_cartesian_2d((50.0..600_000.0).log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()?;
        draw_lines(&mut chart, results)?;
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    } else {
        let mut chart = builder.build_cartesian_2d(0.0..600.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .draw()?;
        draw_lines(&mut chart, results)?;
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    }
    root.present()?;
    Ok(())
}

type Chart<'a, DB, X> =
    ChartContext<'a, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>;

fn draw_lines<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, DB, X>,
    results: &[&LineResult],
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    for (k, result) in results.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let cut_off = result
            .trials
            .iter()
            .filter(|t| t.downtime_us.is_none())
            .count();
        let label = match cut_off {
            0 => format!("{} ms (sim)", result.line.label()),
            n => format!("{} ms (sim; {n} cut off)", result.line.label()),
        };
        chart
            .draw_series(LineSeries::new(cdf(result), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        if let Some(paper) = paper::find(result.line.lo_ms, result.line.hi_ms) {
            let style = color.mix(0.7).stroke_width(1);
            chart.draw_series(DashedLineSeries::new(paper.cdf_points(), 5, 4, style))?;
        }
    }
    Ok(())
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, DB, X>,
    position: SeriesLabelPosition,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    chart
        .draw_series(std::iter::once(PathElement::new(
            Vec::<(f64, f64)>::new(),
            BLACK.stroke_width(1),
        )))?
        .label("dashed: paper (published deciles)")
        .legend(|(x, y)| {
            PathElement::new(vec![(x, y), (x + 6, y), (x + 10, y), (x + 16, y)], BLACK)
        });
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.6))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}
