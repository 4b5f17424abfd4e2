//! French formatting of numbers and dates, shared by pages and reports.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc, Weekday};

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// The French name of a month, `1` to `12` (`3` → `mars`).
pub fn month_name(month: u32) -> &'static str {
    MONTHS.get(month.wrapping_sub(1) as usize).copied().unwrap_or("")
}

/// Cents as euros, the French way: `11002139` → `110 021,39 €`.
pub fn euros(cents: i64) -> String {
    let units = integer(cents / 100);
    let units = if cents < 0 && cents > -100 { format!("−{units}") } else { units };
    format!("{units},{:02} €", (cents % 100).abs())
}

/// `278431` → `278 431` (narrow no-break space as thousands separator, as French typography wants).
pub fn integer(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3 + 1);
    if n < 0 {
        out.push('−');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    out
}

/// Like [`integer`] with an explicit sign: `+461`, `−711`, `0`.
pub fn signed_integer(n: i64) -> String {
    if n > 0 {
        format!("+{}", integer(n))
    } else {
        integer(n)
    }
}

/// `-0.25` → `−0,25 %`, with a sign.
pub fn signed_percent(p: f64) -> String {
    let s = format!("{:.2}", p.abs()).replace('.', ",");
    let sign = if p > 0.0 {
        "+"
    } else if p < 0.0 {
        "−"
    } else {
        ""
    };
    format!("{sign}{s}\u{a0}%")
}

/// `2026-01-01` → `1er janvier 2026`.
pub fn date_long(d: NaiveDate) -> String {
    let day = if d.day() == 1 { "1er".to_owned() } else { d.day().to_string() };
    format!("{day} {} {}", MONTHS[d.month0() as usize], d.year())
}

/// The legal time in metropolitan France: UTC+1, and UTC+2 from the last Sunday of March at 01:00 UTC
/// to the last Sunday of October at 01:00 UTC (EU summer time).
pub fn paris_time(t: DateTime<Utc>) -> NaiveDateTime {
    let year = t.year();
    let last_sunday = |month: u32| {
        let mut d = NaiveDate::from_ymd_opt(year, month, 31).unwrap_or_default();
        while d.weekday() != Weekday::Sun {
            d = d.pred_opt().unwrap_or(d);
        }
        d.and_hms_opt(1, 0, 0).unwrap_or_default().and_utc()
    };
    let summer = t >= last_sunday(3) && t < last_sunday(10);
    t.naive_utc() + Duration::hours(if summer { 2 } else { 1 })
}

/// `27/11/2026 à 23 h 40`, in Paris time.
pub fn datetime_short(t: DateTime<Utc>) -> String {
    let p = paris_time(t);
    format!("{} à {}", p.format("%d/%m/%Y"), p.format("%H h %M"))
}

/// `2026-01-01` → `01/01/2026`.
pub fn date_short(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// Sorts French names the way a reader expects: accents and case aside, « Œ » as « oe ».
pub fn collation_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for ch in name.chars().flat_map(char::to_lowercase) {
        match ch {
            'à' | 'â' | 'ä' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'î' | 'ï' => out.push('i'),
            'ô' | 'ö' => out.push('o'),
            'ù' | 'û' | 'ü' => out.push('u'),
            'ç' => out.push('c'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            '-' | '\'' | '’' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// serde's messages in French, for the shapes they take: « unknown field `x`, expected one of `a`, `b` »,
/// « missing field `x` », « invalid type: string \"x\", expected i64 », « invalid value: … », …
pub fn french_serde_message(m: &str) -> String {
    let quote = |s: &str| {
        let mut out = String::new();
        let mut open = true;
        for ch in s.chars() {
            if ch == '`' {
                out.push_str(if open { "« " } else { " »" });
                open = !open;
            } else {
                out.push(ch);
            }
        }
        out
    };
    if let Some(rest) = m.strip_prefix("unknown field ") {
        return match rest.split_once(", expected one of ") {
            Some((field, expected)) => format!("champ inconnu {} (champs admis : {})", quote(field), quote(expected)),
            None => format!("champ inconnu {}", quote(rest.split(", expected").next().unwrap_or(rest))),
        };
    }
    if let Some(field) = m.strip_prefix("missing field ") {
        return format!("champ obligatoire manquant : {}", quote(field));
    }
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!("type invalide : {found} au lieu de {expected}");
        }
    }
    if let Some(rest) = m.strip_prefix("invalid value: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!("valeur invalide : {found} au lieu de {expected}");
        }
    }
    if let Some(rest) = m.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected one of ") {
            Some((v, expected)) => format!("valeur inconnue {} (valeurs admises : {})", quote(v), quote(expected)),
            None => format!("valeur inconnue {}", quote(rest)),
        };
    }
    match m {
        "EOF while parsing a value"
        | "EOF while parsing a list"
        | "EOF while parsing an object"
        | "EOF while parsing a string" => "le fichier s'arrête au milieu d'une valeur".into(),
        "expected value" => "une valeur est attendue".into(),
        "trailing characters" => "caractères en trop après la fin du JSON".into(),
        "key must be a string" => "une clé d'objet doit être une chaîne".into(),
        "expected `,` or `]`" => "« , » ou « ] » attendu".into(),
        "expected `,` or `}`" => "« , » ou « } » attendu".into(),
        "expected `:`" => "« : » attendu".into(),
        // chrono's words for a date that cannot be read (`2026-02-30`, `2026-02`, `2026-02-3x`).
        "input is out of range" => "date inexistante (jour ou mois hors du calendrier)".into(),
        "premature end of input" => "date incomplète : AAAA-MM-JJ attendu".into(),
        "input contains invalid characters" | "input is not enough for unique date and time" => {
            "date illisible : AAAA-MM-JJ attendu".into()
        }
        "trailing input" => "caractères en trop après la date : AAAA-MM-JJ attendu".into(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrono_date_errors_in_french() {
        assert_eq!(french_serde_message("input is out of range"), "date inexistante (jour ou mois hors du calendrier)");
        assert!(french_serde_message("premature end of input").starts_with("date incomplète"));
    }

    #[test]
    fn french_numbers_and_dates() {
        assert_eq!(integer(278_431), "278\u{202f}431");
        assert_eq!(integer(-711), "−711");
        assert_eq!(integer(1_000_000), "1\u{202f}000\u{202f}000");
        assert_eq!(integer(999), "999");
        assert_eq!(signed_integer(461), "+461");
        assert_eq!(signed_percent(-0.25), "−0,25\u{a0}%");
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(date_long(d), "1er janvier 2026");
        assert_eq!(date_long(NaiveDate::from_ymd_opt(2030, 12, 31).unwrap()), "31 décembre 2030");
        assert_eq!(date_short(d), "01/01/2026");
    }

    #[test]
    fn paris_time_follows_summer_time() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(datetime_short(t("2026-11-27T22:40:00Z")), "27/11/2026 à 23 h 40");
        assert_eq!(datetime_short(t("2026-07-14T10:00:00Z")), "14/07/2026 à 12 h 00");
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(datetime_short(t("2026-03-29T00:59:00Z")), "29/03/2026 à 01 h 59");
        assert_eq!(datetime_short(t("2026-03-29T01:00:00Z")), "29/03/2026 à 03 h 00");
        assert_eq!(datetime_short(t("2026-10-25T00:59:00Z")), "25/10/2026 à 02 h 59");
        assert_eq!(datetime_short(t("2026-10-25T01:00:00Z")), "25/10/2026 à 02 h 00");
    }

    #[test]
    fn french_names_sort_as_readers_expect() {
        let mut names = vec!["Ourton", "Œuf-en-Ternois", "Écquedecques", "Estrée-Blanche", "Burbure"];
        names.sort_by_cached_key(|n| collation_key(n));
        assert_eq!(names, vec!["Burbure", "Écquedecques", "Estrée-Blanche", "Œuf-en-Ternois", "Ourton"]);
    }
}
