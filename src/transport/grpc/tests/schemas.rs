//! Schemas: reflection v1 and v1alpha, the cache, `.proto` files and descriptor sets.

use super::*;

#[tokio::test]
async fn reflection_v1_gives_the_whole_schema() {
    let server = serve(Reflection::V1).await;
    let channel = server.channel().await;
    assert_eq!(
        list_services(&channel, soon()).await.expect("lists"),
        ["stock.StockService"]
    );
    let schema = reflected(&channel, "stock.StockService")
        .await
        .expect("fetches");
    let method = schema
        .method("stock.StockService/TradeChat")
        .await
        .expect("found");
    assert_eq!(MethodKind::of(&method), MethodKind::Bidi);
    assert_eq!(method.input().full_name(), "stock.ChatMessage");
}

#[tokio::test]
async fn reflection_falls_back_to_v1alpha() {
    let server = serve(Reflection::V1Alpha).await;
    let channel = server.channel().await;
    let schema = reflected(&channel, "stock.StockService")
        .await
        .expect("fetches");
    assert_eq!(schema.services(), ["stock.StockService"]);
}

#[tokio::test]
async fn a_server_without_reflection_is_told_plainly() {
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let error = reflected(&channel, "stock.StockService")
        .await
        .expect_err("fails");
    assert!(matches!(error, GrpcError::NoReflection { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the server at http://{} does not offer reflection (neither `grpc.reflection.v1` nor `v1alpha`): give its schema as `.proto` files or as a descriptor set (`protoc --include_imports --descriptor_set_out=…`)",
            server.address
        )
    );
}

#[tokio::test]
async fn the_cache_fetches_a_schema_once_for_concurrent_tests() {
    let server = serve(Reflection::V1).await;
    let channel = server.channel().await;
    let cache = SchemaCache::new(usize::MAX);
    let gets: Vec<_> = (0..8)
        .map(|_| {
            let (cache, channel) = (cache.clone(), channel.clone());
            tokio::spawn(async move {
                cache
                    .get(
                        &SchemaSource::Reflection,
                        &channel,
                        soon(),
                        "stock.StockService",
                    )
                    .await
                    .map(|schema| schema.services().len())
            })
        })
        .collect();
    for get in gets {
        assert_eq!(get.await.expect("task").expect("schema"), 1);
    }
    assert_eq!(
        server.calls.load(Ordering::SeqCst),
        1,
        "one reflection stream"
    );
    // Files are keyed by their paths, whichever server asks.
    let files = SchemaSource::Files {
        protos: vec![stock_proto()],
        import_paths: vec![],
    };
    let schema = cache
        .get(&files, &channel, soon(), "stock.StockService")
        .await
        .expect("compiles");
    let method = schema
        .method("stock.StockService/SendOrders")
        .await
        .expect("found");
    assert_eq!(method.input().full_name(), "stock.Order");
    assert_eq!(server.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn proto_files_compile_with_or_without_import_paths() {
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
    let pool = schema::compile_protos(&[stock_proto()], &[proto_dir]).expect("compiles");
    assert!(pool.get_service_by_name("stock.StockService").is_some());
    assert!(
        compiled_pool()
            .get_service_by_name("stock.StockService")
            .is_some()
    );
}

#[test]
fn a_proto_that_does_not_compile_says_where() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.proto");
    std::fs::write(
        &path,
        "syntax = \"proto3\";\npackage p;\nmessage M {\n  Missing field = 1;\n}\n",
    )
    .expect("writes");
    let error = schema::compile_protos(std::slice::from_ref(&path), &[]).expect_err("fails");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("could not compile `{}`: ", path.display())),
        "{text}"
    );
    assert!(text.contains("broken.proto:4:3: "), "{text}");
    assert!(text.contains("Missing"), "{text}");

    let error = schema::compile_protos(&[dir.path().join("absent.proto")], &[]).expect_err("fails");
    assert!(error.to_string().contains("absent.proto"), "{error}");
}

#[tokio::test]
async fn descriptor_set_files_are_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stock.pb");
    std::fs::write(&path, DESCRIPTORS).expect("writes");
    let schema = Arc::new(schema::read_descriptor_set(&path).expect("reads"));
    assert!(schema.method("stock.StockService/Flood").await.is_ok());

    std::fs::write(&path, b"not a descriptor set").expect("writes");
    let error = schema::read_descriptor_set(&path).expect_err("fails");
    assert!(
        error.to_string().starts_with(&format!(
            "`{}` is not a usable descriptor set",
            path.display()
        )),
        "{error}"
    );
    let error = schema::read_descriptor_set(&dir.path().join("absent.pb")).expect_err("fails");
    assert!(
        error
            .to_string()
            .starts_with("could not read the descriptor set"),
        "{error}"
    );
}

#[tokio::test]
async fn reflection_fetches_imports_and_falls_back_to_builtin_well_known_types() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rich = write_rich_protos(dir.path());
    let mut compiler = protox::Compiler::new([dir.path()]).expect("compiler");
    compiler.include_imports(true);
    compiler.open_files([&rich]).expect("compiles");
    let mut set = compiler.file_descriptor_set();
    // The server cannot give timestamp.proto: the client takes prost-reflect's own.
    set.file
        .retain(|file| file.name() != "google/protobuf/timestamp.proto");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let reflection = tonic_reflection::server::Builder::configure()
        .register_file_descriptor_set(set)
        .build_v1()
        .expect("reflection");
    tokio::spawn(
        Server::builder()
            .add_service(reflection)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let target = GrpcTarget {
        url: format!("http://{address}"),
        insecure: false,
        authority: None,
    };
    let channel = connect(&target, soon()).await.expect("connects");
    let schema = reflected(&channel, "rich.Rich").await.expect("fetches");
    let method = schema.method("rich.Rich/Echo").await.expect("found");
    assert_eq!(method.input().full_name(), "rich.Everything");
    let pool = method.parent_pool();
    assert!(pool.get_message_by_name("parts.Part").is_some());
    assert!(
        pool.get_message_by_name("google.protobuf.Timestamp")
            .is_some()
    );
    let error = request_from_json(&method.input(), &json!({"at": "yesterday"}))
        .expect_err("not a timestamp");
    assert!(error.to_string().starts_with("field `at`: "), "{error}");
}

/// A descriptor set of one file, `broken.proto`, whose service `broken.Broken` uses a message of
/// an import the server does not have.
fn broken_descriptor_set() -> Vec<u8> {
    use prost::Message;
    use prost_reflect::prost_types::{
        FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
    };
    FileDescriptorSet {
        file: vec![FileDescriptorProto {
            name: Some("broken.proto".to_string()),
            package: Some("broken".to_string()),
            dependency: vec!["missing.proto".to_string()],
            service: vec![ServiceDescriptorProto {
                name: Some("Broken".to_string()),
                method: vec![MethodDescriptorProto {
                    name: Some("Ping".to_string()),
                    input_type: Some(".missing.Thing".to_string()),
                    output_type: Some(".missing.Thing".to_string()),
                    ..MethodDescriptorProto::default()
                }],
                ..ServiceDescriptorProto::default()
            }],
            syntax: Some("proto3".to_string()),
            ..FileDescriptorProto::default()
        }],
    }
    .encode_to_vec()
}

#[tokio::test]
async fn reflection_resolves_only_the_service_a_call_needs() {
    let broken = broken_descriptor_set();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(DESCRIPTORS)
        .register_encoded_file_descriptor_set(&broken)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("reflection");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let (dropped, _) = mpsc::unbounded_channel();
    tokio::spawn(
        Server::builder()
            .add_service(StockServiceServer::new(TestStock { dropped }))
            .add_service(reflection)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let target = GrpcTarget {
        url: format!("http://{address}"),
        insecure: false,
        authority: None,
    };
    let channel = connect(&target, soon()).await.expect("connects");

    // The broken service does not stand in the way of the others.
    let schema = reflected(&channel, "stock.StockService")
        .await
        .expect("fetches");
    schema
        .method("stock.StockService/GetQuote")
        .await
        .expect("found");
    assert_eq!(schema.services(), ["stock.StockService"]);

    let error = reflected(&channel, "broken.Broken")
        .await
        .expect_err("cannot be resolved");
    assert_eq!(
        error.to_string(),
        format!(
            "reflection at http://{address} failed: it could not give `missing.proto`, imported by `broken.proto`: NOT_FOUND: file 'missing.proto' not found"
        )
    );

    // The reflection service itself, as grpcurl finds it.
    let schema = reflected(&channel, "grpc.reflection.v1.ServerReflection")
        .await
        .expect("fetches");
    let method = schema
        .method("grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
        .await
        .expect("found");
    assert_eq!(MethodKind::of(&method), MethodKind::Bidi);

    let error = reflected(&channel, "stock.StockServce")
        .await
        .expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown service `stock.StockServce`; did you mean `stock.StockService`?"
    );
}
