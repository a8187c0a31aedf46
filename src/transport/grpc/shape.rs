//! What a reply's message type says about its JSON, for matching it: which strings are 64-bit
//! integers (the proto3 JSON mapping writes `int64`, `uint64`, `sint64`, `fixed64` and `sfixed64`
//! as strings, `"-42"`, so that JavaScript keeps them whole), and which `.proto` field name a key
//! of a pattern may stand for (`original_request` for the `originalRequest` the JSON has).
//!
//! A [`Shape`] is a place in a reply's JSON, known from the reply's type. It is found as a
//! pattern walks into the JSON, from the descriptor, so it costs nothing while replies are
//! read, and a recursive message type is no trouble.

use prost_reflect::{Kind, MessageDescriptor};

/// A place in a reply's JSON, and the type of what is written there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A message: an object of its fields, or the JSON form of a well-known type.
    Message(MessageDescriptor),
    /// One value of a field that is not a message.
    Scalar(Kind),
    /// A repeated field: an array of values of this kind.
    List(Kind),
    /// A map field: an object whose values are of this kind.
    Map(Kind),
}

impl Shape {
    /// The place of one value of `kind`.
    fn of_kind(kind: Kind) -> Shape {
        match kind {
            Kind::Message(message) => Shape::Message(message),
            other => Shape::Scalar(other),
        }
    }

    /// The place under `key` in this object: a field by its JSON name, or by its `.proto` name
    /// (see [`Shape::json_key`]), or a map's value.
    pub fn member(&self, key: &str) -> Option<Shape> {
        match self {
            Shape::Message(message) if !is_well_known(message) => {
                let field = message
                    .get_field_by_json_name(key)
                    .or_else(|| message.get_field_by_name(key))?;
                Some(if field.is_list() {
                    Shape::List(field.kind())
                } else if field.is_map() {
                    match field.kind() {
                        Kind::Message(entry) => Shape::Map(entry.map_entry_value_field().kind()),
                        other => Shape::Map(other),
                    }
                } else {
                    Shape::of_kind(field.kind())
                })
            }
            Shape::Map(kind) => Some(Shape::of_kind(kind.clone())),
            _ => None,
        }
    }

    /// The place of every item of this array.
    pub fn item(&self) -> Option<Shape> {
        match self {
            Shape::List(kind) => Some(Shape::of_kind(kind.clone())),
            _ => None,
        }
    }

    /// An array of values each in this place (several values a path selected, checked as one
    /// array); `None` for an array of arrays or objects of map fields, which no field type is.
    pub fn list_of(&self) -> Option<Shape> {
        match self {
            Shape::Message(message) => Some(Shape::List(Kind::Message(message.clone()))),
            Shape::Scalar(kind) => Some(Shape::List(kind.clone())),
            Shape::List(_) | Shape::Map(_) => None,
        }
    }

    /// Whether the value here is an integer the mapping writes as a string: a 64-bit integer
    /// field, or the `Int64Value` and `UInt64Value` wrappers (written as their value).
    pub fn is_integer_string(&self) -> bool {
        match self {
            Shape::Scalar(kind) => matches!(
                kind,
                Kind::Int64 | Kind::Uint64 | Kind::Sint64 | Kind::Fixed64 | Kind::Sfixed64
            ),
            Shape::Message(message) => matches!(
                message.full_name(),
                "google.protobuf.Int64Value" | "google.protobuf.UInt64Value"
            ),
            Shape::List(_) | Shape::Map(_) => false,
        }
    }

    /// The key the JSON has for the field a pattern names by its `.proto` name, when the two
    /// differ: `originalRequest` for `original_request`. Replies are written with JSON names;
    /// requests take either, and so do reply patterns.
    pub fn json_key(&self, key: &str) -> Option<String> {
        let Shape::Message(message) = self else {
            return None;
        };
        if is_well_known(message) || message.get_field_by_json_name(key).is_some() {
            return None;
        }
        let field = message.get_field_by_name(key)?;
        (field.json_name() != key).then(|| field.json_name().to_string())
    }
}

/// The well-known types have JSON forms of their own (a `Timestamp` is a string, a `Struct` an
/// object of any keys): their fields are not keys of the JSON.
fn is_well_known(message: &MessageDescriptor) -> bool {
    message.full_name().starts_with("google.protobuf.")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `t.Account` of a schema compiled from a `.proto` file written for the test.
    fn account() -> Shape {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let proto = dir.path().join("t.proto");
        std::fs::write(
            &proto,
            "syntax = \"proto3\";
            package t;
            import \"google/protobuf/wrappers.proto\";
            import \"google/protobuf/timestamp.proto\";
            message Account {
              int64 balance = 1;
              repeated uint64 serials = 2;
              map<string, sfixed64> limits = 3;
              Account original_request = 4;
              google.protobuf.UInt64Value overdraft = 5;
              google.protobuf.Timestamp opened = 6;
              int32 small = 7;
              string code = 8;
            }",
        )
        .expect("the .proto file is written");
        let pool = crate::transport::grpc::schema::compile_protos(&[proto], &[])
            .expect("the .proto file compiles");
        Shape::Message(pool.get_message_by_name("t.Account").expect("t.Account"))
    }

    fn integer_at(shape: &Shape, keys: &[&str]) -> bool {
        let mut place = Some(shape.clone());
        for key in keys {
            place = place.and_then(|place| match *key {
                "[]" => place.item(),
                key => place.member(key),
            });
        }
        place.is_some_and(|place| place.is_integer_string())
    }

    #[test]
    fn the_64_bit_integers_are_found_however_deep() {
        let account = account();
        assert!(integer_at(&account, &["balance"]));
        assert!(integer_at(&account, &["serials", "[]"]));
        assert!(integer_at(&account, &["limits", "daily"]));
        assert!(integer_at(&account, &["overdraft"]));
        // A recursive message: as deep as the JSON goes.
        assert!(integer_at(
            &account,
            &["originalRequest", "originalRequest", "balance"]
        ));
        assert!(integer_at(&account, &["original_request", "balance"]));
        for not_one in [
            &["serials"][..],
            &["small"],
            &["code"],
            &["opened"],
            &["opened", "seconds"],
            &["nothing"],
            &["balance", "[]"],
        ] {
            assert!(!integer_at(&account, not_one), "{not_one:?}");
        }
    }

    #[test]
    fn a_proto_name_stands_for_its_json_name() {
        let account = account();
        assert_eq!(
            account.json_key("original_request").as_deref(),
            Some("originalRequest")
        );
        // A name that is both, or neither, or a JSON name already: nothing to rename.
        assert_eq!(account.json_key("balance"), None);
        assert_eq!(account.json_key("originalRequest"), None);
        assert_eq!(account.json_key("original_requests"), None);
        assert_eq!(
            account
                .member("limits")
                .and_then(|limits| limits.json_key("a_b")),
            None
        );
    }
}
