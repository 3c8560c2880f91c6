//! JSON written straight into a buffer, for the items of a page.
//!
//! serde_json runs every string through its escaping loop: the property
//! names, ids and dates as well as the free text. In a page of 100 threads
//! that loop, with the formatting of the ids and dates, was a quarter of the
//! server's instructions. Here only free text is escaped (by serde_json);
//! names are fixed identifiers, and ids and dates are written from their bytes.

use uuid::Uuid;

use super::time::Timestamp;

/// A value that writes its own JSON.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

/// One JSON object being written; [`Object::end`] closes it.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    #[inline]
    pub fn begin(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// `name` is a property name of the API: letters only, so never escaped.
    #[inline]
    fn name(&mut self, name: &'static str) -> &mut Vec<u8> {
        debug_assert!(name.bytes().all(|b| b.is_ascii_alphabetic()), "{name}");
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    #[inline]
    pub fn id(&mut self, name: &'static str, id: Uuid) -> &mut Self {
        write_id(self.name(name), id);
        self
    }

    #[inline]
    pub fn text(&mut self, name: &'static str, text: &str) -> &mut Self {
        write_text(self.name(name), text);
        self
    }

    #[inline]
    pub fn time(&mut self, name: &'static str, at: Timestamp) -> &mut Self {
        let out = self.name(name);
        out.push(b'"');
        at.write_rfc3339(out);
        out.push(b'"');
        self
    }

    #[inline]
    pub fn bool(&mut self, name: &'static str, value: bool) -> &mut Self {
        let value: &[u8] = if value { b"true" } else { b"false" };
        self.name(name).extend_from_slice(value);
        self
    }

    #[inline]
    pub fn null(&mut self, name: &'static str) -> &mut Self {
        self.name(name).extend_from_slice(b"null");
        self
    }

    /// A property whose value writes itself.
    #[inline]
    pub fn item(&mut self, name: &'static str, value: &impl WriteJson) -> &mut Self {
        value.write_json(self.name(name));
        self
    }

    /// A property whose value `write` writes.
    #[inline]
    pub fn value(&mut self, name: &'static str, write: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        write(self.name(name));
        self
    }

    #[inline]
    pub fn end(&mut self) {
        self.out.push(b'}');
    }
}

/// An id as a JSON string.
#[inline]
pub fn write_id(out: &mut Vec<u8>, id: Uuid) {
    out.push(b'"');
    out.extend_from_slice(
        id.hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .as_bytes(),
    );
    out.push(b'"');
}

/// Free text as a JSON string, escaped by serde_json.
#[inline]
pub fn write_text(out: &mut Vec<u8>, text: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// An item of a `getAll` page: the page's cursor is its last item's id.
pub trait PageItem: WriteJson {
    fn id(&self) -> Uuid;
}

/// A `getAll` page, `{"<name>":[items],"Cursor":<the last item's id>}`,
/// written item by item: as a store reads its rows, with no item built first.
pub struct PageWriter {
    out: Vec<u8>,
    len: usize,
    last: Option<Uuid>,
}

/// A page's JSON, written; `len` items.
#[derive(Debug)]
pub struct WrittenPage {
    pub json: Vec<u8>,
    pub len: usize,
}

/// About what one item of a page takes in JSON (a thread is 200 to 300 bytes;
/// a longer message makes the buffer grow once or twice), so that a page's
/// buffer is sized once: a page of 100 threads (20 KiB) grew from 128 bytes
/// in eight reallocations, 3% of its CPU.
pub const ITEM_BYTES: usize = 320;

/// The most items a page's buffer is first sized for (see [`PageWriter::new`]).
const SIZED_ITEMS: usize = 100;

impl PageWriter {
    /// A page named `name` for up to `items` items. A store knows only the
    /// page's `Count` before it reads the rows, so the buffer is sized for at
    /// most `SIZED_ITEMS` (100) of them: a `Count` of 1000 that finds three rows
    /// does not reserve 320 KB, and a long page grows its buffer a few times.
    pub fn new(name: &'static str, items: usize) -> Self {
        let mut out = Vec::with_capacity(128 + items.min(SIZED_ITEMS) * ITEM_BYTES);
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":[");
        Self {
            out,
            len: 0,
            last: None,
        }
    }

    pub fn push(&mut self, item: &impl PageItem) {
        if self.len > 0 {
            self.out.push(b',');
        }
        item.write_json(&mut self.out);
        self.len += 1;
        self.last = Some(item.id());
    }

    /// Closes the page with its cursor.
    pub fn finish(mut self) -> WrittenPage {
        self.out.extend_from_slice(b"],\"Cursor\":");
        match self.last {
            Some(id) => write_id(&mut self.out, id),
            None => self.out.extend_from_slice(b"null"),
        }
        self.out.push(b'}');
        WrittenPage {
            json: self.out,
            len: self.len,
        }
    }
}

/// A JSON array of `items`.
pub fn write_array<T: WriteJson>(out: &mut Vec<u8>, items: &[T]) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item.write_json(out);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    struct Item(Uuid);

    impl WriteJson for Item {
        fn write_json(&self, out: &mut Vec<u8>) {
            Object::begin(out).id("Id", self.0).end();
        }
    }

    impl PageItem for Item {
        fn id(&self) -> Uuid {
            self.0
        }
    }

    #[test]
    fn a_page_names_its_last_item_as_its_cursor() {
        let empty = PageWriter::new("Items", 1000).finish();
        assert_eq!(empty.len, 0);
        assert_eq!(empty.json, br#"{"Items":[],"Cursor":null}"#);
        // More items than the buffer was first sized for.
        let ids: Vec<Uuid> = (0..150).map(Uuid::from_u128).collect();
        let mut page = PageWriter::new("Items", ids.len());
        ids.iter().for_each(|&id| page.push(&Item(id)));
        let page = page.finish();
        assert_eq!(page.len, ids.len());
        let read: serde_json::Value = serde_json::from_slice(&page.json).unwrap();
        let items: Vec<serde_json::Value> = ids.iter().map(|id| json!({"Id": id})).collect();
        assert_eq!(read, json!({"Items": items, "Cursor": ids[149]}));
    }

    proptest! {
        /// What the writer writes is the JSON serde_json writes for the same
        /// values, whatever the text holds (quotes, controls, any Unicode).
        #[test]
        fn an_object_reads_as_serde_json_writes_it(
            id in any::<u128>(),
            text in any::<String>(),
            seconds in -62_167_219_200_i64..300_000_000_000,
            flag in any::<bool>(),
        ) {
            let (id, at) = (Uuid::from_u128(id), Timestamp::from_unix(seconds));
            let mut out = Vec::new();
            Object::begin(&mut out)
                .id("Id", id)
                .text("Text", &text)
                .time("At", at)
                .bool("Flag", flag)
                .value("Items", |out| write_array::<Uuid>(out, &[]))
                .end();
            let read: serde_json::Value = serde_json::from_slice(&out).unwrap();
            prop_assert_eq!(
                read,
                json!({"Id": id, "Text": text, "At": at, "Flag": flag, "Items": []})
            );
        }
    }

    impl WriteJson for Uuid {
        fn write_json(&self, out: &mut Vec<u8>) {
            write_id(out, *self);
        }
    }

    #[test]
    fn arrays_separate_their_items() {
        let mut out = Vec::new();
        write_array(&mut out, &[Uuid::nil(), Uuid::max()]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[\"00000000-0000-0000-0000-000000000000\",\"ffffffff-ffff-ffff-ffff-ffffffffffff\"]"
        );
    }
}
