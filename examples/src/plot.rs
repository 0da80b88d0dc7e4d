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

/// Mean and min/max over seeds at each x of the shortest seed curve.
pub fn band(seeds: &[Vec<(f64, f64)>]) -> Vec<(f64, f64, f64, f64)> {
    let len = seeds.iter().map(Vec::len).min().unwrap_or(0);
    (0..len)
        .map(|i| {
            let ys: Vec<f64> = seeds.iter().map(|s| s[i].1).collect();
            let mean = ys.iter().sum::<f64>() / ys.len() as f64;
            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
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
    let text = font_ready();
    let tmp = path.with_extension("png.tmp.png");
    {
        let root = BitMapBackend::new(&tmp, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let bands: Vec<_> = series.iter().map(|s| band(&s.seeds)).collect();
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
                line.label(s.label.clone()).legend(move |(x, y)| {
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
