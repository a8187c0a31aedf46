//! The server for `benches/grpc_schema_memory.sh`: a large schema, one file `big.proto` of about
//! SIZE bytes as a descriptor, served by reflection (v1) and written beside as a descriptor set
//! (`big.binpb`) and as `.proto` text (`big.proto`), so the three sources describe the same.
//!
//!   cargo bench --bench grpc_schema_server -- DIR SIZE
//!
//! `big.Big` has two methods: `Few(Small) returns (Small)` reaches one small message, and
//! `All(Message0) returns (Small)` reaches every message: each `MessageN` has twenty scalar
//! fields and a field of type `MessageN+1`. The methods themselves are not served (calls end
//! UNIMPLEMENTED). Prints the port once it listens, and serves until its standard input closes.

use std::fmt::Write as _;
use std::io::Read as _;

use prost::Message as _;
use prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
use prost_reflect::prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
    MethodDescriptorProto, ServiceDescriptorProto,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench` to every bench target; take the arguments that are ours.
    let args: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [dir, size] = args.as_slice() else {
        eprintln!("usage: grpc_schema_server DIR SIZE");
        std::process::exit(2);
    };
    let size: usize = size.parse().expect("SIZE is a number of bytes");
    let file = big_file(size);
    let dir = std::path::Path::new(dir.as_str());
    std::fs::write(dir.join("big.proto"), proto_text(&file)).expect("big.proto is written");
    let set = FileDescriptorSet { file: vec![file] }.encode_to_vec();
    std::fs::write(dir.join("big.binpb"), &set).expect("big.binpb is written");
    let set: &'static [u8] = Box::leak(set.into_boxed_slice());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(set)
            .build_v1()
            .expect("a reflection service");
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(reflection)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        println!("{port}");
        // Until the script closes our standard input (or ends).
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .expect("stdin read");
    });
}

fn field(name: &str, number: i32, kind: Type, type_name: Option<String>) -> FieldDescriptorProto {
    FieldDescriptorProto {
        name: Some(name.to_string()),
        number: Some(number),
        label: Some(Label::Optional as i32),
        r#type: Some(kind as i32),
        type_name,
        json_name: Some(json_name(name)),
        ..FieldDescriptorProto::default()
    }
}

/// `a_long_name` → `aLongName`, as protoc sets it.
fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `MessageN`: twenty scalar fields, and one of type `MessageN+1` unless it is the last.
fn message(index: usize, last: bool) -> DescriptorProto {
    let mut fields: Vec<FieldDescriptorProto> = (1..=20)
        .map(|number: i32| {
            let kind = if number % 2 == 0 {
                Type::String
            } else {
                Type::Int64
            };
            field(
                &format!("a_rather_long_field_name_{number}"),
                number,
                kind,
                None,
            )
        })
        .collect();
    if !last {
        let next = format!(".big.Message{}", index + 1);
        fields.push(field("next", 21, Type::Message, Some(next)));
    }
    DescriptorProto {
        name: Some(format!("Message{index}")),
        field: fields,
        ..DescriptorProto::default()
    }
}

/// `big.proto`, of about `size` bytes encoded.
fn big_file(size: usize) -> FileDescriptorProto {
    let count = size / (message(0, false).encoded_len() + 3) + 2;
    let method = |name: &str, input: &str| MethodDescriptorProto {
        name: Some(name.to_string()),
        input_type: Some(input.to_string()),
        output_type: Some(".big.Small".to_string()),
        ..MethodDescriptorProto::default()
    };
    let small = DescriptorProto {
        name: Some("Small".to_string()),
        field: vec![field("note", 1, Type::String, None)],
        ..DescriptorProto::default()
    };
    let mut messages = vec![small];
    messages.extend((0..count).map(|index| message(index, index + 1 == count)));
    FileDescriptorProto {
        name: Some("big.proto".to_string()),
        package: Some("big".to_string()),
        syntax: Some("proto3".to_string()),
        service: vec![ServiceDescriptorProto {
            name: Some("Big".to_string()),
            method: vec![method("Few", ".big.Small"), method("All", ".big.Message0")],
            ..ServiceDescriptorProto::default()
        }],
        message_type: messages,
        ..FileDescriptorProto::default()
    }
}

/// The same file as `.proto` text.
fn proto_text(file: &FileDescriptorProto) -> String {
    let mut text = String::from("syntax = \"proto3\";\npackage big;\n\nservice Big {\n");
    for method in &file.service[0].method {
        let _ = writeln!(
            text,
            "  rpc {}({}) returns ({});",
            method.name(),
            method.input_type().trim_start_matches(".big."),
            method.output_type().trim_start_matches(".big.")
        );
    }
    text.push_str("}\n");
    for message in &file.message_type {
        let _ = writeln!(text, "\nmessage {} {{", message.name());
        for field in &message.field {
            let kind = match field.r#type() {
                Type::String => "string".to_string(),
                Type::Int64 => "int64".to_string(),
                _ => field.type_name().trim_start_matches(".big.").to_string(),
            };
            let _ = writeln!(text, "  {kind} {} = {};", field.name(), field.number());
        }
        text.push_str("}\n");
    }
    text
}
