//! Access to the real S3/SQS (moto) and PostgreSQL servers scripts/test.sh starts: SDK clients
//! on the test endpoint, uniquely named buckets and queues, and a throwaway database per test.

#![allow(dead_code)]

use std::time::Duration;

use aws_config::BehaviorVersion;
use ocean_ingest::aws::{Aws, RetryPolicy};

use crate::common::{Env, server};

/// moto's account id, which its ARNs carry.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The S3 + SQS API server, or `None` (skipped) when the run does not require servers.
pub async fn moto() -> Option<Moto> {
    let endpoint = server("INGEST_TEST_AWS_ENDPOINT")?;
    let aws = aws_at(&endpoint, RetryPolicy::default()).await;
    Some(Moto { endpoint, aws })
}

/// Clients for an S3/SQS endpoint with static test credentials, built as production builds them.
pub async fn aws_at(endpoint: &str, retry: RetryPolicy) -> Aws {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .retry_config(ocean_ingest::aws::retry_config(retry))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await;
    Aws::from_config(&config).expect("a region is set")
}

pub struct Moto {
    pub endpoint: String,
    pub aws: Aws,
}

/// A name no other test uses (S3 bucket names: lower case, digits, dashes).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

impl Moto {
    /// A new bucket, versioned or not.
    pub async fn bucket(&self, prefix: &str, versioned: bool) -> String {
        let name = unique(prefix);
        self.aws
            .s3
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap();
        if versioned {
            self.aws
                .s3
                .put_bucket_versioning()
                .bucket(&name)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        name
    }

    /// A new queue: (URL, ARN).
    pub async fn queue(&self, prefix: &str) -> (String, String) {
        let name = unique(prefix);
        let out = self
            .aws
            .sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap();
        (
            out.queue_url.unwrap(),
            format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"),
        )
    }

    /// Receives up to ten messages (waiting up to `wait` seconds), deleting them.
    pub async fn receive(&self, queue: &str, wait: i32) -> Vec<aws_sdk_sqs::types::Message> {
        let out = self
            .aws
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        for m in &messages {
            self.aws
                .sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle.clone().unwrap())
                .send()
                .await
                .unwrap();
        }
        messages
    }

    /// An object's bytes, or `None` when absent.
    pub async fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match self
            .aws
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Some(out.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => None,
            Err(e) => panic!("get s3://{bucket}/{key}: {e:?}"),
        }
    }

    /// Every key of a bucket, all pages.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let mut pages = self
            .aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            for o in page.unwrap().contents.unwrap_or_default() {
                keys.push(o.key.unwrap());
            }
        }
        keys
    }

    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        self.aws
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    }

    /// Points a test Env's binary at this server with static credentials.
    pub fn configure(&self, env: &mut Env) {
        env.set("AWS_ENDPOINT_URL", &self.endpoint)
            .set("AWS_ACCESS_KEY_ID", "test")
            .set("AWS_SECRET_ACCESS_KEY", "test")
            .set("AWS_REGION", REGION)
            .set("AWS_EC2_METADATA_DISABLED", "true")
            .set("AWS_CONFIG_FILE", "/dev/null")
            .set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    }
}

/// The network deadlines of the embedded default, for opening a PostgreSQL index in tests.
pub fn timeouts() -> ocean_ingest::deadline::Timeouts {
    let args = ocean_ingest::settings::SettingsArgs::embedded(std::path::PathBuf::from("/unused"));
    ocean_ingest::settings::Settings::resolve(&args)
        .expect("the defaults resolve")
        .timeouts
}

/// A database created for one test and dropped after it.
pub struct PgDb {
    pub admin_url: String,
    pub name: String,
    pub url: String,
}

/// A throwaway database on the test PostgreSQL server, or `None` (skipped).
pub async fn pg() -> Option<PgDb> {
    let admin_url = server("INGEST_TEST_PG_URL")?;
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let admin = admin(&admin_url).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').unwrap().0;
    Some(PgDb {
        url: format!("{base}/{name}"),
        admin_url,
        name,
    })
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    tokio::spawn(conn);
    client
}

impl PgDb {
    /// A plain connection to this database, for reading rows.
    pub async fn client(&self) -> tokio_postgres::Client {
        admin(&self.url).await
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime we may block on: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let client = admin(&url).await;
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}
