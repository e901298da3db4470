//! Keyset paging: a listing, newest first, continues after the (time, id)
//! of the last row it showed, which travels as an opaque cursor.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Longest cursor accepted: 24 bytes are 32 characters (the documented 64
/// leaves room).
pub const MAX_CURSOR_LEN: usize = 64;
/// 9999-12-31T23:59:59Z, the latest time every database here stores.
const LATEST_CURSOR_SECS: i64 = 253_402_300_799;

/// Where a page starts: after the row created at `created_at` with `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: OffsetDateTime,
    pub id: Uuid,
}

impl Cursor {
    /// Before every row: where the first page starts.
    pub fn first() -> Self {
        Self {
            created_at: OffsetDateTime::now_utc() + time::Duration::days(1),
            id: Uuid::max(),
        }
    }

    /// The base64 of the creation time (Unix seconds, big-endian) and id.
    /// It is not signed: it only positions a listing that is scoped to the
    /// caller's own rows, so a crafted one shows nothing more.
    pub fn encode(self) -> String {
        let mut bytes = self.created_at.unix_timestamp().to_be_bytes().to_vec();
        bytes.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A cursor `encode` gave; anything else is a 400, checked for all a
    /// crafted one could get wrong.
    pub fn decode(cursor: &str) -> ApiResult<Self> {
        let invalid = || ApiError::BadRequest("cursor is not one this service issued".into());
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let (secs, id) = bytes.split_at_checked(8).ok_or_else(invalid)?;
        let secs = i64::from_be_bytes(secs.try_into().map_err(|_| invalid())?);
        // Issued cursors hold times from the Unix epoch to year 9999; others (a
        // year before 0 cannot even be stored by SQLite) were never issued.
        if !(0..=LATEST_CURSOR_SECS).contains(&secs) {
            return Err(invalid());
        }
        let created_at = OffsetDateTime::from_unix_timestamp(secs).map_err(|_| invalid())?;
        let id = Uuid::from_slice(id).map_err(|_| invalid())?;
        Ok(Self { created_at, id })
    }
}

/// A page size from the query: 1 to `max`, `default` when absent.
pub fn limit(asked: Option<u32>, default: u32, max: u32) -> ApiResult<i64> {
    match asked.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(i64::from(n)),
        _ => Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {max}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let (time, id) = (crate::db::now(), Uuid::new_v4());
        assert_eq!(
            Cursor::decode(
                &Cursor {
                    created_at: time,
                    id
                }
                .encode()
            )
            .unwrap(),
            Cursor {
                created_at: time,
                id
            }
        );
        assert!(Cursor::decode("not-a-cursor").is_err());
        assert!(Cursor::decode("").is_err());
    }

    /// A cursor of `secs` and a random id, as a client could craft it.
    fn crafted(secs: i64) -> String {
        let mut bytes = secs.to_be_bytes().to_vec();
        bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    // IN-04: crafted cursors are refused: before the epoch (year -1 could
    // not be stored by SQLite: a 500), after year 9999, one id byte short or
    // long, or longer than documented.
    #[test]
    fn in_04_crafted_cursors_refused() {
        for secs in [-1, -62_198_755_200, i64::MIN, 253_402_300_800, i64::MAX] {
            assert!(Cursor::decode(&crafted(secs)).is_err(), "{secs}");
        }
        assert!(Cursor::decode(&crafted(0)).is_ok());
        assert!(Cursor::decode(&crafted(LATEST_CURSOR_SECS)).is_ok());
        let mut bytes = 0_i64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[7; 15]);
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(&bytes)).is_err());
        bytes.extend_from_slice(&[7; 2]);
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(&bytes)).is_err());
        assert!(Cursor::decode(&format!("{}A", crafted(0))).is_err());
        assert!(Cursor::decode(&"A".repeat(MAX_CURSOR_LEN + 4)).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        // IN-04: any text is refused or decodes to a time the databases
        // store (epoch to year 9999) and re-encodes to itself.
        #[test]
        fn in_04_any_cursor_is_refused_or_issuable(cursor in any::<String>()) {
            check(&cursor)?;
        }

        // The same for any 0 to 40 bytes in base64, most of which decode.
        #[test]
        fn in_04_any_decoded_bytes_are_refused_or_issuable(
            bytes in proptest::collection::vec(any::<u8>(), 0..40)
        ) {
            check(&URL_SAFE_NO_PAD.encode(bytes))?;
        }

        // And for every 24-byte cursor: every time and every id.
        #[test]
        fn in_04_any_time_is_refused_or_storable(secs in any::<i64>(), id in any::<u128>()) {
            let mut bytes = secs.to_be_bytes().to_vec();
            bytes.extend_from_slice(&id.to_be_bytes());
            check(&URL_SAFE_NO_PAD.encode(bytes))?;
        }
    }

    fn check(cursor: &str) -> Result<(), TestCaseError> {
        if let Ok(decoded) = Cursor::decode(cursor) {
            let year = decoded.created_at.year();
            prop_assert!((0..=9999).contains(&year), "{year}");
            prop_assert_eq!(decoded.encode(), cursor);
        }
        Ok(())
    }
}
