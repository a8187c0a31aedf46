//! Cuts a schema down to what one method reaches, before a pool is built from it. A pool holds
//! every type of every file it is given, and a server's schema can be large (prost-reflect takes
//! over 50 MB for a descriptor of 3 MB: 4,000 messages of 20 fields) while a call needs a few.
//!
//! An [`Index`] reads the declarations of the files (their names, and the types each refers to)
//! without decoding the files whole, and keeps the files' bytes. [`Index::reach`] finds what a
//! method needs: its service, with that method alone; the messages and enums its input and output
//! reach through fields (map entries, oneofs and groups are fields too); a nested type with the
//! top-level message that holds it, whole (its other nested types, and what they reach, too);
//! the well-known types (`google.protobuf.*`) and what they reach; and the extensions of every
//! type kept (custom options are extensions of `google.protobuf.*Options`, kept as well-known
//! types), with what they reach. [`Index::cut`] then copies, of each file, its own fields (name,
//! package, imports, options) and the declarations kept, byte for byte; a file left without
//! declarations stays, so that every import resolves.
//!
//! A method that reaches `google.protobuf.Any` needs every file whole: an `Any` may hold any type,
//! looked up by name when it is read or written. So does one that reaches a reference that
//! resolves to nothing in the files: prost-reflect then says what is wrong with them.

use std::collections::{HashMap, HashSet};

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, encode_key, skip_field};

/// Field numbers of `google.protobuf.FileDescriptorProto`.
const FILE_MESSAGE: u32 = 4;
const FILE_ENUM: u32 = 5;
const FILE_SERVICE: u32 = 6;
const FILE_EXTENSION: u32 = 7;
/// Source locations are paths of indices into the file's declarations, which cutting changes.
const FILE_SOURCE_CODE_INFO: u32 = 9;
/// `google.protobuf.ServiceDescriptorProto.method`.
const SERVICE_METHOD: u32 = 2;

/// The package of the well-known types.
const WELL_KNOWN_PACKAGE: &str = "google.protobuf";
const ANY: &str = "google.protobuf.Any";

/// What the index reads of a file before its declarations.
#[derive(Clone, PartialEq, Message)]
struct FileOutline {
    #[prost(string, tag = "2")]
    package: String,
}

/// What the index reads of a message: its name, the types its fields and extensions refer to,
/// and its nested declarations.
#[derive(Clone, PartialEq, Message)]
struct MessageOutline {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, repeated, tag = "2")]
    field: Vec<FieldOutline>,
    #[prost(message, repeated, tag = "3")]
    nested_type: Vec<MessageOutline>,
    #[prost(message, repeated, tag = "4")]
    enum_type: Vec<NameOutline>,
    #[prost(message, repeated, tag = "6")]
    extension: Vec<FieldOutline>,
}

/// A field or an extension: the type it extends (extensions only) and its type, when a message
/// or an enum.
#[derive(Clone, PartialEq, Message)]
struct FieldOutline {
    #[prost(string, tag = "2")]
    extendee: String,
    #[prost(string, tag = "6")]
    type_name: String,
}

#[derive(Clone, PartialEq, Message)]
struct NameOutline {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, Message)]
struct ServiceOutline {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, repeated, tag = "2")]
    method: Vec<MethodOutline>,
}

#[derive(Clone, PartialEq, Message)]
struct MethodOutline {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    input_type: String,
    #[prost(string, tag = "3")]
    output_type: String,
}

/// A file of the schema: its name, its imports and its bytes (an encoded
/// `FileDescriptorProto`).
#[derive(Debug, Clone)]
pub(crate) struct SchemaFile {
    pub name: String,
    pub dependencies: Vec<String>,
    pub bytes: Bytes,
}

/// What a file's name and imports are read from (fields 1 and 3 of `FileDescriptorProto`; the
/// rest is skipped when decoding).
#[derive(Clone, PartialEq, Message)]
struct FileHeader {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, repeated, tag = "3")]
    dependency: Vec<String>,
}

impl SchemaFile {
    /// The file `bytes` encode.
    pub fn decode(bytes: Bytes) -> Result<SchemaFile, prost::DecodeError> {
        let header = FileHeader::decode(bytes.as_ref())?;
        Ok(SchemaFile {
            name: header.name,
            dependencies: header.dependency,
            bytes,
        })
    }

    /// The files of an encoded `FileDescriptorSet`, each a slice of `set` (nothing is copied).
    pub fn from_set(set: &Bytes) -> Result<Vec<SchemaFile>, prost::DecodeError> {
        /// `google.protobuf.FileDescriptorSet.file`.
        const SET_FILE: u32 = 1;
        let mut files = Vec::new();
        for field in RawFields::new(set) {
            let field = field?;
            if field.number == SET_FILE {
                files.push(SchemaFile::decode(set.slice_ref(field.payload))?);
            }
        }
        Ok(files)
    }
}

/// A top-level declaration of a file (a message, an enum or an extension): the unit that is
/// kept or left out.
#[derive(Debug)]
struct Declaration {
    file: usize,
    /// Which list of the file it is in ([`FILE_MESSAGE`], [`FILE_ENUM`], [`FILE_EXTENSION`]),
    /// and where in that list.
    list: u32,
    position: usize,
    /// The declarations it refers to (for a message, at any depth inside it).
    needs: Vec<usize>,
    /// Some reference in it resolves to nothing.
    unresolved: bool,
}

/// A service and its methods' types.
#[derive(Debug)]
pub(crate) struct Service {
    pub full_name: String,
    file: usize,
    position: usize,
    pub methods: Vec<Method>,
}

#[derive(Debug)]
pub(crate) struct Method {
    pub name: String,
    /// The declarations holding its input and output types; `None` when a name resolves to
    /// nothing.
    input: Option<usize>,
    output: Option<usize>,
}

/// A reference found while reading, resolved once every file has been read.
struct Reference {
    from: usize,
    name: String,
    /// The full name of the scope it was written in, where a relative name is looked up first.
    scope: String,
    /// An extendee: what it names, once kept, brings the extension along.
    extends: bool,
}

/// The declarations of a schema's files (see the module documentation).
#[derive(Debug)]
pub(crate) struct Index {
    files: Vec<SchemaFile>,
    declarations: Vec<Declaration>,
    services: Vec<Service>,
    /// For each declaration, the declarations that extend a type in it.
    extended_by: HashMap<usize, Vec<usize>>,
    /// The declarations of the well-known types' package.
    well_known: Vec<usize>,
    /// The declaration of `google.protobuf.Any`, if a file has it.
    any: Option<usize>,
}

/// A file that cannot be decoded: its name, and what is wrong.
pub(crate) type Undecodable = (String, prost::DecodeError);

/// What a method reaches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Reach {
    /// Every file whole (see the module documentation).
    Everything,
    /// The declarations kept (indices into the index's), and the service and method.
    Part {
        declarations: Vec<usize>,
        service: usize,
        method: usize,
    },
}

impl Index {
    /// Reads the declarations of `files`, given each after the files it imports.
    pub fn new(files: Vec<SchemaFile>) -> Result<Index, Undecodable> {
        let mut reader = Reader::default();
        for (index, file) in files.iter().enumerate() {
            reader
                .read_file(index, &file.bytes)
                .map_err(|error| (file.name.clone(), error))?;
        }
        Ok(reader.finish(files))
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// What method `method` of service `service` (indices into [`Index::services`]) reaches.
    pub fn reach(&self, service: usize, method: usize) -> Reach {
        let Some(called) = self
            .services
            .get(service)
            .and_then(|s| s.methods.get(method))
        else {
            return Reach::Everything;
        };
        let (Some(input), Some(output)) = (called.input, called.output) else {
            return Reach::Everything;
        };
        let mut kept = vec![false; self.declarations.len()];
        if !self.close(&mut kept, [input, output]) {
            return Reach::Everything;
        }
        if self.any.is_some_and(|any| kept[any]) {
            return Reach::Everything;
        }
        if !self.close(&mut kept, self.well_known.iter().copied()) {
            return Reach::Everything;
        }
        Reach::Part {
            declarations: (0..kept.len()).filter(|&index| kept[index]).collect(),
            service,
            method,
        }
    }

    /// Keeps `roots` and everything they reach; `false` if that meets a reference that resolves
    /// to nothing.
    fn close(&self, kept: &mut [bool], roots: impl IntoIterator<Item = usize>) -> bool {
        let mut queue: Vec<usize> = Vec::new();
        let mut keep = |index: usize, queue: &mut Vec<usize>| {
            if !kept[index] {
                kept[index] = true;
                queue.push(index);
            }
        };
        for root in roots {
            keep(root, &mut queue);
        }
        while let Some(index) = queue.pop() {
            let declaration = &self.declarations[index];
            if declaration.unresolved {
                return false;
            }
            for &needed in &declaration.needs {
                keep(needed, &mut queue);
            }
            for &extension in self.extended_by.get(&index).into_iter().flatten() {
                keep(extension, &mut queue);
            }
        }
        true
    }

    /// The files cut down to `reach`, in the index's order: each file's name and bytes.
    pub fn cut(&self, reach: &Reach) -> Result<Vec<(String, Bytes)>, Undecodable> {
        let Reach::Part {
            declarations,
            service,
            method,
        } = reach
        else {
            return Ok(self
                .files
                .iter()
                .map(|file| (file.name.clone(), file.bytes.clone()))
                .collect());
        };
        let kept: HashSet<(usize, u32, usize)> = declarations
            .iter()
            .map(|&index| {
                let declaration = &self.declarations[index];
                (declaration.file, declaration.list, declaration.position)
            })
            .collect();
        let service = &self.services[*service];
        let method = &service.methods[*method].name;
        let mut files = Vec::with_capacity(self.files.len());
        for (index, file) in self.files.iter().enumerate() {
            let mut out = BytesMut::new();
            let mut positions: HashMap<u32, usize> = HashMap::new();
            for field in RawFields::new(&file.bytes) {
                let field = field.map_err(|error| (file.name.clone(), error))?;
                let position = positions.entry(field.number).or_default();
                let at = *position;
                *position += 1;
                match field.number {
                    FILE_MESSAGE | FILE_ENUM | FILE_EXTENSION => {
                        if kept.contains(&(index, field.number, at)) {
                            out.put_slice(field.whole);
                        }
                    }
                    FILE_SERVICE => {
                        if service.file == index && service.position == at {
                            let called = only_method(field.payload, method)
                                .map_err(|error| (file.name.clone(), error))?;
                            put_length_delimited(&mut out, FILE_SERVICE, &called);
                        }
                    }
                    FILE_SOURCE_CODE_INFO => {}
                    _ => out.put_slice(field.whole),
                }
            }
            files.push((file.name.clone(), out.freeze()));
        }
        Ok(files)
    }
}

/// A service's bytes with only the method `method` left of its methods.
fn only_method(service: &[u8], method: &str) -> Result<Vec<u8>, prost::DecodeError> {
    let mut out = Vec::with_capacity(service.len());
    for field in RawFields::new(service) {
        let field = field?;
        if field.number == SERVICE_METHOD && MethodOutline::decode(field.payload)?.name != method {
            continue;
        }
        out.extend_from_slice(field.whole);
    }
    Ok(out)
}

fn put_length_delimited(out: &mut BytesMut, number: u32, payload: &[u8]) {
    encode_key(number, WireType::LengthDelimited, out);
    prost::encoding::encode_varint(payload.len() as u64, out);
    out.put_slice(payload);
}

/// Reads files one after the other, then resolves what they refer to.
#[derive(Default)]
struct Reader {
    declarations: Vec<Declaration>,
    services: Vec<Service>,
    /// The services' input and output types, resolved at the end: (service, method, input,
    /// output, scope).
    service_types: Vec<(usize, usize, String, String, String)>,
    references: Vec<Reference>,
    /// Every message and enum, at any depth, by full name: the declaration that holds it.
    names: HashMap<String, usize>,
    well_known: Vec<usize>,
}

impl Reader {
    fn read_file(&mut self, file: usize, bytes: &[u8]) -> Result<(), prost::DecodeError> {
        let package = FileOutline::decode(bytes)?.package;
        let mut positions: HashMap<u32, usize> = HashMap::new();
        for field in RawFields::new(bytes) {
            let field = field?;
            if !matches!(
                field.number,
                FILE_MESSAGE | FILE_ENUM | FILE_EXTENSION | FILE_SERVICE
            ) {
                continue;
            }
            let position = positions.entry(field.number).or_default();
            let at = *position;
            *position += 1;
            if field.number == FILE_SERVICE {
                self.read_service(file, at, &package, field.payload)?;
                continue;
            }
            let declaration = self.declarations.len();
            self.declarations.push(Declaration {
                file,
                list: field.number,
                position: at,
                needs: Vec::new(),
                unresolved: false,
            });
            if package == WELL_KNOWN_PACKAGE {
                self.well_known.push(declaration);
            }
            match field.number {
                FILE_MESSAGE => {
                    let message = MessageOutline::decode(field.payload)?;
                    self.read_message(declaration, &package, &message);
                }
                FILE_ENUM => {
                    let name = NameOutline::decode(field.payload)?.name;
                    self.names
                        .entry(full_name(&package, &name))
                        .or_insert(declaration);
                }
                _ => {
                    let extension = FieldOutline::decode(field.payload)?;
                    self.read_field(declaration, &package, &extension);
                }
            }
        }
        Ok(())
    }

    fn read_service(
        &mut self,
        file: usize,
        position: usize,
        package: &str,
        bytes: &[u8],
    ) -> Result<(), prost::DecodeError> {
        let outline = ServiceOutline::decode(bytes)?;
        let service = self.services.len();
        for (index, method) in outline.method.iter().enumerate() {
            self.service_types.push((
                service,
                index,
                method.input_type.clone(),
                method.output_type.clone(),
                package.to_string(),
            ));
        }
        self.services.push(Service {
            full_name: full_name(package, &outline.name),
            file,
            position,
            methods: outline
                .method
                .into_iter()
                .map(|method| Method {
                    name: method.name,
                    input: None,
                    output: None,
                })
                .collect(),
        });
        Ok(())
    }

    /// Records the names `message` (in scope `scope`) declares, and what it refers to.
    fn read_message(&mut self, declaration: usize, scope: &str, message: &MessageOutline) {
        let name = full_name(scope, &message.name);
        for field in message.field.iter().chain(&message.extension) {
            self.read_field(declaration, &name, field);
        }
        for nested in &message.enum_type {
            self.names
                .entry(full_name(&name, &nested.name))
                .or_insert(declaration);
        }
        for nested in &message.nested_type {
            self.read_message(declaration, &name, nested);
        }
        self.names.entry(name).or_insert(declaration);
    }

    fn read_field(&mut self, declaration: usize, scope: &str, field: &FieldOutline) {
        for (name, extends) in [(&field.type_name, false), (&field.extendee, true)] {
            if !name.is_empty() {
                self.references.push(Reference {
                    from: declaration,
                    name: name.clone(),
                    scope: scope.to_string(),
                    extends,
                });
            }
        }
    }

    fn finish(mut self, files: Vec<SchemaFile>) -> Index {
        let mut extended_by: HashMap<usize, Vec<usize>> = HashMap::new();
        for reference in std::mem::take(&mut self.references) {
            match self.resolve(&reference.name, &reference.scope) {
                Some(target) => {
                    let from = &mut self.declarations[reference.from];
                    if target != reference.from && !from.needs.contains(&target) {
                        from.needs.push(target);
                    }
                    if reference.extends && target != reference.from {
                        extended_by.entry(target).or_default().push(reference.from);
                    }
                }
                None => self.declarations[reference.from].unresolved = true,
            }
        }
        for (service, method, input, output, scope) in std::mem::take(&mut self.service_types) {
            let input = self.resolve(&input, &scope);
            let output = self.resolve(&output, &scope);
            let method = &mut self.services[service].methods[method];
            method.input = input;
            method.output = output;
        }
        let any = self.names.get(ANY).copied();
        Index {
            files,
            declarations: self.declarations,
            services: self.services,
            extended_by,
            well_known: self.well_known,
            any,
        }
    }

    /// The declaration holding the type `name` names, written in `scope`: a full name
    /// (`.pkg.Type`), or one relative to `scope` or to a scope that holds it, innermost first.
    fn resolve(&self, name: &str, scope: &str) -> Option<usize> {
        if let Some(full) = name.strip_prefix('.') {
            return self.names.get(full).copied();
        }
        let mut scope = scope;
        loop {
            if let Some(&found) = self.names.get(&full_name(scope, name)) {
                return Some(found);
            }
            if scope.is_empty() {
                return None;
            }
            scope = scope.rsplit_once('.').map_or("", |(outer, _)| outer);
        }
    }
}

fn full_name(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}.{name}")
    }
}

/// One field of an encoded message, as its bytes stand.
struct RawField<'a> {
    number: u32,
    /// The key and the value.
    whole: &'a [u8],
    /// A length-delimited field's contents; empty for the other kinds.
    payload: &'a [u8],
}

/// The fields of an encoded message, in the order they come.
struct RawFields<'a> {
    rest: &'a [u8],
}

impl<'a> RawFields<'a> {
    fn new(bytes: &'a [u8]) -> RawFields<'a> {
        RawFields { rest: bytes }
    }

    fn read(&mut self) -> Result<RawField<'a>, prost::DecodeError> {
        let start = self.rest;
        let mut buf = self.rest;
        let (number, wire_type) = decode_key(&mut buf)?;
        let value = buf;
        skip_field(wire_type, number, &mut buf, DecodeContext::default())?;
        let whole = &start[..start.len() - buf.len()];
        let payload = if wire_type == WireType::LengthDelimited {
            let mut value = value;
            let length = decode_varint(&mut value)? as usize;
            &value[..length]
        } else {
            &[]
        };
        self.rest = buf;
        Ok(RawField {
            number,
            whole,
            payload,
        })
    }
}

impl<'a> Iterator for RawFields<'a> {
    type Item = Result<RawField<'a>, prost::DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = self.read();
        if field.is_err() {
            // Nothing after a field that cannot be read can be found.
            self.rest = &[];
        }
        Some(field)
    }
}
