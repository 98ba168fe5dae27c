//! DescribeCluster (key 60), versions 0-2: cluster id, controller, brokers at
//! the caller's listener. v1 adds endpoint_type (a broker answers only type 1,
//! "brokers"); v2 adds include_fenced_brokers (none are fenced here).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::{str_bytes, RequestContext, AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS};
use crate::auth::acl::{ResourceType, CLUSTER_NAME};
use crate::broker::endpoint_for;

const ENDPOINT_TYPE_BROKER: i8 = 1;

pub fn handle(ctx: &RequestContext<'_>, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let cluster_ops = if req.include_cluster_authorized_operations {
        ctx.authorized_operations(ResourceType::Cluster, CLUSTER_NAME, CLUSTER_OPERATIONS)
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    let mut response = DescribeClusterResponse::default()
        .with_endpoint_type(ENDPOINT_TYPE_BROKER)
        .with_cluster_authorized_operations(cluster_ops);
    if ctx.api_version >= 1 && req.endpoint_type != ENDPOINT_TYPE_BROKER {
        return response.with_error_code(ResponseError::MismatchedEndpointType.code()).with_error_message(Some(str_bytes(
            format!("The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type {}", endpoint_type_name(req.endpoint_type)),
        )));
    }
    let image = ctx.broker.metadata.image();
    response.cluster_id = str_bytes(image.cluster_id.clone());
    response.controller_id = BrokerId(image.controller_id);
    response.brokers = image
        .brokers
        .keys()
        .filter_map(|&id| {
            let endpoint = endpoint_for(&image, id, ctx.listener)?;
            let rack = image.brokers.get(&id).and_then(|b| b.rack.clone()).map(str_bytes);
            Some(
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(id))
                    .with_host(str_bytes(endpoint.host.clone()))
                    .with_port(endpoint.port)
                    .with_rack(rack),
            )
        })
        .collect();
    response
}

fn endpoint_type_name(endpoint_type: i8) -> &'static str {
    match endpoint_type {
        1 => "BROKER",
        2 => "CONTROLLER",
        _ => "UNKNOWN",
    }
}
