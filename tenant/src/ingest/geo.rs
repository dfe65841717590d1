//! Country (and region and city, when the database has them) from a MaxMind-format `.mmdb`.
//!
//! Works with MaxMind's GeoLite2/GeoIP2 Country and City (`country.iso_code`,
//! `subdivisions[].iso_code`, `city.names.en`) and with the ip-location-db databases
//! (`country_code`), such as the CC0 `@ip-location-db/geo-whois-asn-country-mmdb` that
//! Beacon's scripts install from npm. Without a database, events simply have no location.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// Where an IP address is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// ISO 3166-2 (e.g. `DE-BE`).
    pub region: Option<String>,
    /// City name (English).
    pub city: Option<String>,
}

#[derive(Deserialize, Default)]
struct IsoCode {
    iso_code: Option<String>,
}

#[derive(Deserialize, Default)]
struct Names {
    names: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
struct Record {
    country: Option<IsoCode>,
    country_code: Option<String>,
    subdivisions: Option<Vec<IsoCode>>,
    city: Option<Names>,
}

/// A loaded database (or none).
pub struct Geo {
    reader: Option<maxminddb::Reader<Vec<u8>>>,
}

impl Geo {
    /// No database: no locations.
    pub fn none() -> Self {
        Self { reader: None }
    }

    /// Loads the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let reader = maxminddb::Reader::open_readfile(path)
            .with_context(|| format!("reading the geolocation database {}", path.display()))?;
        Ok(Self {
            reader: Some(reader),
        })
    }

    /// Whether a database is loaded.
    pub fn is_loaded(&self) -> bool {
        self.reader.is_some()
    }

    /// The location of `ip`; empty when unknown (private ranges, no database, bad records).
    pub fn locate(&self, ip: IpAddr) -> Location {
        let Some(reader) = &self.reader else {
            return Location::default();
        };
        let record: Record = reader
            .lookup(ip)
            .ok()
            .and_then(|result| result.decode::<Record>().ok().flatten())
            .unwrap_or_default();
        let country = record
            .country
            .and_then(|c| c.iso_code)
            .or(record.country_code)
            .map(|code| code.to_uppercase())
            .filter(|code| code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()));
        let region = match (
            &country,
            record.subdivisions.and_then(|s| s.into_iter().next()),
        ) {
            (
                Some(country),
                Some(IsoCode {
                    iso_code: Some(code),
                }),
            ) => Some(format!("{country}-{code}")),
            _ => None,
        };
        let city = record
            .city
            .and_then(|city| city.names)
            .and_then(|mut names| names.remove("en"));
        Location {
            country,
            region,
            city,
        }
    }
}
