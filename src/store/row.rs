//! A row as both backends hand it over: each column read by its position as
//! one of switchboard's few column types. Every mapping from a row to a
//! record (a thread, a fault, a delivery, an export record) is written once,
//! over this trait, in the seam module it belongs to; each backend implements
//! the trait for its own row type (in its `query` module).

use uuid::Uuid;

use super::{StoreError, StoreResult};

pub trait Row {
    fn uuid(&self, column: usize) -> StoreResult<Uuid>;
    fn uuid_or_null(&self, column: usize) -> StoreResult<Option<Uuid>>;
    /// Text, read in place.
    fn text(&self, column: usize) -> StoreResult<&str>;
    fn text_or_null(&self, column: usize) -> StoreResult<Option<&str>>;
    /// An integer column, whatever its width.
    fn int(&self, column: usize) -> StoreResult<i64>;
    fn int_or_null(&self, column: usize) -> StoreResult<Option<i64>>;
    fn boolean(&self, column: usize) -> StoreResult<bool>;
    fn real(&self, column: usize) -> StoreResult<f64>;
    fn bytes(&self, column: usize) -> StoreResult<&[u8]>;
    fn bytes_or_null(&self, column: usize) -> StoreResult<Option<&[u8]>>;
    /// A list of ids, as the backend keeps one in a column (an access token's
    /// enterprises).
    fn uuid_list(&self, column: usize) -> StoreResult<Vec<Uuid>>;

    fn string(&self, column: usize) -> StoreResult<String> {
        self.text(column).map(str::to_owned)
    }

    fn string_or_null(&self, column: usize) -> StoreResult<Option<String>> {
        Ok(self.text_or_null(column)?.map(str::to_owned))
    }

    /// An integer column as a narrower type.
    fn number<T: TryFrom<i64>>(&self, column: usize) -> StoreResult<T> {
        let n = self.int(column)?;
        T::try_from(n).map_err(|_| out_of_range(column, n))
    }

    fn number_or_null<T: TryFrom<i64>>(&self, column: usize) -> StoreResult<Option<T>> {
        self.int_or_null(column)?
            .map(|n| T::try_from(n).map_err(|_| out_of_range(column, n)))
            .transpose()
    }
}

fn out_of_range(column: usize, n: i64) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("column {column} holds {n}, out of range"))
}

/// A stored word that names none of the values it may hold.
pub fn unknown(what: &str, stored: &str) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("a stored {what} is unknown: {stored}"))
}
