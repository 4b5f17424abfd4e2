//! Commune outlines from GeoJSON: a `FeatureCollection` of `Polygon` and `MultiPolygon` features, one
//! or several per commune, such as the `COMMUNE` layer of IGN's Admin Express exported to GeoJSON.
//!
//! - The INSEE code is the first property present among `INSEE_COM` (Admin Express), `insee_com`,
//!   `code_insee`, `codgeo`, `code`; the name among `NOM`, `NOM_COM`, `nom`, `libgeo` (property names
//!   compared without regard to case).
//! - Coordinates are WGS 84 longitude and latitude, or Lambert-93 (EPSG:2154, Admin Express's own):
//!   told by a `crs` member naming EPSG:2154, or, without one, by coordinates far outside degrees.
//!   Lambert-93 is converted to WGS 84 with the inverse of the Lambert conformal conic projection on
//!   the GRS 80 ellipsoid (IGN, notes NT/G 71 and ALG0004). Any other system is refused.
//! - Each ring is simplified (Douglas–Peucker, [`TOLERANCE`] degrees, about 30 m) and its coordinates
//!   rounded to 6 decimals, so that a whole département stays small; a ring keeps at least 4 points
//!   and stays closed.
//! - Features of the same commune are merged into one contour, in the order of the file.

use std::collections::HashMap;

use ctg_domain::InseeCode;
use serde_json::{Map, Value};

use crate::{ImportError, ImportErrors, Location};

/// The outline of a commune.
#[derive(Debug, Clone, PartialEq)]
pub struct Contour {
    pub code: InseeCode,
    pub name: Option<String>,
    /// Polygons → rings (the outer one first, then its holes) → (longitude, latitude), WGS 84.
    pub polygons: Vec<Vec<Vec<(f64, f64)>>>,
}

/// The tolerance of the simplification, in degrees (about 33 m of latitude, 22 m of longitude at 50°N).
pub const TOLERANCE: f64 = 0.0003;

const CODE_KEYS: [&str; 5] = ["INSEE_COM", "insee_com", "code_insee", "codgeo", "code"];
const NAME_KEYS: [&str; 4] = ["NOM", "NOM_COM", "nom", "libgeo"];

/// The coordinate systems read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crs {
    Wgs84,
    Lambert93,
}

pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Contour>, ImportErrors> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| ImportError::json(file, &e))?;
    let whole = |field: Option<&str>, m: String| ImportErrors::from(ImportError::new(file, Location::File, field, m));
    let not_collection = |what: String| whole(None, format!("une FeatureCollection GeoJSON est attendue ({what})"));
    let Some(root) = root.as_object() else {
        return Err(not_collection(format!("le fichier contient {}", json_kind(&root))));
    };
    match root.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {}
        Some(other) => return Err(not_collection(format!("le type est « {other} »"))),
        None => return Err(not_collection("le membre « type » manque".into())),
    }
    let Some(features) = root.get("features").and_then(Value::as_array) else {
        return Err(not_collection("le tableau « features » manque".into()));
    };
    let crs = match root.get("crs").filter(|c| !c.is_null()) {
        Some(crs) => Some(declared_crs(crs).map_err(|m| whole(Some("crs"), m))?),
        None => None,
    };
    // Without a `crs` member, coordinates far outside degrees are Lambert-93.
    let crs = crs.unwrap_or_else(|| match features.iter().find_map(first_position) {
        Some((x, y)) if x.abs() > 360.0 || y.abs() > 360.0 => Crs::Lambert93,
        _ => Crs::Wgs84,
    });
    let projection = Lambert93::new();

    let mut contours: Vec<Contour> = Vec::new();
    let mut index: HashMap<InseeCode, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (i, feature) in features.iter().enumerate() {
        let number = i + 1;
        let empty = Map::new();
        let properties = feature.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let code = match property(properties, &CODE_KEYS) {
            None => {
                let message =
                    format!("aucun code INSEE : une de ces propriétés est attendue : {}", CODE_KEYS.join(", "));
                errors.push(ImportError::new(
                    file,
                    Location::Record { number, code: None },
                    Some("properties"),
                    message,
                ));
                None
            }
            // A number has lost its leading zero (`1053` for `01053`), which is put back.
            Some((key, raw)) => match ctg_domain::parse::insee_code(format!("properties.{key}"), &raw) {
                Ok(code) => Some(code),
                Err(e) => {
                    let place = Location::Record { number, code: Some(raw) };
                    errors.push(ImportError::new(file, place, Some(e.field.as_ref()), e.message));
                    None
                }
            },
        };
        let place = Location::Record { number, code: code.as_ref().map(ToString::to_string) };
        let polygons = match geometry(feature.get("geometry"), crs, &projection) {
            Ok(p) => Some(p),
            Err((field, m)) => {
                errors.push(ImportError::new(file, place, Some(field), m));
                None
            }
        };
        let (Some(code), Some(polygons)) = (code, polygons) else { continue };
        let name = property(properties, &NAME_KEYS).map(|(_, n)| n);
        match index.get(&code) {
            Some(&at) => {
                let contour = &mut contours[at];
                contour.polygons.extend(polygons);
                if contour.name.is_none() {
                    contour.name = name;
                }
            }
            None => {
                index.insert(code.clone(), contours.len());
                contours.push(Contour { code, name, polygons });
            }
        }
    }
    if errors.is_empty() {
        Ok(contours)
    } else {
        Err(ImportErrors(errors))
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "un booléen",
        Value::Number(_) => "un nombre",
        Value::String(_) => "un texte",
        Value::Array(_) => "un tableau",
        Value::Object(_) => "un objet",
    }
}

/// The system named by a `crs` member: `{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}`
/// (as GDAL writes it), or the older `{"type": "EPSG", "properties": {"code": 2154}}`.
fn declared_crs(crs: &Value) -> Result<Crs, String> {
    let properties = crs.get("properties");
    let name = match (properties.and_then(|p| p.get("name")), properties.and_then(|p| p.get("code"))) {
        (Some(Value::String(name)), _) => name.clone(),
        (_, Some(code @ (Value::Number(_) | Value::String(_)))) => {
            format!("EPSG:{}", code.as_str().map_or_else(|| code.to_string(), str::to_owned))
        }
        _ => return Err(format!("membre « crs » illisible : {crs}")),
    };
    let upper = name.to_ascii_uppercase();
    let code = upper.rsplit(|c: char| !c.is_ascii_digit()).next().unwrap_or_default();
    if upper.ends_with("CRS84") || (upper.contains("EPSG") && matches!(code, "4326" | "4171")) {
        Ok(Crs::Wgs84)
    } else if upper.contains("EPSG") && code == "2154" {
        Ok(Crs::Lambert93)
    } else {
        Err(format!(
            "système de coordonnées « {name} » non pris en charge : WGS 84 (EPSG:4326) ou Lambert-93 (EPSG:2154) attendu ; reprojetez le fichier (par exemple : ogr2ogr -t_srs EPSG:4326)"
        ))
    }
}

/// The first position of a feature's geometry, to tell degrees from metres.
fn first_position(feature: &Value) -> Option<(f64, f64)> {
    let mut v = feature.get("geometry")?.get("coordinates")?;
    while let Some(first) = v.as_array().and_then(|a| a.first()) {
        if let (Some(x), Some(y)) = (first.as_f64(), v.get(1).and_then(Value::as_f64)) {
            return Some((x, y));
        }
        v = first;
    }
    None
}

/// The first of `keys` among the properties (compared without regard to case), with a text or a
/// whole number for value, and the key as the file writes it.
fn property(properties: &Map<String, Value>, keys: &[&str]) -> Option<(String, String)> {
    keys.iter().find_map(|wanted| {
        properties.iter().find_map(|(key, value)| {
            if !key.eq_ignore_ascii_case(wanted) {
                return None;
            }
            let text = match value {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) if n.is_u64() => n.to_string(),
                _ => return None,
            };
            (!text.is_empty()).then(|| (key.clone(), text))
        })
    })
}

type Polygons = Vec<Vec<Vec<(f64, f64)>>>;

/// The polygons of a geometry, in WGS 84 and simplified; or the field and message of its problem.
fn geometry(geometry: Option<&Value>, crs: Crs, projection: &Lambert93) -> Result<Polygons, (&'static str, String)> {
    let Some(geometry) = geometry.filter(|g| !g.is_null()) else {
        return Err(("geometry", "géométrie absente".into()));
    };
    let coordinates = geometry.get("coordinates").unwrap_or(&Value::Null);
    let polygons: Vec<&Value> = match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => vec![coordinates],
        Some("MultiPolygon") => match coordinates.as_array() {
            Some(polygons) => polygons.iter().collect(),
            None => return Err(("geometry.coordinates", "un tableau de polygones est attendu".into())),
        },
        Some(other) => {
            return Err((
                "geometry.type",
                format!("type de géométrie « {other} » non pris en charge : Polygon ou MultiPolygon attendu"),
            ))
        }
        None => return Err(("geometry.type", "type de géométrie absent".into())),
    };
    let mut out = Vec::with_capacity(polygons.len());
    for (p, polygon) in polygons.iter().enumerate() {
        let where_ = |r: usize| {
            if polygons.len() > 1 {
                format!("polygone n° {}, anneau n° {}", p + 1, r + 1)
            } else {
                format!("anneau n° {}", r + 1)
            }
        };
        let Some(rings) = polygon.as_array().filter(|r| !r.is_empty()) else {
            return Err(("geometry.coordinates", "un polygone est un tableau d'anneaux, non vide".into()));
        };
        let mut converted = Vec::with_capacity(rings.len());
        for (r, ring) in rings.iter().enumerate() {
            let points = read_ring(ring, crs, projection)
                .map_err(|m| ("geometry.coordinates", format!("{} : {m}", where_(r))))?;
            converted
                .push(simplify_ring(&points, TOLERANCE).into_iter().map(|(x, y)| (round6(x), round6(y))).collect());
        }
        out.push(converted);
    }
    Ok(out)
}

/// The positions of a ring in WGS 84, closed.
fn read_ring(ring: &Value, crs: Crs, projection: &Lambert93) -> Result<Vec<(f64, f64)>, String> {
    let Some(positions) = ring.as_array() else {
        return Err("un anneau est un tableau de positions".into());
    };
    let mut points = Vec::with_capacity(positions.len() + 1);
    for position in positions {
        let xy = position.as_array().filter(|a| a.len() >= 2).and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?)));
        let Some((x, y)) = xy else {
            return Err(format!("position illisible {position} : [longitude, latitude] attendu"));
        };
        let point = match crs {
            Crs::Wgs84 if (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y) => (x, y),
            Crs::Wgs84 => {
                return Err(format!(
                    "position [{x}, {y}] hors des degrés (longitude de -180 à 180, latitude de -90 à 90)"
                ))
            }
            Crs::Lambert93 if (-1.0e6..=3.0e6).contains(&x) && (5.0e6..=8.0e6).contains(&y) => {
                projection.to_wgs84(x, y)
            }
            Crs::Lambert93 => return Err(format!("position [{x}, {y}] hors du domaine du Lambert-93")),
        };
        points.push(point);
    }
    if points.first() != points.last() {
        points.push(points[0]);
    }
    if points.len() < 4 {
        return Err(format!(
            "un anneau a au moins 4 positions, la dernière égale à la première ({} ici)",
            positions.len()
        ));
    }
    Ok(points)
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The Lambert-93 projection (EPSG:2154): Lambert conformal conic with two standard parallels (44°N
/// and 49°N), origin 46.5°N 3°E, false easting 700 000 m and northing 6 600 000 m, on GRS 80.
#[derive(Debug, Clone, Copy)]
pub struct Lambert93 {
    e: f64,
    n: f64,
    /// a·F, the scale of the cone.
    af: f64,
    rho0: f64,
}

impl Default for Lambert93 {
    fn default() -> Self {
        Self::new()
    }
}

impl Lambert93 {
    const A: f64 = 6_378_137.0;
    const INV_F: f64 = 298.257_222_101;
    const LON0: f64 = 3.0;
    const LAT0: f64 = 46.5;
    const LAT1: f64 = 44.0;
    const LAT2: f64 = 49.0;
    const X0: f64 = 700_000.0;
    const Y0: f64 = 6_600_000.0;

    pub fn new() -> Self {
        let f = 1.0 / Self::INV_F;
        let e = (2.0 * f - f * f).sqrt();
        let m = |lat: f64| lat.cos() / (1.0 - (e * lat.sin()).powi(2)).sqrt();
        let (p0, p1, p2) = (Self::LAT0.to_radians(), Self::LAT1.to_radians(), Self::LAT2.to_radians());
        let t = |lat: f64| Self::t(e, lat);
        let n = (m(p1).ln() - m(p2).ln()) / (t(p1).ln() - t(p2).ln());
        let af = Self::A * m(p1) / (n * t(p1).powf(n));
        Self { e, n, af, rho0: af * t(p0).powf(n) }
    }

    /// exp(−isometric latitude): tan(π/4 − φ/2) / ((1 − e sin φ) / (1 + e sin φ))^(e/2).
    fn t(e: f64, lat: f64) -> f64 {
        let es = e * lat.sin();
        (std::f64::consts::FRAC_PI_4 - lat / 2.0).tan() / ((1.0 - es) / (1.0 + es)).powf(e / 2.0)
    }

    /// Lambert-93 metres → (longitude, latitude) in degrees. The latitude comes from the isometric
    /// latitude by fixed-point iteration (IGN ALG0004), to 1e-12 radian.
    pub fn to_wgs84(&self, x: f64, y: f64) -> (f64, f64) {
        let dx = x - Self::X0;
        let dy = self.rho0 - (y - Self::Y0);
        let rho = dx.hypot(dy);
        let theta = dx.atan2(dy);
        let t = (rho / self.af).powf(1.0 / self.n);
        let lon = Self::LON0 + (theta / self.n).to_degrees();
        let half_pi = std::f64::consts::FRAC_PI_2;
        let mut lat = half_pi - 2.0 * t.atan();
        for _ in 0..30 {
            let es = self.e * lat.sin();
            let next = half_pi - 2.0 * (t * ((1.0 - es) / (1.0 + es)).powf(self.e / 2.0)).atan();
            let done = (next - lat).abs() < 1e-12;
            lat = next;
            if done {
                break;
            }
        }
        (lon, lat.to_degrees())
    }
}

/// Simplifies a closed ring (Douglas–Peucker): the ring is cut at its first point and the point
/// farthest from it, and each half simplified. It keeps at least 4 points (a triangle, closed), even
/// when it is smaller than the tolerance, and its last point stays its first.
fn simplify_ring(ring: &[(f64, f64)], tolerance: f64) -> Vec<(f64, f64)> {
    let n = ring.len();
    if n <= 4 {
        return ring.to_vec();
    }
    let last = n - 1;
    let farthest = |range: std::ops::Range<usize>, d: &dyn Fn(usize) -> f64| {
        range.map(|i| (i, d(i))).max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or((0, 0.0))
    };
    let (far, _) = farthest(1..last, &|i| distance(ring[i], ring[0]));
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[far] = true;
    keep[last] = true;
    let mut stack = vec![(0, far), (far, last)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (i, d) = farthest(a + 1..b, &|i| segment_distance(ring[i], ring[a], ring[b]));
        if d > tolerance {
            keep[i] = true;
            stack.push((a, i));
            stack.push((i, b));
        }
    }
    if keep.iter().filter(|&&k| k).count() < 4 {
        let (third, _) =
            farthest(1..last, &|i| if i == far { -1.0 } else { segment_distance(ring[i], ring[0], ring[far]) });
        keep[third] = true;
    }
    ring.iter().zip(keep).filter(|(_, k)| *k).map(|(p, _)| *p).collect()
}

fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// The distance from `p` to the segment `a`–`b`.
fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = dx * dx + dy * dy;
    if length2 == 0.0 {
        return distance(p, a);
    }
    let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length2).clamp(0.0, 1.0);
    distance(p, (a.0 + t * dx, a.1 + t * dy))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square ring of side `side` degrees at (lon, lat), with `extra` points along each side.
    fn square(lon: f64, lat: f64, side: f64, extra: usize) -> Vec<(f64, f64)> {
        let corners = [(lon, lat), (lon + side, lat), (lon + side, lat + side), (lon, lat + side)];
        let mut ring = Vec::new();
        for k in 0..4 {
            let (a, b) = (corners[k], corners[(k + 1) % 4]);
            for s in 0..=extra {
                let t = s as f64 / (extra + 1) as f64;
                ring.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
            }
        }
        ring.push(ring[0]);
        ring
    }

    fn ring_json(ring: &[(f64, f64)]) -> String {
        let positions: Vec<String> = ring.iter().map(|(x, y)| format!("[{x},{y}]")).collect();
        format!("[{}]", positions.join(","))
    }

    fn feature(properties: &str, geometry: &str) -> String {
        format!(r#"{{"type":"Feature","properties":{properties},"geometry":{geometry}}}"#)
    }

    fn collection(features: &[String], extra: &str) -> Vec<u8> {
        format!(r#"{{"type":"FeatureCollection"{extra},"features":[{}]}}"#, features.join(",")).into_bytes()
    }

    #[test]
    fn lambert93_to_wgs84_at_known_points() {
        let l = Lambert93::new();
        // The origin of the projection.
        let (lon, lat) = l.to_wgs84(700_000.0, 6_600_000.0);
        assert!((lon - 3.0).abs() < 1e-9 && (lat - 46.5).abs() < 1e-9, "{lon} {lat}");
        // 20 avenue de Ségur, Paris: (2.308310, 48.850244) ↔ (649242.57, 6861355.85), as projected by
        // PROJ for etalab/project-legal's tests.
        let (lon, lat) = l.to_wgs84(649_242.57, 6_861_355.85);
        assert!((lon - 2.308_310).abs() < 1e-6 && (lat - 48.850_244).abs() < 1e-6, "{lon} {lat}");
    }

    #[test]
    fn admin_express_in_lambert93_with_its_crs() {
        // Béthune (62119) in two pieces, Lambert-93 around (3.0°E, 46.5°N), as ogr2ogr writes it.
        let a = "[[[700000,6600000],[701000,6600000],[701000,6601000],[700000,6601000],[700000,6600000]]]";
        let b = "[[[710000,6600000],[711000,6600000],[711000,6601000],[710000,6600000]]]";
        let bytes = collection(
            &[
                feature(
                    r#"{"ID":"COMMUNE_1","NOM":"Béthune","INSEE_COM":"62119"}"#,
                    &format!(r#"{{"type":"Polygon","coordinates":{a}}}"#),
                ),
                feature(r#"{"INSEE_COM":"62119"}"#, &format!(r#"{{"type":"MultiPolygon","coordinates":[{b}]}}"#)),
                feature(
                    r#"{"insee_com":"62178","nom_com":"Bruay-la-Buissière"}"#,
                    &format!(r#"{{"type":"Polygon","coordinates":{b}}}"#),
                ),
            ],
            r#","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::2154"}}"#,
        );
        let c = parse("communes.geojson", &bytes).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].code.as_str(), c[0].name.as_deref()), ("62119", Some("Béthune")));
        assert_eq!(c[0].polygons.len(), 2, "the two features of 62119 are merged");
        assert_eq!(c[0].polygons[0][0][0], (3.0, 46.5));
        assert_eq!(c[0].polygons[0][0].len(), 5);
        assert_eq!(c[1].name.as_deref(), Some("Bruay-la-Buissière"));
        // Without the crs member, metres are recognised all the same.
        let bare = String::from_utf8(bytes)
            .unwrap()
            .replace(r#","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::2154"}}"#, "");
        assert_eq!(parse("communes.geojson", bare.as_bytes()).unwrap(), c);
    }

    #[test]
    fn rings_are_simplified_closed_and_keep_four_points() {
        // A 0.1° square with 200 points on each side: its corners only remain.
        let big = square(2.5, 50.5, 0.1, 200);
        // A 0.0001° square, smaller than the tolerance, with 20 points on each side: a closed triangle.
        let tiny = square(2.7, 50.6, 0.0001, 20);
        let geometry =
            format!(r#"{{"type":"MultiPolygon","coordinates":[[{}],[{}]]}}"#, ring_json(&big), ring_json(&tiny));
        let c = parse("c.json", &collection(&[feature(r#"{"codgeo":"62119"}"#, &geometry)], "")).unwrap();
        let big = &c[0].polygons[0][0];
        assert_eq!(big.len(), 5, "{big:?}");
        assert_eq!(big.first(), big.last());
        for corner in [(2.5, 50.5), (2.6, 50.5), (2.6, 50.6), (2.5, 50.6)] {
            assert!(
                big.iter().any(|&(x, y)| (x - corner.0).abs() < 1e-9 && (y - corner.1).abs() < 1e-9),
                "{corner:?} in {big:?}"
            );
        }
        let tiny = &c[0].polygons[1][0];
        assert_eq!(tiny.len(), 4, "{tiny:?}");
        assert_eq!(tiny.first(), tiny.last());
        // A point 0.001° off a straight side is kept: it is beyond the tolerance.
        let mut bump = square(2.5, 50.5, 0.1, 0);
        bump.insert(1, (2.55, 50.499));
        let kept = simplify_ring(&bump, TOLERANCE);
        assert!(kept.contains(&(2.55, 50.499)), "{kept:?}");
    }

    #[test]
    fn every_problem_is_named() {
        let sq = format!(r#"{{"type":"Polygon","coordinates":[{}]}}"#, ring_json(&square(2.5, 50.5, 0.1, 0)));
        let bytes = collection(
            &[
                feature(r#"{"NOM":"Sans code"}"#, &sq),
                feature(r#"{"code":"621"}"#, &sq),
                feature(r#"{"code_insee":"62119"}"#, r#"{"type":"Point","coordinates":[2.6,50.5]}"#),
                feature(
                    r#"{"code_insee":"62120"}"#,
                    r#"{"type":"Polygon","coordinates":[[[2.6,50.5],[2.7,50.5],[2.6,50.5]]]}"#,
                ),
                feature(
                    r#"{"code_insee":"62121"}"#,
                    r#"{"type":"Polygon","coordinates":[[[2.6,95],[2.7,50.5],[2.6,50.6],[2.6,95]]]}"#,
                ),
                feature(r#"{"code_insee":1053}"#, &sq),
            ],
            "",
        );
        let e: Vec<String> = parse("c.json", &bytes).unwrap_err().0.iter().map(ToString::to_string).collect();
        assert_eq!(
            e,
            [
                "c.json, enregistrement n° 1, champ « properties » : aucun code INSEE : une de ces propriétés est attendue : INSEE_COM, insee_com, code_insee, codgeo, code",
                "c.json, enregistrement n° 2 (code 621), champ « properties.code » : code INSEE « 621 » invalide : 5 caractères attendus",
                "c.json, enregistrement n° 3 (code 62119), champ « geometry.type » : type de géométrie « Point » non pris en charge : Polygon ou MultiPolygon attendu",
                "c.json, enregistrement n° 4 (code 62120), champ « geometry.coordinates » : anneau n° 1 : un anneau a au moins 4 positions, la dernière égale à la première (3 ici)",
                "c.json, enregistrement n° 5 (code 62121), champ « geometry.coordinates » : anneau n° 1 : position [2.6, 95] hors des degrés (longitude de -180 à 180, latitude de -90 à 90)",
            ]
        );
        // A code written as a number has lost its leading zero: 1053 is 01053.
        let c = parse("c.json", &collection(&[feature(r#"{"code_insee":1053}"#, &sq)], "")).unwrap();
        assert_eq!(c[0].code.as_str(), "01053");
        // Written as a text, the same code is read the same way.
        let c = parse("c.json", &collection(&[feature(r#"{"code_insee":"1053"}"#, &sq)], "")).unwrap();
        assert_eq!(c[0].code.as_str(), "01053");
    }

    #[test]
    fn files_that_are_not_collections_of_outlines() {
        let e = parse("c.json", b"{\"type\": \"FeatureCollection\",\n  \"features\": [").unwrap_err().to_string();
        assert!(e.contains("c.json, ligne 2, colonne 15 : JSON tronqué"), "{e}");
        let e = parse("c.json", br#"{"type":"Feature","geometry":null}"#).unwrap_err().to_string();
        assert!(e.contains("c.json : une FeatureCollection GeoJSON est attendue (le type est « Feature »)"), "{e}");
        let e = parse("c.json", b"[]").unwrap_err().to_string();
        assert!(e.contains("une FeatureCollection GeoJSON est attendue (le fichier contient un tableau)"), "{e}");
        let utm = r#","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::5490"}}"#;
        let e = parse("c.json", &collection(&[], utm)).unwrap_err().to_string();
        assert!(
            e.contains(
                "c.json, champ « crs » : système de coordonnées « urn:ogc:def:crs:EPSG::5490 » non pris en charge"
            ),
            "{e}"
        );
        let wgs84 = r#","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}}"#;
        assert_eq!(parse("c.json", &collection(&[], wgs84)).unwrap(), []);
    }
}
