//! Accessible SVG charts drawn on the server: horizontal bars ([`bar_chart`]) and choropleth maps
//! ([`choropleth`]).
//!
//! Every chart is a root `<svg role="img">` named by its `<title>` and described by a `<desc>` (through
//! `aria-labelledby`), so that a screen reader announces the title and the values. Every text is
//! XML-escaped. The output is deterministic: the same input gives the same bytes. The ids inside a chart
//! (`{id}-titre`, `{id}-desc`, `{id}-hachures`) derive from the caller's `id`, cleaned to the characters
//! `A-Z a-z 0-9 - _` (others become `-`, and an id that does not start with a letter gets a `graphique-`
//! prefix), so that two charts of one page do not collide when their ids differ.
//!
//! Numbers are written the French way by [`format_number_fr`]: `274 466`, `18,6`, `−3,5`.

use std::fmt::Write as _;

use crate::table::MASKED_TEXT;

/// Width of every chart, in SVG user units.
const WIDTH: f64 = 640.0;
/// Inner margin.
const PAD: f64 = 12.0;
/// Font size of labels and values.
const FONT: f64 = 12.0;
/// Average advance of a character of the sans-serif font at [`FONT`], to estimate text widths.
const CHAR_WIDTH: f64 = 6.6;

/// `value` rounded to `decimals` decimals, written the French way: a narrow no-break space (U+202F)
/// between thousands, a decimal comma, a true minus sign (`−`, U+2212), and no sign on a value that
/// rounds to zero. `274466.0, 0` → `274 466`; `18.63, 1` → `18,6`; `-1234.5, 2` → `−1 234,50`. A value
/// that is not a finite number gives `n.d.`.
pub fn format_number_fr(value: f64, decimals: u8) -> String {
    if !value.is_finite() {
        return UNKNOWN_TEXT.to_owned();
    }
    let fixed = format!("{:.*}", usize::from(decimals), value.abs());
    let (int, frac) = match fixed.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (fixed.as_str(), None),
    };
    let negative = value < 0.0 && fixed.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let mut out = String::with_capacity(fixed.len() + fixed.len() / 3 * 3 + 3);
    if negative {
        out.push('−');
    }
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    if let Some(frac) = frac {
        out.push(',');
        out.push_str(frac);
    }
    out
}

/// The text shown for an unknown value.
const UNKNOWN_TEXT: &str = "n.d.";

// ---------------------------------------------------------------------------------------------------
// Bar chart

/// A horizontal bar chart: one bar per label, the value written at its end.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Makes the ids inside the SVG unique in the page (see the module documentation).
    pub id: String,
    /// The title, read first by screen readers and drawn at the top.
    pub title: String,
    /// The unit of the values (`enfants`, `%`, `places pour 100 enfants`), or empty.
    pub unit: String,
    /// How many decimals to write the values with.
    pub decimals: u8,
    /// The bars, drawn top to bottom in this order.
    pub bars: Vec<Bar>,
}

/// One bar of a [`BarChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The label written left of the bar.
    pub label: String,
    /// The value.
    pub value: BarValue,
}

/// The value of a [`Bar`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BarValue {
    /// A known value: a bar (a value that is not a finite number is drawn as [`BarValue::Unknown`]).
    Known(f64),
    /// Unknown: no bar, the text `n.d.` instead.
    Unknown,
    /// Covered by the statistical secret: no bar, the text `secret` instead.
    Masked,
}

impl From<Option<f64>> for BarValue {
    fn from(v: Option<f64>) -> Self {
        v.map_or(BarValue::Unknown, BarValue::Known)
    }
}

impl BarValue {
    fn known(self) -> Option<f64> {
        match self {
            BarValue::Known(v) if v.is_finite() => Some(v),
            _ => None,
        }
    }
}

const BAR_HEIGHT: f64 = 18.0;
const BAR_STEP: f64 = 26.0;
const BAR_COLOUR: &str = "#2a5a8c";
const TEXT_COLOUR: &str = "#1a1a1a";
const MUTED_COLOUR: &str = "#595959";
const GRID_COLOUR: &str = "#dde3ea";
/// The widest label column; longer labels are cut with an ellipsis (the bar's tooltip has them whole).
const MAX_LABEL_WIDTH: f64 = 220.0;

/// The chart as an SVG document. The scale runs from 0 (or the smallest value, when one is negative) to
/// the largest value (or 0, when all are negative); a negative value is a bar going left of the zero
/// line. Unknown and masked values have no bar but a short text at the zero line.
pub fn bar_chart(c: &BarChart) -> String {
    let ids = Ids::new(&c.id);
    let unit_suffix = |v: &str| if c.unit.is_empty() { v.to_owned() } else { format!("{v}\u{a0}{}", c.unit) };
    let value_text = |v: BarValue| match v {
        BarValue::Known(x) => format_number_fr(x, c.decimals),
        BarValue::Unknown => UNKNOWN_TEXT.to_owned(),
        BarValue::Masked => MASKED_TEXT.to_owned(),
    };

    let mut desc = format!("Diagramme en barres horizontales, {}", plural(c.bars.len(), "barre", "barres"));
    if !c.unit.is_empty() {
        let _ = write!(desc, ", en {}", c.unit);
    }
    desc.push_str(" : ");
    let items: Vec<String> = c.bars.iter().map(|b| format!("{}\u{a0}: {}", b.label, value_text(b.value))).collect();
    desc.push_str(&items.join(" ; "));
    if !desc.ends_with('.') {
        desc.push('.');
    }

    let header_height = if c.unit.is_empty() { 36.0 } else { 54.0 };
    if c.bars.is_empty() {
        let height = header_height + 30.0;
        let mut svg = open_svg(&ids, height, &c.title, "Aucune donnée.");
        write_heading(&mut svg, &c.title, &c.unit);
        let _ = write!(
            svg,
            r#"<text x="{PAD}" y="{}" font-size="{FONT}" fill="{MUTED_COLOUR}">aucune donnée</text>"#,
            header_height + 14.0
        );
        svg.push_str("</svg>");
        return svg;
    }

    let label_chars = c.bars.iter().map(|b| b.label.chars().count()).max().unwrap_or(0);
    let label_width = (label_chars as f64 * CHAR_WIDTH).clamp(40.0, MAX_LABEL_WIDTH);
    let max_label_chars = (MAX_LABEL_WIDTH / CHAR_WIDTH) as usize;
    let value_chars = c.bars.iter().map(|b| value_text(b.value).chars().count()).max().unwrap_or(0);
    let value_width = value_chars as f64 * CHAR_WIDTH + 8.0;
    let plot_x = PAD + label_width + 8.0;
    let plot_width = (WIDTH - PAD - value_width - plot_x).max(80.0);

    let known: Vec<f64> = c.bars.iter().filter_map(|b| b.value.known()).collect();
    let lo = known.iter().copied().fold(0.0, f64::min);
    let hi = known.iter().copied().fold(0.0, f64::max);
    // Halves, so that the span of two huge values of opposite signs does not overflow to infinity.
    let half_span = if hi > lo { hi / 2.0 - lo / 2.0 } else { 1.0 };
    let x_of = |v: f64| plot_x + (v / 2.0 - lo / 2.0) / half_span * plot_width;
    let zero = x_of(0.0);

    let height = header_height + c.bars.len() as f64 * BAR_STEP + PAD;
    let mut svg = open_svg(&ids, height, &c.title, &desc);
    write_heading(&mut svg, &c.title, &c.unit);
    for (i, bar) in c.bars.iter().enumerate() {
        let top = header_height + i as f64 * BAR_STEP;
        let baseline = top + BAR_HEIGHT / 2.0 + FONT * 0.35;
        let label = truncate(&bar.label, max_label_chars);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" font-size="{FONT}" fill="{TEXT_COLOUR}" text-anchor="end">"#,
            num(plot_x - 8.0),
            num(baseline)
        );
        if label != bar.label {
            let _ = write!(svg, "<title>{}</title>", esc(&bar.label));
        }
        let _ = write!(svg, "{}</text>", esc(&label));
        match bar.value.known() {
            Some(v) => {
                let end = x_of(v);
                let (left, right) = if v < 0.0 { (end, zero) } else { (zero, end) };
                let _ = write!(
                    svg,
                    r#"<rect x="{}" y="{}" width="{}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"><title>{}</title></rect>"#,
                    num(left),
                    num(top),
                    num(right - left),
                    esc(&format!("{}\u{a0}: {}", bar.label, unit_suffix(&value_text(bar.value))))
                );
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{}" font-size="{FONT}" fill="{TEXT_COLOUR}">{}</text>"#,
                    num(right + 4.0),
                    num(baseline),
                    esc(&value_text(bar.value))
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{}" font-size="{FONT}" font-style="italic" fill="{MUTED_COLOUR}">{}</text>"#,
                    num(zero + 4.0),
                    num(baseline),
                    esc(&value_text(bar.value))
                );
            }
        }
    }
    let _ = write!(
        svg,
        r#"<line x1="{z}" y1="{}" x2="{z}" y2="{}" stroke="{TEXT_COLOUR}" stroke-width="1"/>"#,
        num(header_height - 4.0),
        num(header_height + (c.bars.len() - 1) as f64 * BAR_STEP + BAR_HEIGHT + 4.0),
        z = num(zero)
    );
    svg.push_str("</svg>");
    svg
}

// ---------------------------------------------------------------------------------------------------
// Line chart on a time axis

/// A time series: points placed by their date on the horizontal axis (uneven years spaced by the
/// time between them), joined by a line; the vertical axis spans the values (it does not start at
/// zero, and says where it starts).
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Makes the ids inside the SVG unique in the page.
    pub id: String,
    pub title: String,
    pub unit: String,
    pub decimals: u8,
    /// (position in years, e.g. 2006.0; its label, e.g. « 2006 »; the value, `None` if unknown), in
    /// time order.
    pub points: Vec<(f64, String, Option<f64>)>,
}

/// The year a period starts with (« 2006 », « 2019-2021 », « 2021-T2 »), as a position on a time axis.
pub fn period_position(period: &str) -> Option<f64> {
    let digits: String = period.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() == 4 {
        digits.parse::<f64>().ok()
    } else {
        None
    }
}

/// The series as an SVG line chart, or `None` when fewer than two points are known or a position is
/// not a finite number.
pub fn line_chart(c: &LineChart) -> Option<String> {
    let known: Vec<(f64, &str, f64)> = c
        .points
        .iter()
        .filter_map(|(x, l, v)| v.filter(|v| v.is_finite()).map(|v| (*x, l.as_str(), v)))
        .filter(|(x, _, _)| x.is_finite())
        .collect();
    if known.len() < 2 {
        return None;
    }
    let ids = Ids::new(&c.id);
    let value_text = |v: f64| format_number_fr(v, c.decimals);
    let with_unit =
        |v: f64| if c.unit.is_empty() { value_text(v) } else { format!("{}\u{a0}{}", value_text(v), c.unit) };
    let desc = format!(
        "Courbe sur un axe du temps, {} : {}.",
        plural(known.len(), "point", "points"),
        known.iter().map(|(_, l, v)| format!("{l}\u{a0}: {}", with_unit(*v))).collect::<Vec<_>>().join(" ; ")
    );
    let (x0, x1) = (known[0].0, known[known.len() - 1].0);
    let lo = known.iter().map(|k| k.2).fold(f64::INFINITY, f64::min);
    let hi = known.iter().map(|k| k.2).fold(f64::NEG_INFINITY, f64::max);
    // A margin of a tenth of the span (or of the value) above and below.
    let margin = if hi > lo { (hi - lo) / 10.0 } else { hi.abs().max(1.0) / 10.0 };
    let (y_lo, y_hi) = (lo - margin, hi + margin);
    let header_height = if c.unit.is_empty() { 36.0 } else { 54.0 };
    let axis_width = 10.0 + CHAR_WIDTH * value_text(y_hi).chars().count().max(value_text(y_lo).chars().count()) as f64;
    let (plot_x, plot_w) = (PAD + axis_width, WIDTH - 2.0 * PAD - axis_width - 20.0);
    let (plot_y, plot_h) = (header_height + 8.0, 160.0);
    let height = plot_y + plot_h + 44.0;
    let span = if x1 > x0 { x1 - x0 } else { 1.0 };
    let x_of = |x: f64| plot_x + (x - x0) / span * plot_w;
    let y_of = |v: f64| plot_y + plot_h - (v - y_lo) / (y_hi - y_lo) * plot_h;
    let mut svg = open_svg(&ids, height, &c.title, &desc);
    write_heading(&mut svg, &c.title, &c.unit);
    // Axes: the vertical one labelled at its bottom and top, so that it says where it starts.
    let _ = write!(
        svg,
        r#"<line x1="{px}" y1="{}" x2="{px}" y2="{}" stroke="{MUTED_COLOUR}"/><line x1="{px}" y1="{b}" x2="{}" y2="{b}" stroke="{MUTED_COLOUR}"/>"#,
        num(plot_y),
        num(plot_y + plot_h),
        num(plot_x + plot_w),
        px = num(plot_x),
        b = num(plot_y + plot_h)
    );
    for v in [y_lo, (y_lo + y_hi) / 2.0, y_hi] {
        let y = y_of(v);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" font-size="{FONT}" fill="{MUTED_COLOUR}" text-anchor="end">{}</text><line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{GRID_COLOUR}"/>"#,
            num(plot_x - 4.0),
            num(y + FONT * 0.35),
            esc(&value_text(v)),
            num(plot_x),
            num(plot_x + plot_w),
            y = num(y)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" font-size="11" fill="{MUTED_COLOUR}">axe vertical de {} à {}{}</text>"#,
        num(plot_x),
        num(height - 6.0),
        esc(&with_unit(y_lo)),
        esc(&with_unit(y_hi)),
        if y_lo > 0.0 { " : il ne part pas de zéro" } else { "" }
    );
    let points: Vec<String> = known.iter().map(|(x, _, v)| format!("{},{}", num(x_of(*x)), num(y_of(*v)))).collect();
    let _ = write!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{BAR_COLOUR}" stroke-width="2.5"/>"#,
        points.join(" ")
    );
    let mut last_label_x = f64::NEG_INFINITY;
    for (x, label, v) in &known {
        let (cx, cy) = (x_of(*x), y_of(*v));
        let _ = write!(
            svg,
            r#"<circle cx="{}" cy="{}" r="4" fill="{BAR_COLOUR}"><title>{}</title></circle>"#,
            num(cx),
            num(cy),
            esc(&format!("{label}\u{a0}: {}", with_unit(*v)))
        );
        // Year labels under the axis, skipped where they would overlap.
        if cx - last_label_x >= CHAR_WIDTH * (label.chars().count() as f64 + 1.0) {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" font-size="{FONT}" fill="{TEXT_COLOUR}" text-anchor="middle">{}</text>"#,
                num(cx),
                num(plot_y + plot_h + 16.0),
                esc(label)
            );
            last_label_x = cx;
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

// ---------------------------------------------------------------------------------------------------
// Choropleth map

/// A map of territories coloured by value.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoroplethMap {
    /// Makes the ids inside the SVG unique in the page (see the module documentation).
    pub id: String,
    /// The title, read first by screen readers and drawn at the top.
    pub title: String,
    /// The unit of the values, or empty.
    pub unit: String,
    /// How many decimals to write the values and the class bounds with.
    pub decimals: u8,
    /// The territories, drawn in this order.
    pub shapes: Vec<Shape>,
}

/// One territory of a [`ChoroplethMap`].
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// The code (INSEE code of a commune…), written in the `data-code` attribute.
    pub code: String,
    /// The name, in the tooltip.
    pub name: String,
    /// Polygons, each a list of rings (the outer ring, then holes), each a list of (longitude, latitude)
    /// points in WGS84 degrees. Points that are not finite numbers are skipped.
    pub polygons: Vec<Vec<Vec<(f64, f64)>>>,
    /// The value, or `None` (unknown or masked): then the shape is hatched grey, « non renseigné ».
    pub value: Option<f64>,
}

/// A sequential blue scale, light to dark, distinct enough for five classes.
const PALETTE: [&str; 5] = ["#dbe9f6", "#9ac8e0", "#529dcc", "#1c6aaf", "#08306b"];
const STROKE_COLOUR: &str = "#4d4d4d";
/// The widest and tallest a map may be drawn.
const MAP_WIDTH: f64 = WIDTH - 2.0 * PAD;
const MAP_MAX_HEIGHT: f64 = 560.0;
const MAP_TOP: f64 = 40.0;
const LEGEND_STEP: f64 = 20.0;
const NO_VALUE_TEXT: &str = "non renseigné";

/// Up to five classes of values, by quantiles.
#[derive(Debug, Clone, PartialEq)]
struct Classes {
    /// The smallest value of each class, increasing.
    lower: Vec<f64>,
    /// The largest value of each class.
    upper: Vec<f64>,
}

impl Classes {
    /// Classes by quantiles of the values: five, or fewer when there are fewer distinct values (or when
    /// equal values fill several quantiles). Each class runs from the smallest to the largest value it
    /// holds, so the bounds are values of the map.
    fn by_quantiles(values: &[f64]) -> Self {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let mut distinct = sorted.clone();
        distinct.dedup();
        let k = distinct.len().min(PALETTE.len());
        let n = sorted.len();
        let mut lower: Vec<f64> = Vec::with_capacity(k);
        for i in 0..k {
            let candidate = sorted[i * n / k];
            if lower.last().is_none_or(|&last| candidate > last) {
                lower.push(candidate);
            }
        }
        let upper = (0..lower.len())
            .map(|j| match lower.get(j + 1) {
                Some(&next) => sorted.iter().copied().filter(|&v| v < next).fold(lower[j], f64::max),
                None => sorted[n - 1],
            })
            .collect();
        Classes { lower, upper }
    }

    fn len(&self) -> usize {
        self.lower.len()
    }

    /// The class of a value: the last one whose smallest value it reaches.
    fn of(&self, v: f64) -> Option<usize> {
        if !v.is_finite() || self.lower.is_empty() {
            return None;
        }
        Some(self.lower.iter().rposition(|&l| v >= l).unwrap_or(0))
    }

    /// The colour of a class, spread over the palette when there are fewer than five classes.
    fn colour(&self, class: usize) -> &'static str {
        let n = self.len();
        let index = if n <= 1 { PALETTE.len() / 2 } else { (class * (PALETTE.len() - 1) + (n - 1) / 2) / (n - 1) };
        PALETTE[index.min(PALETTE.len() - 1)]
    }
}

/// Projects (longitude, latitude) into the map's box: equirectangular, x scaled by the cosine of the
/// middle latitude of the bounding box, y pointing down, fitted in [`MAP_WIDTH`] × [`MAP_MAX_HEIGHT`]
/// and centred horizontally.
#[derive(Debug, Clone, Copy)]
struct Projection {
    min_lon: f64,
    max_lat: f64,
    kx: f64,
    scale: f64,
    left: f64,
    height: f64,
}

impl Projection {
    fn fit<'a>(points: impl Iterator<Item = &'a (f64, f64)>) -> Option<Self> {
        let (mut min_lon, mut max_lon, mut min_lat, mut max_lat) =
            (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for &(lon, lat) in points.filter(|(lon, lat)| lon.is_finite() && lat.is_finite()) {
            min_lon = min_lon.min(lon);
            max_lon = max_lon.max(lon);
            min_lat = min_lat.min(lat);
            max_lat = max_lat.max(lat);
        }
        if !min_lon.is_finite() {
            return None;
        }
        let kx = ((min_lat + max_lat) / 2.0).to_radians().cos().max(0.01);
        let x_span = (max_lon - min_lon) * kx;
        let y_span = max_lat - min_lat;
        let scale = match (x_span > 0.0, y_span > 0.0) {
            (true, true) => (MAP_WIDTH / x_span).min(MAP_MAX_HEIGHT / y_span),
            (true, false) => MAP_WIDTH / x_span,
            (false, true) => MAP_MAX_HEIGHT / y_span,
            (false, false) => 1.0,
        };
        let left = PAD + (MAP_WIDTH - x_span * scale) / 2.0;
        Some(Projection { min_lon, max_lat, kx, scale, left, height: (y_span * scale).max(1.0) })
    }

    fn project(&self, (lon, lat): (f64, f64)) -> (f64, f64) {
        (self.left + (lon - self.min_lon) * self.kx * self.scale, MAP_TOP + (self.max_lat - lat) * self.scale)
    }
}

/// The path data of a shape: one subpath per ring, coordinates rounded to one decimal, repeated points
/// dropped.
fn path_data(shape: &Shape, projection: &Projection) -> String {
    let mut d = String::new();
    for ring in shape.polygons.iter().flatten() {
        let mut last: Option<(String, String)> = None;
        let mut started = false;
        for &point in ring.iter().filter(|(lon, lat)| lon.is_finite() && lat.is_finite()) {
            let (x, y) = projection.project(point);
            let p = (num(x), num(y));
            if last.as_ref() == Some(&p) {
                continue;
            }
            let _ = write!(d, "{}{} {}", if started { "L" } else { "M" }, p.0, p.1);
            started = true;
            last = Some(p);
        }
        if started {
            d.push('Z');
        }
    }
    d
}

/// The map as an SVG document: one `<path>` per shape (all its polygons, holes by the even-odd rule)
/// with a `data-code` attribute and a tooltip, coloured by quantile class, and a legend of the classes
/// under the map. An empty list of shapes (or shapes without a single point) gives a document with the
/// title and the text « aucun contour ».
pub fn choropleth(m: &ChoroplethMap) -> String {
    let ids = Ids::new(&m.id);
    let Some(projection) = Projection::fit(m.shapes.iter().flat_map(|s| s.polygons.iter().flatten().flatten())) else {
        let mut svg = open_svg(&ids, 80.0, &m.title, "Aucun contour à afficher.");
        write_heading(&mut svg, &m.title, "");
        let _ = write!(svg, r#"<text x="{PAD}" y="56" font-size="{FONT}" fill="{MUTED_COLOUR}">aucun contour</text>"#);
        svg.push_str("</svg>");
        return svg;
    };

    let values: Vec<f64> = m.shapes.iter().filter_map(|s| s.value.filter(|v| v.is_finite())).collect();
    let classes = Classes::by_quantiles(&values);
    let missing = m.shapes.len() - values.len();
    let fmt = |v: f64| format_number_fr(v, m.decimals);
    let with_unit = |v: String| if m.unit.is_empty() { v } else { format!("{v}\u{a0}{}", m.unit) };
    let class_text = |j: usize| {
        let (lo, hi) = (fmt(classes.lower[j]), fmt(classes.upper[j]));
        if lo == hi {
            lo
        } else {
            format!("de {lo} à {hi}")
        }
    };

    let mut desc = format!("Carte de {}", plural(m.shapes.len(), "territoire", "territoires"));
    if !values.is_empty() {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let _ = write!(
            desc,
            ", en {} par quantiles ; valeurs de {} à {}",
            plural(classes.len(), "classe", "classes"),
            fmt(min),
            with_unit(fmt(max))
        );
    }
    if missing > 0 {
        let _ = write!(
            desc,
            " ; {} non {}",
            plural(missing, "territoire", "territoires"),
            plural_word(missing, "renseigné")
        );
    }
    desc.push('.');

    let legend_top = MAP_TOP + projection.height + 20.0;
    let legend_rows = classes.len() + usize::from(missing > 0);
    let height = legend_top + 8.0 + legend_rows as f64 * LEGEND_STEP + PAD;
    let mut svg = open_svg(&ids, height, &m.title, &desc);
    if missing > 0 {
        let _ = write!(
            svg,
            r##"<defs><pattern id="{}" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9e9e9e" stroke-width="2"/></pattern></defs>"##,
            ids.hatch
        );
    }
    write_heading(&mut svg, &m.title, "");
    let hatch_fill = format!("url(#{})", ids.hatch);

    let _ = write!(svg, r#"<g stroke="{STROKE_COLOUR}" stroke-width="0.5" stroke-linejoin="round">"#);
    for shape in &m.shapes {
        let value = shape.value.filter(|v| v.is_finite());
        let (fill, class, value_text) = match value.and_then(|v| classes.of(v).map(|c| (v, c))) {
            Some((v, c)) => (classes.colour(c).to_owned(), c.to_string(), with_unit(fmt(v))),
            None => (hatch_fill.clone(), "aucune".to_owned(), NO_VALUE_TEXT.to_owned()),
        };
        let _ = write!(
            svg,
            r#"<path data-code="{}" data-classe="{class}" fill="{}" fill-rule="evenodd" d="{}"><title>{}</title></path>"#,
            esc(&shape.code),
            esc(&fill),
            path_data(shape, &projection),
            esc(&format!("{}\u{a0}: {value_text}", shape.name))
        );
    }
    svg.push_str("</g>");

    let legend_title = if m.unit.is_empty() { "Légende".to_owned() } else { format!("Légende (en {})", m.unit) };
    let _ = write!(
        svg,
        r#"<g font-size="{FONT}" fill="{TEXT_COLOUR}"><text x="{PAD}" y="{}" font-weight="bold">{}</text>"#,
        num(legend_top),
        esc(&legend_title)
    );
    let rows = (0..classes.len())
        .map(|j| (classes.colour(j).to_owned(), class_text(j)))
        .chain((missing > 0).then(|| (hatch_fill.clone(), NO_VALUE_TEXT.to_owned())));
    for (i, (fill, text)) in rows.enumerate() {
        let top = legend_top + 8.0 + i as f64 * LEGEND_STEP;
        let _ = write!(
            svg,
            r#"<rect x="{PAD}" y="{}" width="14" height="14" fill="{}" stroke="{STROKE_COLOUR}" stroke-width="0.5"/><text x="{}" y="{}">{}</text>"#,
            num(top),
            esc(&fill),
            num(PAD + 20.0),
            num(top + 11.0),
            esc(&text)
        );
    }
    svg.push_str("</g></svg>");
    svg
}

// ---------------------------------------------------------------------------------------------------
// Shared pieces

/// The ids inside one chart.
#[derive(Debug)]
struct Ids {
    title: String,
    desc: String,
    hatch: String,
}

impl Ids {
    fn new(id: &str) -> Self {
        let mut base: String =
            id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
        if !base.starts_with(|c: char| c.is_ascii_alphabetic()) {
            base = format!("graphique-{base}");
        }
        Ids { title: format!("{base}-titre"), desc: format!("{base}-desc"), hatch: format!("{base}-hachures") }
    }
}

/// The root element, its `<title>` and its `<desc>`.
fn open_svg(ids: &Ids, height: f64, title: &str, desc: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="{} {}" font-family="sans-serif"><title id="{}">{}</title><desc id="{}">{}</desc>"#,
        ids.title,
        ids.desc,
        ids.title,
        esc(title),
        ids.desc,
        esc(desc),
        w = num(WIDTH),
        h = num(height.ceil()),
    )
}

/// The visible title, and the unit under it when there is one.
fn write_heading(svg: &mut String, title: &str, unit: &str) {
    let _ = write!(
        svg,
        r#"<text x="{PAD}" y="24" font-size="16" font-weight="bold" fill="{TEXT_COLOUR}">{}</text>"#,
        esc(title)
    );
    if !unit.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="{PAD}" y="42" font-size="{FONT}" fill="{MUTED_COLOUR}">{}</text>"#,
            esc(&format!("Unité\u{a0}: {unit}"))
        );
    }
}

/// A coordinate rounded to one decimal, never `-0.0`, and never a non-finite number (`inf`, `NaN`), which
/// would make the SVG invalid: such a coordinate is written `0.0`.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    let r = if r.is_finite() { r } else { 0.0 };
    let r = if r == 0.0 { 0.0 } else { r };
    format!("{r:.1}")
}

/// Text escaped for XML content and attribute values; characters XML 1.0 forbids are dropped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, the last one an ellipsis when the text is cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// `1 barre`, `3 barres`, `0 barre` (French uses the singular below 2).
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n < 2 { one } else { many })
}

/// `renseigné` or `renseignés`.
fn plural_word(n: usize, word: &str) -> String {
    if n < 2 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `<path>` element of a shape, by code.
    fn path_of<'a>(svg: &'a str, code: &str) -> &'a str {
        let start = svg.find(&format!(r#"<path data-code="{code}""#)).expect("no path for this code");
        let end = svg[start..].find("</path>").unwrap() + start;
        &svg[start..end]
    }

    fn attr<'a>(element: &'a str, name: &str) -> &'a str {
        let key = format!(r#" {name}=""#);
        let start = element.find(&key).unwrap_or_else(|| panic!("no {name} in {element}")) + key.len();
        let end = element[start..].find('"').unwrap() + start;
        &element[start..end]
    }

    /// The numbers of path data, in order (x, y, x, y…).
    fn coordinates(d: &str) -> Vec<f64> {
        d.split(['M', 'L', 'Z', ' ']).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect()
    }

    /// The mean point of a path's coordinates.
    fn centre(svg: &str, code: &str) -> (f64, f64) {
        let nums = coordinates(attr(path_of(svg, code), "d"));
        let n = nums.len() as f64 / 2.0;
        (nums.iter().step_by(2).sum::<f64>() / n, nums.iter().skip(1).step_by(2).sum::<f64>() / n)
    }

    fn square(lon: f64, lat: f64) -> Vec<Vec<Vec<(f64, f64)>>> {
        vec![vec![vec![(lon, lat), (lon + 0.1, lat), (lon + 0.1, lat + 0.1), (lon, lat + 0.1), (lon, lat)]]]
    }

    fn shape(code: &str, name: &str, lon: f64, lat: f64, value: Option<f64>) -> Shape {
        Shape { code: code.into(), name: name.into(), polygons: square(lon, lat), value }
    }

    fn map(shapes: Vec<Shape>) -> ChoroplethMap {
        ChoroplethMap { id: "carte".into(), title: "Taux de couverture".into(), unit: "%".into(), decimals: 1, shapes }
    }

    #[test]
    fn numbers_are_written_the_french_way() {
        assert_eq!(format_number_fr(274_466.0, 0), "274\u{202f}466");
        assert_eq!(format_number_fr(18.63, 1), "18,6");
        assert_eq!(format_number_fr(-1234.5, 2), "−1\u{202f}234,50");
        assert_eq!(format_number_fr(999.96, 1), "1\u{202f}000,0");
        assert_eq!(format_number_fr(1_000_000.0, 0), "1\u{202f}000\u{202f}000");
        assert_eq!(format_number_fr(100.0, 0), "100");
        assert_eq!(format_number_fr(-0.04, 1), "0,0");
        assert_eq!(format_number_fr(0.5, 0), "0");
        assert_eq!(format_number_fr(f64::NAN, 1), "n.d.");
    }

    #[test]
    fn west_is_left_and_north_is_up() {
        let svg = choropleth(&map(vec![
            shape("W", "Ouest", 2.0, 50.0, Some(1.0)),
            shape("E", "Est", 3.0, 50.0, Some(2.0)),
            shape("N", "Nord", 2.5, 51.0, Some(3.0)),
            shape("S", "Sud", 2.5, 49.0, None),
        ]));
        let (w, e, n, s) = (centre(&svg, "W"), centre(&svg, "E"), centre(&svg, "N"), centre(&svg, "S"));
        assert!(w.0 < e.0, "{w:?} {e:?}");
        assert!(n.1 < s.1, "{n:?} {s:?}");
        // The map fills the width or the height of its box, and stays inside the viewBox.
        let d = attr(path_of(&svg, "E"), "d");
        assert!(d.starts_with('M') && d.ends_with('Z'), "{d}");
        assert!(coordinates(d).iter().step_by(2).all(|x| (PAD..=WIDTH - PAD).contains(x)), "{d}");
        assert!(coordinates(d).iter().skip(1).step_by(2).all(|y| (MAP_TOP..=MAP_TOP + MAP_MAX_HEIGHT).contains(y)));
    }

    #[test]
    fn longitude_is_shrunk_by_the_cosine_of_the_latitude() {
        // One degree of longitude at 60° is half a degree of latitude on the ground.
        let svg = choropleth(&map(vec![Shape {
            code: "X".into(),
            name: "X".into(),
            polygons: vec![vec![vec![(0.0, 59.0), (2.0, 59.0), (2.0, 61.0), (0.0, 61.0)]]],
            value: Some(1.0),
        }]));
        let d = attr(path_of(&svg, "X"), "d");
        let nums = coordinates(d);
        let width = nums[2] - nums[0];
        let height = (nums[5] - nums[3]).abs();
        assert!((width / height - 60f64.to_radians().cos()).abs() < 0.01, "{d}");
        // Coordinates have one decimal.
        assert!(d
            .split(['M', 'L', 'Z', ' '])
            .filter(|s| !s.is_empty())
            .all(|s| s.split('.').nth(1).map(str::len) == Some(1)));
    }

    #[test]
    fn quantile_classes() {
        let c = Classes::by_quantiles(&(1..=10).map(f64::from).collect::<Vec<_>>());
        assert_eq!(c.lower, vec![1.0, 3.0, 5.0, 7.0, 9.0]);
        assert_eq!(c.upper, vec![2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(c.of(1.0), Some(0));
        assert_eq!(c.of(4.0), Some(1));
        assert_eq!(c.of(9.0), Some(4));
        assert_eq!(c.of(10.0), Some(4));
        // Fewer distinct values, fewer classes.
        let c = Classes::by_quantiles(&[5.0, 5.0, 7.0, 7.0, 7.0]);
        assert_eq!(c.lower, vec![5.0, 7.0]);
        assert_eq!(c.upper, vec![5.0, 7.0]);
        assert_eq!(c.of(7.0), Some(1));
        // Two classes use the two ends of the palette.
        assert_eq!((c.colour(0), c.colour(1)), (PALETTE[0], PALETTE[4]));
        let one = Classes::by_quantiles(&[3.0, 3.0]);
        assert_eq!(one.len(), 1);
        assert!(Classes::by_quantiles(&[]).of(1.0).is_none());
    }

    #[test]
    fn shapes_carry_their_class_and_the_legend_its_bounds() {
        let shapes =
            (1..=10).map(|i| shape(&format!("c{i}"), "x", f64::from(i), 45.0, Some(f64::from(i) * 1000.5))).collect();
        let svg = choropleth(&map(shapes));
        assert_eq!(attr(path_of(&svg, "c4"), "data-classe"), "1");
        assert_eq!(attr(path_of(&svg, "c4"), "fill"), PALETTE[1]);
        assert_eq!(attr(path_of(&svg, "c10"), "data-classe"), "4");
        assert_eq!(attr(path_of(&svg, "c10"), "fill"), PALETTE[4]);
        assert!(svg.contains(">de 1\u{202f}000,5 à 2\u{202f}001,0</text>"), "{svg}");
        assert!(svg.contains(">de 9\u{202f}004,5 à 10\u{202f}005,0</text>"), "{svg}");
        assert!(svg.contains(">Légende (en %)</text>"));
        assert!(!svg.contains(NO_VALUE_TEXT), "no shape lacks a value");
        assert!(!svg.contains("<pattern"));
    }

    #[test]
    fn names_and_codes_are_escaped() {
        let svg = choropleth(&map(vec![shape("62<&\"", "Saint-<Pol> & \"Ternoise\"", 2.0, 50.0, Some(18.63))]));
        assert!(svg.contains(r#"data-code="62&lt;&amp;&quot;""#), "{svg}");
        assert!(
            svg.contains("<title>Saint-&lt;Pol&gt; &amp; &quot;Ternoise&quot;\u{a0}: 18,6\u{a0}%</title>"),
            "{svg}"
        );
        let bars = bar_chart(&BarChart {
            id: "b".into(),
            title: "A < B & \"C\"".into(),
            unit: String::new(),
            decimals: 0,
            bars: vec![Bar { label: "<script>&".into(), value: BarValue::Known(1.0) }],
        });
        assert!(bars.contains("<title id=\"b-titre\">A &lt; B &amp; &quot;C&quot;</title>"), "{bars}");
        assert!(!bars.contains("<script>"));
        assert!(bars.contains("&lt;script&gt;&amp;"));
    }

    #[test]
    fn shapes_without_value_are_hatched_and_in_the_legend() {
        let svg = choropleth(&map(vec![
            shape("A", "Avec", 2.0, 50.0, Some(10.0)),
            shape("B", "Sans", 2.2, 50.0, None),
            shape("C", "Infini", 2.4, 50.0, Some(f64::INFINITY)),
        ]));
        assert_eq!(attr(path_of(&svg, "B"), "fill"), "url(#carte-hachures)");
        assert_eq!(attr(path_of(&svg, "B"), "data-classe"), "aucune");
        assert_eq!(attr(path_of(&svg, "C"), "fill"), "url(#carte-hachures)");
        assert!(path_of(&svg, "B").contains("<title>Sans\u{a0}: non renseigné"));
        assert!(svg.contains(r#"<pattern id="carte-hachures""#));
        assert!(svg.contains(r##"fill="url(#carte-hachures)" stroke="#4d4d4d" stroke-width="0.5"/><text x="32.0" y="##));
        assert!(svg.contains(">non renseigné</text>"), "{svg}");
        assert!(svg.contains("2 territoires non renseignés"), "{svg}");
        assert!(svg.contains(">10,0</text>"), "a class of one value shows it once: {svg}");
    }

    #[test]
    fn svg_root_is_accessible() {
        let svg = choropleth(&map(vec![shape("A", "A", 2.0, 50.0, Some(1.0))]));
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640.0 "#), "{svg}");
        assert!(svg.contains(r#"role="img" aria-labelledby="carte-titre carte-desc""#));
        assert!(svg.contains(
            r#"<title id="carte-titre">Taux de couverture</title><desc id="carte-desc">Carte de 1 territoire"#
        ));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(Ids::new("1 carte/à").title, "graphique-1-carte---titre");
    }

    #[test]
    fn no_shape_gives_a_title_and_a_notice() {
        for shapes in [vec![], vec![Shape { code: "X".into(), name: "X".into(), polygons: vec![], value: Some(1.0) }]] {
            let svg = choropleth(&map(shapes));
            assert!(svg.contains(">aucun contour</text>"), "{svg}");
            assert!(svg.contains(r#"<title id="carte-titre">Taux de couverture</title>"#));
            assert!(!svg.contains("<path"));
        }
    }

    #[test]
    fn output_is_deterministic() {
        let m = map(vec![
            shape("A", "A", 2.0, 50.0, Some(1.0)),
            shape("B", "B", 2.3, 50.2, Some(2.5)),
            shape("C", "C", 2.6, 50.4, None),
        ]);
        assert_eq!(choropleth(&m), choropleth(&m.clone()));
        let b = sample_bars();
        assert_eq!(bar_chart(&b), bar_chart(&b.clone()));
    }

    fn sample_bars() -> BarChart {
        BarChart {
            id: "enfants".into(),
            title: "Enfants de moins de 3 ans".into(),
            unit: "enfants".into(),
            decimals: 0,
            bars: vec![
                Bar { label: "Lens".into(), value: BarValue::Known(274_466.0) },
                Bar { label: "Liévin".into(), value: BarValue::Known(137_233.0) },
                Bar { label: "Avion".into(), value: BarValue::Masked },
                Bar { label: "Harnes".into(), value: BarValue::Unknown },
            ],
        }
    }

    /// The `<rect>` elements of the bars.
    fn rects(svg: &str) -> Vec<&str> {
        svg.match_indices("<rect ").map(|(i, _)| &svg[i..i + svg[i..].find("</rect>").unwrap()]).collect()
    }

    #[test]
    fn bars_are_proportional_and_missing_values_are_texts() {
        let svg = bar_chart(&sample_bars());
        let rects = rects(&svg);
        assert_eq!(rects.len(), 2, "no bar for the masked and the unknown values");
        let width = |r: &str| attr(r, "width").parse::<f64>().unwrap();
        assert!((width(rects[0]) / width(rects[1]) - 2.0).abs() < 0.01);
        assert_eq!(attr(rects[0], "x"), attr(rects[1], "x"), "bars start at zero");
        assert!(rects[0].contains("<title>Lens\u{a0}: 274\u{202f}466\u{a0}enfants</title>"), "{}", rects[0]);
        assert!(svg.contains(">274\u{202f}466</text>"));
        assert!(svg.contains(">secret</text>"));
        assert!(svg.contains(">n.d.</text>"));
        assert!(svg.contains(
            "Diagramme en barres horizontales, 4 barres, en enfants : Lens\u{a0}: 274\u{202f}466 ; \
             Liévin\u{a0}: 137\u{202f}233 ; Avion\u{a0}: secret ; Harnes\u{a0}: n.d.</desc>"
        ));
        assert!(svg.contains(r#"aria-labelledby="enfants-titre enfants-desc""#));
        // One right-aligned label per bar.
        assert_eq!(svg.matches("text-anchor=\"end\"").count(), 4);
    }

    #[test]
    fn negative_bars_go_left_of_zero() {
        let svg = bar_chart(&BarChart {
            id: "solde".into(),
            title: "Solde".into(),
            unit: String::new(),
            decimals: 1,
            bars: vec![
                Bar { label: "Gain".into(), value: BarValue::Known(30.0) },
                Bar { label: "Perte".into(), value: BarValue::Known(-10.0) },
            ],
        });
        let rects = rects(&svg);
        let x = |r: &str| attr(r, "x").parse::<f64>().unwrap();
        let width = |r: &str| attr(r, "width").parse::<f64>().unwrap();
        // The loss ends where the gain starts: at the zero line.
        assert!((x(rects[1]) + width(rects[1]) - x(rects[0])).abs() < 0.11);
        assert!((width(rects[0]) / width(rects[1]) - 3.0).abs() < 0.05);
        assert!(svg.contains(">−10,0</text>"));
    }

    #[test]
    fn long_labels_are_cut_with_their_full_text_in_a_tooltip() {
        let long = "Communauté d'agglomération de Lens-Liévin et environs proches";
        let svg = bar_chart(&BarChart {
            id: "x".into(),
            title: "T".into(),
            unit: String::new(),
            decimals: 0,
            bars: vec![Bar { label: long.into(), value: BarValue::Known(1.0) }],
        });
        assert!(svg.contains(&format!("<title>{}</title>Communauté", esc(long))), "{svg}");
        assert!(svg.contains("…</text>"));
    }

    #[test]
    fn huge_or_non_finite_values_never_write_a_non_finite_coordinate() {
        let svg = bar_chart(&BarChart {
            id: "v".into(),
            title: "Énormes".into(),
            unit: String::new(),
            decimals: 0,
            bars: vec![
                Bar { label: "a".into(), value: BarValue::Known(1e308) },
                Bar { label: "b".into(), value: BarValue::Known(-f64::MAX) },
                Bar { label: "c".into(), value: BarValue::Known(f64::INFINITY) },
                Bar { label: "d".into(), value: BarValue::Known(f64::NAN) },
            ],
        });
        assert!(!svg.contains("inf") && !svg.contains("NaN"), "{svg}");
        assert_eq!(num(f64::INFINITY), "0.0");
        assert_eq!(num(f64::NAN), "0.0");
        let m = map(vec![shape("62001", "A", 1e308, 50.0, Some(1e308)), shape("62002", "B", 2.0, 50.0, Some(1.0))]);
        let svg = choropleth(&m);
        assert!(!svg.contains("inf") && !svg.contains("NaN"), "{svg}");
    }

    #[test]
    fn an_empty_bar_chart_says_so() {
        let svg = bar_chart(&BarChart {
            id: "v".into(),
            title: "Vide".into(),
            unit: String::new(),
            decimals: 0,
            bars: vec![],
        });
        assert!(svg.contains(">aucune donnée</text>") && !svg.contains("<rect"), "{svg}");
    }

    #[test]
    fn a_time_series_is_spaced_by_time_and_says_where_its_axis_starts() {
        let points = [("1982", 266_000.0), ("1990", 270_000.0), ("1999", 272_000.0), ("2021", 277_812.0)]
            .iter()
            .map(|(p, v)| (period_position(p).unwrap(), (*p).to_owned(), Some(*v)))
            .collect();
        let svg = line_chart(&LineChart {
            id: "t".into(),
            title: "Population".into(),
            unit: "habitants".into(),
            decimals: 0,
            points,
        })
        .unwrap();
        assert!(svg.contains("<polyline"), "{svg}");
        assert!(svg.contains("axe vertical de ") && svg.contains("il ne part pas de zéro"), "{svg}");
        assert!(svg.contains("Courbe sur un axe du temps, 4 points"), "{svg}");
        assert_eq!(period_position("2019-2021"), Some(2019.0));
        assert_eq!(period_position("T2"), None);
        let one = LineChart {
            id: "u".into(),
            title: "x".into(),
            unit: String::new(),
            decimals: 0,
            points: vec![(2020.0, "2020".into(), Some(1.0))],
        };
        assert!(line_chart(&one).is_none());
    }
}
