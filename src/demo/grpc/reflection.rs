//! gRPC server reflection, both `grpc.reflection.v1` and `grpc.reflection.v1alpha` (clients
//! still ask for either), so that a client needs no `.proto` file.
//!
//! Both versions describe the same services: `stock.StockService` and the two reflection
//! services themselves.

use tonic::service::Routes;
use tonic_reflection::pb::{v1, v1alpha};
use tonic_reflection::server::Builder;

use super::pb::FILE_DESCRIPTOR_SET;

/// `routes` with both reflection services added.
pub fn add(routes: Routes) -> Routes {
    // Each builder registers its own version's descriptors; the other's are added so that
    // both list every service this server has.
    let v1 = Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(v1alpha::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the descriptor sets built into the binary are valid");
    let v1alpha = Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(v1::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .expect("the descriptor sets built into the binary are valid");
    routes.add_service(v1).add_service(v1alpha)
}
