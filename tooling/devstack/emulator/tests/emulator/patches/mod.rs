//! The emulator as the local cloud runs it, through the real SDK: where the
//! local cloud changes moto (`src/patches/`), each change held to the
//! semantics of the AWS service it plays.

mod cloudformation;
mod cognito;
mod dynamodb;
mod events;
mod sqs;

use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_eventbridge::types::Target;
use devstack_emulator::fixtures::{bus_with_queue, drain, new_queue, queue_arn, rule_to_new_queue};
use devstack_emulator::{shared, unique};
use uuid::Uuid;
