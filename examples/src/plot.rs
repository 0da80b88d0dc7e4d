//! Learning curves with seed bands, as PNG (plotters).

use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// One curve per seed, `(x, y)` points sharing x positions.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Per-seed curves.
    pub seeds: Vec<Vec<(f64, f64)>>,
}

/// Registers a TTF font for labels; `false` when none is found (plots then have no text).
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let candidates = [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        ];
        for path in candidates {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// What the band around a mean curve shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// The lowest to the highest seed.
    MinMax,
    /// The percentile-bootstrap 95% confidence interval of the mean over seeds.
    Ci95,
}

/// Mean and spread over seeds at each x of the shortest seed curve.
pub fn band(seeds: &[Vec<(f64, f64)>], spread: Spread) -> Vec<(f64, f64, f64, f64)> {
    let len = seeds.iter().map(Vec::len).min().unwrap_or(0);
    (0..len)
        .map(|i| {
            let ys: Vec<f64> = seeds.iter().map(|s| s[i].1).collect();
            let mean = ys.iter().sum::<f64>() / ys.len() as f64;
            let (lo, hi) = match spread {
                Spread::MinMax => (
                    ys.iter().copied().fold(f64::INFINITY, f64::min),
                    ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                ),
                Spread::Ci95 => bprl_examples::stats::bootstrap_mean_ci(&ys, 0.95, 2000, i as u64)
                    .unwrap_or((mean, mean)),
            };
            (seeds[0][i].0, mean, lo, hi)
        })
        .collect()
}

/// Draws the series (mean line and min-max band over seeds) to a PNG, written atomically.
pub fn curves(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), String> {
    curves_with(path, title, x_label, y_label, series, Spread::MinMax)
}

/// Draws the series (mean line and a band of `spread` over seeds) to a PNG, written
/// atomically; the legend says what the band is.
///
/// # Errors
/// A drawing or file error, as text.
pub fn curves_with(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    spread: Spread,
) -> Result<(), String> {
    let text = font_ready();
    let tmp = path.with_extension("png.tmp.png");
    {
        let root = BitMapBackend::new(&tmp, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let bands: Vec<_> = series.iter().map(|s| band(&s.seeds, spread)).collect();
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for b in &bands {
            for &(x, _, lo, hi) in b {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(lo);
                y1 = y1.max(hi);
            }
        }
        if !x0.is_finite() {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let pad = ((y1 - y0) * 0.05).max(1e-3);
        let mut builder = ChartBuilder::on(&root);
        builder.margin(15);
        if text {
            builder
                .caption(title, ("sans-serif", 22))
                .x_label_area_size(40)
                .y_label_area_size(55);
        }
        let mut chart = builder
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(|e| e.to_string())?;
        let mut mesh = chart.configure_mesh();
        if text {
            mesh.x_desc(x_label).y_desc(y_label);
        } else {
            mesh.disable_x_axis().disable_y_axis();
        }
        mesh.draw().map_err(|e| e.to_string())?;
        for (k, (s, b)) in series.iter().zip(&bands).enumerate() {
            let color = Palette99::pick(k).to_rgba();
            let mut poly: Vec<(f64, f64)> = b.iter().map(|&(x, _, _, hi)| (x, hi)).collect();
            poly.extend(b.iter().rev().map(|&(x, _, lo, _)| (x, lo)));
            if poly.len() >= 3 {
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.18))))
                    .map_err(|e| e.to_string())?;
            }
            let line = chart
                .draw_series(LineSeries::new(
                    b.iter().map(|&(x, m, _, _)| (x, m)),
                    color.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?;
            if text {
                let what = match spread {
                    Spread::MinMax => "min-max",
                    Spread::Ci95 => "95% CI",
                };
                let label = format!("{} ({} seeds, band {what})", s.label, s.seeds.len());
                line.label(label).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
            }
        }
        if text {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

/// One panel of [`rollout_panels`]: a variant's rollouts over one target layout.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The panel's title (the variant).
    pub title: String,
    /// Target positions, labeled `T0`, `T1`, ... in the picture.
    pub targets: Vec<[f32; 2]>,
    /// The target the goal group marks, drawn in red and labeled "marked".
    pub marked: Option<usize>,
    /// Effector paths, one per rollout.
    pub paths: Vec<Vec<[f32; 2]>>,
}

/// Draws panels side by side over the arena `[-1, 1]^2`, with axes, the targets labeled (the
/// marked one in red) and a legend, to a PNG written atomically.
///
/// # Errors
/// A drawing or file error, as text.
pub fn rollout_panels(
    path: &Path,
    title: &str,
    panels: &[Panel],
    radius: f32,
) -> Result<(), String> {
    let text = font_ready();
    let tmp = path.with_extension("png.tmp.png");
    let cols = panels.len().max(1);
    {
        let side = 380u32;
        let root = BitMapBackend::new(&tmp, (side * cols as u32, side + 70)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = if text {
            root.titled(title, ("sans-serif", 20))
                .map_err(|e| e.to_string())?
        } else {
            root
        };
        let (body, legend) = root.split_vertically(side + 10);
        for (panel, area) in panels.iter().zip(body.split_evenly((1, cols))) {
            let mut builder = ChartBuilder::on(&area);
            builder.margin(8);
            if text {
                builder
                    .caption(&panel.title, ("sans-serif", 16))
                    .x_label_area_size(28)
                    .y_label_area_size(34);
            }
            let mut chart = builder
                .build_cartesian_2d(-1.0f64..1.0, -1.0f64..1.0)
                .map_err(|e| e.to_string())?;
            let mut mesh = chart.configure_mesh();
            mesh.x_labels(5).y_labels(5);
            if text {
                mesh.x_desc("x").y_desc("y");
            } else {
                mesh.disable_x_axis().disable_y_axis();
            }
            mesh.draw().map_err(|e| e.to_string())?;
            let n = panel.paths.len().max(1) as f64;
            for (j, p) in panel.paths.iter().enumerate() {
                let color = HSLColor(j as f64 / n * 0.8, 0.6, 0.45);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        p.iter()
                            .map(|q| (f64::from(q[0]), f64::from(q[1])))
                            .collect::<Vec<_>>(),
                        color.stroke_width(1),
                    )))
                    .map_err(|e| e.to_string())?;
            }
            let px = |r: f32| -> i32 {
                let (w, _) = chart.plotting_area().dim_in_pixel();
                ((f64::from(r) / 2.0 * f64::from(w)) as i32).max(3)
            };
            let r = px(radius);
            for (i, t) in panel.targets.iter().enumerate() {
                let marked = Some(i) == panel.marked;
                let color = if marked { RED } else { BLUE };
                let at = (f64::from(t[0]), f64::from(t[1]));
                chart
                    .draw_series(std::iter::once(Circle::new(
                        at,
                        r,
                        color.mix(0.35).filled(),
                    )))
                    .map_err(|e| e.to_string())?;
                if text {
                    let label = if marked {
                        format!("T{i} (marked)")
                    } else {
                        format!("T{i}")
                    };
                    chart
                        .draw_series(std::iter::once(Text::new(
                            label,
                            (at.0 + 0.06, at.1 + 0.08),
                            ("sans-serif", 14).into_font().color(&BLACK),
                        )))
                        .map_err(|e| e.to_string())?;
                }
            }
            if let Some(start) = panel.paths.first().and_then(|p| p.first()) {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (f64::from(start[0]), f64::from(start[1])),
                        5,
                        BLACK.filled(),
                    )))
                    .map_err(|e| e.to_string())?;
            }
        }
        if text {
            let style = ("sans-serif", 15).into_font().color(&BLACK);
            let items: [(&str, RGBColor); 4] = [
                ("start state", BLACK),
                ("target (radius to scale)", BLUE),
                ("target the goal group marks", RED),
                (
                    "one rollout of the prior (colors tell rollouts apart)",
                    RGBColor(40, 140, 90),
                ),
            ];
            let mut x = 20;
            for (label, color) in items {
                legend
                    .draw(&Circle::new((x, 25), 6, color.mix(0.7).filled()))
                    .map_err(|e| e.to_string())?;
                legend
                    .draw(&Text::new(label, (x + 12, 17), style.clone()))
                    .map_err(|e| e.to_string())?;
                x += 24 + 8 * label.len() as i32;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}
