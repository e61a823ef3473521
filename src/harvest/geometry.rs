//! Geometries from positions: a point, a bounding box or a track, rounded to a precision and
//! always valid (a box with no area is a line or a point, a track of one position a point), encoded
//! as WKB (GeoParquet), EWKB with SRID 4326 (PostGIS) or WKT (SQLite).

/// A geometry in longitude/latitude degrees (WGS 84).
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    Point(f64, f64),
    LineString(Vec<(f64, f64)>),
    /// One closed exterior ring.
    Polygon(Vec<(f64, f64)>),
}

/// The SRID every geometry is stored with.
pub const SRID: u32 = 4326;

/// Rounds a coordinate to `precision` decimal places.
pub fn round(value: f64, precision: u32) -> f64 {
    let scale = 10f64.powi(precision as i32);
    (value * scale).round() / scale
}

/// Whether a position is usable: finite and on the globe.
pub fn valid_position(lon: f64, lat: f64) -> bool {
    lon.is_finite()
        && lat.is_finite()
        && (-180.0..=360.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
}

impl Geometry {
    /// The box around positions, as the simplest valid geometry: a polygon, or a line when the
    /// box is flat in one direction, or a point when it is one position.
    pub fn bbox(lon_min: f64, lat_min: f64, lon_max: f64, lat_max: f64) -> Geometry {
        match (lon_min == lon_max, lat_min == lat_max) {
            (true, true) => Geometry::Point(lon_min, lat_min),
            (true, false) | (false, true) => {
                Geometry::LineString(vec![(lon_min, lat_min), (lon_max, lat_max)])
            }
            (false, false) => Geometry::Polygon(vec![
                (lon_min, lat_min),
                (lon_max, lat_min),
                (lon_max, lat_max),
                (lon_min, lat_max),
                (lon_min, lat_min),
            ]),
        }
    }

    /// A line through positions (consecutive repeats already removed); one position is a point.
    pub fn track(points: Vec<(f64, f64)>) -> Option<Geometry> {
        match points.len() {
            0 => None,
            1 => Some(Geometry::Point(points[0].0, points[0].1)),
            _ => Some(Geometry::LineString(points)),
        }
    }

    fn wkb_type(&self) -> u32 {
        match self {
            Geometry::Point(..) => 1,
            Geometry::LineString(_) => 2,
            Geometry::Polygon(_) => 3,
        }
    }

    /// ISO WKB, little-endian (GeoParquet's encoding).
    pub fn wkb(&self) -> Vec<u8> {
        self.encode(false)
    }

    /// PostGIS EWKB with SRID 4326, what `geometry_recv` reads in a binary COPY.
    pub fn ewkb(&self) -> Vec<u8> {
        self.encode(true)
    }

    fn encode(&self, srid: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        out.push(1u8); // little-endian
        let mut ty = self.wkb_type();
        if srid {
            ty |= 0x2000_0000;
        }
        out.extend_from_slice(&ty.to_le_bytes());
        if srid {
            out.extend_from_slice(&SRID.to_le_bytes());
        }
        let put = |out: &mut Vec<u8>, (x, y): (f64, f64)| {
            out.extend_from_slice(&x.to_le_bytes());
            out.extend_from_slice(&y.to_le_bytes());
        };
        match self {
            Geometry::Point(x, y) => put(&mut out, (*x, *y)),
            Geometry::LineString(points) => {
                out.extend_from_slice(&(points.len() as u32).to_le_bytes());
                points.iter().for_each(|p| put(&mut out, *p));
            }
            Geometry::Polygon(ring) => {
                out.extend_from_slice(&1u32.to_le_bytes());
                out.extend_from_slice(&(ring.len() as u32).to_le_bytes());
                ring.iter().for_each(|p| put(&mut out, *p));
            }
        }
        out
    }

    /// WKT (SQLite's text form; SpatiaLite's `GeomFromText` and PostGIS read it).
    pub fn wkt(&self) -> String {
        let list = |points: &[(f64, f64)]| {
            points
                .iter()
                .map(|(x, y)| format!("{x} {y}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Geometry::Point(x, y) => format!("POINT({x} {y})"),
            Geometry::LineString(points) => format!("LINESTRING({})", list(points)),
            Geometry::Polygon(ring) => format!("POLYGON(({}))", list(ring)),
        }
    }

    /// The geometry's type name in GeoParquet metadata.
    pub fn geoparquet_type(&self) -> &'static str {
        match self {
            Geometry::Point(..) => "Point",
            Geometry::LineString(_) => "LineString",
            Geometry::Polygon(_) => "Polygon",
        }
    }

    /// (xmin, ymin, xmax, ymax).
    pub fn bounds(&self) -> [f64; 4] {
        let points: &[(f64, f64)] = match self {
            Geometry::Point(x, y) => return [*x, *y, *x, *y],
            Geometry::LineString(p) | Geometry::Polygon(p) => p,
        };
        points.iter().fold(
            [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
            |b, (x, y)| [b[0].min(*x), b[1].min(*y), b[2].max(*x), b[3].max(*y)],
        )
    }
}

/// Collects a track from positions as they stream past: rounded, consecutive repeats dropped,
/// and every `stride`-th position kept so a track holds at most about `max_points` points however
/// long the file (the last position is always kept).
#[derive(Debug)]
pub struct TrackBuilder {
    precision: u32,
    stride: usize,
    seen: usize,
    points: Vec<(f64, f64)>,
    last: Option<(f64, f64)>,
}

impl TrackBuilder {
    /// `total`: how many positions will stream past.
    pub fn new(precision: u32, max_points: usize, total: usize) -> TrackBuilder {
        TrackBuilder {
            precision,
            stride: total.div_ceil(max_points.max(2) - 1).max(1),
            seen: 0,
            points: Vec::new(),
            last: None,
        }
    }

    pub fn push(&mut self, lon: f64, lat: f64) {
        if !valid_position(lon, lat) {
            return;
        }
        let p = (round(lon, self.precision), round(lat, self.precision));
        if self.seen.is_multiple_of(self.stride) && self.points.last() != Some(&p) {
            self.points.push(p);
        }
        self.seen += 1;
        self.last = Some(p);
    }

    pub fn finish(mut self) -> Option<Geometry> {
        if let Some(last) = self.last
            && self.points.last() != Some(&last)
        {
            self.points.push(last);
        }
        Geometry::track(self.points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewkb_of_a_point_carries_srid_4326() {
        let g = Geometry::Point(150.1885, -36.1897);
        let b = g.ewkb();
        assert_eq!(&b[..9], &[1, 1, 0, 0, 0x20, 0xE6, 0x10, 0, 0]);
        assert_eq!(b.len(), 25);
        assert_eq!(g.wkb().len(), 21);
        assert_eq!(g.wkt(), "POINT(150.1885 -36.1897)");
    }

    #[test]
    fn flat_boxes_are_lines_or_points() {
        assert_eq!(
            Geometry::bbox(1.0, 2.0, 1.0, 2.0),
            Geometry::Point(1.0, 2.0)
        );
        assert!(matches!(
            Geometry::bbox(1.0, 2.0, 1.0, 3.0),
            Geometry::LineString(_)
        ));
        let p = Geometry::bbox(1.0, 2.0, 3.0, 4.0);
        assert_eq!(p.wkt(), "POLYGON((1 2,3 2,3 4,1 4,1 2))");
        assert_eq!(p.bounds(), [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn a_long_track_is_thinned_and_keeps_its_ends() {
        let mut t = TrackBuilder::new(3, 100, 100_000);
        for i in 0..100_000 {
            t.push(i as f64 * 0.001, -30.0);
        }
        let Some(Geometry::LineString(points)) = t.finish() else {
            panic!("a line")
        };
        assert!(points.len() <= 101, "{}", points.len());
        assert_eq!(points[0], (0.0, -30.0));
        assert_eq!(*points.last().unwrap(), (99.999, -30.0));
        let mut still = TrackBuilder::new(2, 10, 5);
        for _ in 0..5 {
            still.push(115.0001, -32.0);
        }
        still.push(f64::NAN, 0.0);
        assert_eq!(still.finish(), Some(Geometry::Point(115.0, -32.0)));
    }
}
